"""The gateway's SERVER span of a request, when tracing is on: continuing the caller's ``traceparent``
(a DRS that traces its pushes), covering the gateway's own work (route, token, rate limit) and the
forwarding, whose CLIENT span (forwarding.py) is its child and whose context the upstream receives.
The probes (health, metrics: every few seconds, a trace each) are not traced."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from opentelemetry import propagate, trace

from spicadb_kit.telemetry import tracer

from .asgi import Receive, Scope, Send

__all__ = ["traced"]

_tracer = tracer(__name__)
_CONTEXT_HEADERS = (b"traceparent", b"tracestate")
_UNTRACED = ("/health/", "/metrics")

Handle = Callable[[Scope, Receive, Send], Awaitable[None]]


async def traced(handle: Handle, scope: Scope, receive: Receive, send: Send) -> None:
    """``handle`` the request inside its SERVER span (named by its route's prefix once routed)."""
    path: str = scope["path"]
    if path.startswith(_UNTRACED):
        await handle(scope, receive, send)
        return
    carrier = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope["headers"]
        if name in _CONTEXT_HEADERS
    }
    method: str = scope["method"]
    status = 0

    async def sending(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        await send(message)

    with _tracer.start_as_current_span(
        method,
        context=propagate.extract(carrier),
        kind=trace.SpanKind.SERVER,
        attributes={"http.request.method": method, "url.path": path},
    ) as span:
        await handle(scope, receive, sending)
        route = scope.get("path_template")  # set once the request is routed to an upstream
        if route:
            span.update_name(f"{method} {route}")
            span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(trace.StatusCode.ERROR)
