"""OpenTelemetry, set up once per process; the trace context rides in NATS headers.

The outbox stores the producer's ``traceparent`` with the event, the relay publishes it as
a header, and the consumer starts its span as a child of it: one trace from HTTP request
to the consumer's effect. Tracing is off unless ``SPICADB_OTEL_EXPORTER`` says otherwise.

With tracing on, every asyncpg statement is a span (the OpenTelemetry asyncpg instrumentation) inside
the request, event or job that runs it; a statement outside any (the relay's polls, the consumers'
fetches, the pool's resets) starts no trace of its own (:class:`InsideWork`), or those would flood the
exporter. The batch delay is the SDK's own ``OTEL_BSP_SCHEDULE_DELAY`` (ms, 5000 by default).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.util.types import Attributes

if TYPE_CHECKING:
    from litestar.plugins.opentelemetry import OpenTelemetryConfig

__all__ = [
    "MAX_TRACESTATE",
    "InsideWork",
    "context_from_headers",
    "current_trace_headers",
    "http_tracing_config",
    "setup_tracing",
    "tracer",
    "tracing_on",
]

# what the W3C Trace Context asks a vendor to keep at least when it truncates a tracestate
MAX_TRACESTATE = 512

_DB_SYSTEM = ("db.system", "db.system.name")  # the old and the new semantic conventions' names


class InsideWork(Sampler):
    """Which root spans start a trace: none of a database statement (one outside any request, event or
    job is the relay's or a consumer's polling, not work anyone follows), and ``ratio`` of the others
    (by trace id, the SDK's ``OTEL_TRACES_SAMPLER_ARG``, 1.0 by default). A span with a parent follows
    its parent's decision (:class:`ParentBased` around this one)."""

    def __init__(self, ratio: float = 1.0) -> None:
        self._others = TraceIdRatioBased(min(1.0, max(0.0, ratio)))

    def should_sample(
        self,
        parent_context: context.Context | None,
        trace_id: int,
        name: str,
        kind: trace.SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[trace.Link] | None = None,
        trace_state: trace.TraceState | None = None,
    ) -> SamplingResult:
        if attributes and any(attributes.get(key) == "postgresql" for key in _DB_SYSTEM):
            return SamplingResult(Decision.DROP)
        return self._others.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"InsideWork({self._others.get_description()})"


def _ratio() -> float:
    """``OTEL_TRACES_SAMPLER_ARG`` as the share of root spans kept (1.0 when unset or not a number)."""
    try:
        return float(os.environ.get("OTEL_TRACES_SAMPLER_ARG", "1"))
    except ValueError:
        return 1.0


_configured = False


def setup_tracing(service: str, exporter: str, endpoint: str, version: str = "0") -> None:
    """Install the global tracer provider; a no-op when the exporter is "none" or already set."""
    global _configured
    if exporter == "none" or _configured:
        return
    provider = TracerProvider(
        resource=Resource.create({"service.name": service, "service.version": version}),
        sampler=ParentBased(InsideWork(_ratio())),
    )
    span_exporter: SpanExporter
    if exporter == "console":
        span_exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        span_exporter = OTLPSpanExporter(endpoint=endpoint)
    provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(provider)
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    _configured = True


def tracing_on() -> bool:
    """Whether this process exports spans (a tracer provider was installed)."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def http_tracing_config() -> OpenTelemetryConfig:
    """A SERVER span per request a service's handlers answer, not for the probes (health, metrics:
    every few seconds, a trace each) and without the ASGI send and receive spans inside it."""
    from litestar.plugins.opentelemetry import OpenTelemetryConfig

    return OpenTelemetryConfig(exclude=["^/health/", "^/metrics$"], exclude_spans=["receive", "send"])


def current_trace_headers() -> dict[str, str]:
    """The W3C trace context of the current span, as headers (empty when not tracing). A ``tracestate``
    over :data:`MAX_TRACESTATE` characters is left out: it came from a caller and would travel in every
    event its request writes (up to 16 kB each); the trace goes on without it."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    if len(carrier.get("tracestate", "")) > MAX_TRACESTATE:
        del carrier["tracestate"]
    return carrier


def context_from_headers(headers: Mapping[str, str] | None) -> context.Context:
    """The trace context carried by headers (W3C traceparent), so that an event's consumer continues its
    producer's trace."""
    return propagate.extract(dict(headers or {}))


def tracer(name: str) -> trace.Tracer:
    """A tracer for a module (a no-op one when tracing is off)."""
    return trace.get_tracer(name)
