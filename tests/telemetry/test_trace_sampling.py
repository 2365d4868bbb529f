"""Which spans start a trace: a request, an event or a job does; a database statement outside any of them
(the relay's polls, the consumers' fetches, every fraction of a second in every service) does not; inside
one it follows its parent; OTEL_TRACES_SAMPLER_ARG keeps a share of the roots."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import Decision, ParentBased

from spicadb_kit.telemetry import InsideWork

STATEMENT = {"db.system": "postgresql", "db.statement": "SELECT 1"}
STATEMENT_NEW = {"db.system.name": "postgresql", "db.query.text": "SELECT 1"}
TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C


def _parent(sampled: bool) -> object:
    flags = trace.TraceFlags(trace.TraceFlags.SAMPLED if sampled else 0)
    span = trace.NonRecordingSpan(trace.SpanContext(TRACE_ID, 0xB7AD6B7169203331, True, flags))
    return trace.set_span_in_context(span)


def _decision(sampler: ParentBased, attributes: dict[str, str] | None, parent: object = None) -> Decision:
    kind = trace.SpanKind.CLIENT if attributes else trace.SpanKind.SERVER
    result = sampler.should_sample(parent, TRACE_ID, "x", kind, attributes)  # type: ignore[arg-type]
    return result.decision


def test_a_statement_alone_starts_no_trace_a_request_does() -> None:
    sampler = ParentBased(InsideWork())
    assert _decision(sampler, STATEMENT) == Decision.DROP
    assert _decision(sampler, STATEMENT_NEW) == Decision.DROP
    assert _decision(sampler, None) == Decision.RECORD_AND_SAMPLE


def test_a_statement_inside_work_follows_it() -> None:
    sampler = ParentBased(InsideWork())
    assert _decision(sampler, STATEMENT, _parent(True)) == Decision.RECORD_AND_SAMPLE
    assert _decision(sampler, STATEMENT, _parent(False)) == Decision.DROP


def test_a_ratio_keeps_a_share_of_the_roots_only() -> None:
    none_kept = ParentBased(InsideWork(0.0))
    assert _decision(none_kept, None) == Decision.DROP
    assert _decision(none_kept, STATEMENT, _parent(True)) == Decision.RECORD_AND_SAMPLE
    assert _decision(ParentBased(InsideWork(1.0)), None) == Decision.RECORD_AND_SAMPLE
