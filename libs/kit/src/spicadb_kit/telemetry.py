"""OpenTelemetry, set up once per process; the trace context rides in NATS headers.

The outbox stores the producer's ``traceparent`` with the event, the relay publishes it as
a header, and the consumer starts its span as a child of it: one trace from HTTP request
to the consumer's effect. Tracing is off unless ``SPICADB_OTEL_EXPORTER`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

__all__ = ["context_from_headers", "current_trace_headers", "setup_tracing", "tracer"]

_configured = False


def setup_tracing(service: str, exporter: str, endpoint: str, version: str = "0") -> None:
    """Install the global tracer provider; a no-op when the exporter is "none" or already set."""
    global _configured
    if exporter == "none" or _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service, "service.version": version}))
    span_exporter: SpanExporter
    if exporter == "console":
        span_exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        span_exporter = OTLPSpanExporter(endpoint=endpoint)
    provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(provider)
    _configured = True


def current_trace_headers() -> dict[str, str]:
    """The W3C trace context of the current span, as headers (empty when not tracing)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def context_from_headers(headers: Mapping[str, str] | None) -> context.Context:
    """The trace context carried by headers (W3C traceparent), so that an event's consumer continues its
    producer's trace."""
    return propagate.extract(dict(headers or {}))


def tracer(name: str) -> trace.Tracer:
    """A tracer for a module (a no-op one when tracing is off)."""
    return trace.get_tracer(name)
