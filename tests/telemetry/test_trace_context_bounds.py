"""The trace context an event keeps is bounded: a caller's ``tracestate`` travels into every outbox row and
NATS message its request writes, so a long one (the W3C format allows 32 members of 512 characters) must
not make an event too large (413) nor swell the stream; it is dropped, the trace itself goes on."""

from __future__ import annotations

from opentelemetry import context, trace

from spicadb_kit.telemetry import MAX_TRACESTATE, current_trace_headers

TRACE_ID, SPAN_ID = 0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331


def _inside(state: trace.TraceState) -> dict[str, str]:
    span = trace.NonRecordingSpan(
        trace.SpanContext(
            TRACE_ID, SPAN_ID, is_remote=True, trace_flags=trace.TraceFlags(1), trace_state=state
        )
    )
    token = context.attach(trace.set_span_in_context(span))
    try:
        return current_trace_headers()
    finally:
        context.detach(token)


def test_a_short_tracestate_is_kept() -> None:
    headers = _inside(trace.TraceState([("vendor", "opaque")]))
    assert headers["traceparent"] == f"00-{TRACE_ID:032x}-{SPAN_ID:016x}-01"
    assert headers["tracestate"] == "vendor=opaque"


def test_a_long_tracestate_is_dropped_and_the_trace_goes_on() -> None:
    state = trace.TraceState([(f"v{i}", "x" * 250) for i in range(32)])
    headers = _inside(state)
    assert headers["traceparent"] == f"00-{TRACE_ID:032x}-{SPAN_ID:016x}-01"
    assert "tracestate" not in headers
    assert sum(len(v) for v in headers.values()) <= 55 + MAX_TRACESTATE
