"""The relay's PRODUCER span of each event that carries a trace: a child of the request (or event, or
job) that wrote the event, from its publication to JetStream's acknowledgement; the message's
``traceparent`` names this span, so the consumer's span is its child. An event written outside any
trace is published as it was stored, with no span (a root span per event would be noise)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry import propagate, trace

from ..telemetry import context_from_headers, tracer, tracing_on
from .settle import Failure, Outcome

__all__ = ["PublishSpans"]

_tracer = tracer(__name__)
_TRACE_HEADERS = ("traceparent", "tracestate")


class PublishSpans:
    """The headers to publish each claimed row with, and the spans to end once its outcome is known."""

    def __init__(self, rows: Sequence[Any], stream: str | None) -> None:
        self.headers: list[dict[str, str]] = []
        self._spans: dict[int, trace.Span] = {}
        traced = tracing_on()
        for index, row in enumerate(rows):
            stored: dict[str, str] = row["headers"]
            if not traced or "traceparent" not in stored:
                self.headers.append(stored)
                continue
            span = _tracer.start_span(
                f"publish {row['event_type']}",
                context=context_from_headers(stored),
                kind=trace.SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "nats",
                    "messaging.destination.name": row["subject"],
                    "messaging.message.id": stored.get("ce-id", ""),
                    **({"messaging.nats.stream": stream} if stream else {}),
                },
            )
            self._spans[index] = span
            carried = {k: v for k, v in stored.items() if k not in _TRACE_HEADERS}
            propagate.inject(carried, context=trace.set_span_in_context(span))
            self.headers.append(carried)

    def end(self, outcomes: Sequence[Outcome]) -> None:
        """End every span: acknowledged (its stream sequence), failed (why), or never sent."""
        for index, span in self._spans.items():
            outcome = outcomes[index] if index < len(outcomes) else None
            if isinstance(outcome, int):
                span.set_attribute("messaging.nats.stream_sequence", outcome)
            elif isinstance(outcome, Failure):
                span.set_status(trace.StatusCode.ERROR, outcome.error[:500])
            else:
                span.set_status(trace.StatusCode.ERROR, "not sent: an earlier event of the batch failed")
            span.end()
        self._spans.clear()
