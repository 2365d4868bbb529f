"""One trace from the producer's transaction to the consumer's effect; log lines that say
which request and which trace they belong to."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog
from harness import Probe
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from probe_service.service import PingService

from spicadb_kit.events import Outbox
from spicadb_kit.logs import configure_logging, get_logger


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    """Tracing is off in tests unless a test turns it on: this module does."""
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


async def test_consumer_span_continues_the_producer_trace(probe: Probe, spans: InMemorySpanExporter) -> None:
    assert probe.pool is not None
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("POST /pings") as request_span:
        await PingService(probe.pool, Outbox("/spicadb/probe")).record("traced", 1)
    context = request_span.get_span_context()
    headers = await probe.scalar("SELECT headers FROM outbox")
    assert headers["traceparent"].split("-")[1] == format(context.trace_id, "032x")

    async with probe.running():
        await probe.wait_effects(1)
    finished = spans.get_finished_spans()
    consumed = [s for s in finished if s.name.startswith("consume ")]
    assert consumed, "the consumer recorded no span"
    # request -> the relay's publication (the message's traceparent names it) -> the consumer
    (published,) = [s for s in finished if s.name.startswith("publish ")]
    assert published.kind == trace.SpanKind.PRODUCER
    assert published.parent is not None
    assert published.parent.span_id == context.span_id
    assert consumed[0].context.trace_id == context.trace_id
    assert consumed[0].parent is not None
    assert consumed[0].parent.span_id == published.context.span_id
    assert consumed[0].kind == trace.SpanKind.CONSUMER


def test_json_log_lines_carry_request_and_trace_ids(spans: InMemorySpanExporter) -> None:
    stream = io.StringIO()
    configure_logging("probe", json=True)
    handler = logging.getLogger().handlers[0]
    handler.setStream(stream)  # type: ignore[attr-defined]
    tracer = trace.get_tracer("test")
    with (
        structlog.contextvars.bound_contextvars(request_id="req-42"),
        tracer.start_as_current_span("work") as span,
    ):
        get_logger("probe.test").info("ping recorded", ping="p1")
        logging.getLogger("uvicorn.error").warning("a library line")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["ping recorded", "a library line"]
    for line in lines:
        assert line["service"] == "probe"
        assert line["request_id"] == "req-42"
        assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    configure_logging("test", json=False)
