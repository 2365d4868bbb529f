"""The gateway's ASGI entry: every request passes here before anything else.

It sits outside Litestar (it replaces the app's ``asgi_handler`` and calls the original for the
gateway's own routes), so a proxied request is never parsed, routed or body-read by the framework.
The hot path for a proxied request is: one pass over the request headers (request.py), a dictionary
walk of the route policy (policy.py), a cached token check and a token bucket (access.py), then the
upstream request with the body streamed from ``receive`` (bodies.py) and the answer streamed back to
``send`` (forwarding.py, upstream/). Preflight requests are answered here (cors.py).

Errors the gateway itself raises are RFC 9457 problem documents (answers.py): 404 (no route), 405
(method), 401/403 (with WWW-Authenticate), 413 (body too large), 429 (with Retry-After), 502 (upstream
unreachable), 504 (upstream timeout). An upstream's own errors pass through unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import structlog

from spicadb_kit.context import ServiceContext
from spicadb_kit.errors import Problem
from spicadb_kit.logs import get_logger
from spicadb_kit.problems import INTERNAL, METHOD_NOT_ALLOWED, NOT_FOUND
from spicadb_kit.telemetry import tracing_on

from .access import Access
from .answers import decorating, send_problem, send_problem_page, wants_page
from .asgi import ASGIApp, Headers, Receive, Scope, Send
from .authn import Authenticator, Identity
from .bodies import ClientGone
from .config import GatewaySettings
from .cors import Cors
from .forwarding import Forwarder
from .headers import REQUEST_ID, security_headers
from .policy import NotAllowed, Route, RoutePolicy
from .problems import BAD_PATH
from .request import Request, normalise_path
from .revocation import RevocationList
from .tracing import traced
from .upstream import UpstreamClient

if TYPE_CHECKING:
    from .openapi import OpenAPIMerger

log = get_logger(__name__)

# the gateway's own paths that are never rate-limited: kubelet probes, and nginx's sub-requests (one per
# request in ingress mode, all from the controller's address; nginx limits rates itself there)
UNLIMITED_PATHS = frozenset({"/health/live", "/health/ready", "/auth/ingress"})

LocalHandler = Callable[[Scope, Receive, Send, bytes], Awaitable[None]]


class Gateway:
    def __init__(self, settings: GatewaySettings, policy: RoutePolicy, revocations: RevocationList) -> None:
        self.settings = settings
        self.policy = policy
        self.revocations = revocations
        self.inner: ASGIApp | None = None
        self.cors = Cors(settings.cors_origin_set())
        self.access = Access(settings)
        self.security = security_headers(hsts=settings.environment == "production")
        self.forwarder = Forwarder(
            self.access.proxies,
            self.security,
            frozenset({self.access.session_cookie, self.access.csrf_cookie}),
        )
        # built at startup (they need the service context: pool, verifier)
        self.context: GatewayContext | None = None
        self.authn: Authenticator | None = None
        self.client: UpstreamClient | None = None
        self.openapi: OpenAPIMerger | None = None
        self.health_cache: Any = None  # app.HealthCache
        self.local_handlers: dict[str, LocalHandler] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        authn = self.authn
        if scope["type"] != "http" or authn is None:
            assert self.inner is not None
            await self.inner(scope, receive, send)
            return
        if tracing_on():
            await traced(self._handle, scope, receive, send)
        else:
            await self._handle(scope, receive, send)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        authn = self.authn
        assert authn is not None
        request = Request(scope["headers"])
        request_id = request.id()
        extra = [(REQUEST_ID, request_id), *self.security]
        origin = request.origin
        if origin is not None and self.cors.allowed(origin):
            extra += Cors.response_headers(origin)
        method: str = scope["method"]
        path: str = scope["path"]
        try:
            path = normalise_path(scope)
            if method == "OPTIONS" and origin is not None and request.preflight_method is not None:
                await self.cors.preflight(self.policy, path, request, extra, send)
                return
            route = self._route(path, method)
            identity = await self._identity(authn, scope, request, route, method)
            if path not in UNLIMITED_PATHS:
                self.access.limit(scope, request, identity)
            if route.local:
                await self._local(scope, receive, send, request, request_id, extra)
            else:
                scope["path_template"] = route.prefix  # the route label of the gateway's metrics
                assert self.client is not None
                await self.forwarder(
                    self.client, scope, receive, send, request, request_id, route, identity, extra
                )
        except Problem as problem:
            if problem.kind is BAD_PATH and wants_page(scope):  # a browser: the console cannot answer it
                await send_problem_page(send, problem, method == "HEAD", extra)
                return
            await send_problem(send, problem, path, request_id, extra)
        except ClientGone:
            return  # the client left while sending its body: nobody to answer
        except Exception:
            log.exception("gateway error", path=path, method=method, request_id=request_id.decode())
            failure = INTERNAL("The gateway failed to handle this request.")
            with contextlib.suppress(Exception):  # unless the answer had started already
                await send_problem(send, failure, path, request_id, extra)

    def _route(self, path: str, method: str) -> Route:
        resolved = self.policy.resolve(path, method)
        if resolved is None:
            raise NOT_FOUND(f"no route for {path}")
        if isinstance(resolved, NotAllowed):
            raise METHOD_NOT_ALLOWED(
                f"{method} is not allowed on {path}",
                headers={"Allow": ", ".join(resolved.allowed)},
                allowed=list(resolved.allowed),
            )
        return resolved

    async def _identity(
        self, authn: Authenticator, scope: Scope, request: Request, route: Route, method: str
    ) -> Identity | None:
        if not route.anonymous:
            return await self.access.identify(authn, scope, request, route, method)
        if route.local:  # the gateway's own routes authenticate their callers themselves
            return None
        return await self.access.identify_optional(authn, scope, request, method)

    async def _local(
        self, scope: Scope, receive: Receive, send: Send, request: Request, request_id: bytes, extra: Headers
    ) -> None:
        handler = self.local_handlers.get(scope["path"])
        if handler is not None:
            await handler(scope, receive, decorating(send, extra), request_id)
            return
        # the gateway's Litestar routes: the kit's request-id middleware reuses this id
        if request.request_id != request_id:
            scope["headers"] = [h for h in scope["headers"] if h[0] != REQUEST_ID] + [
                (REQUEST_ID, request_id)
            ]
        assert self.inner is not None
        with structlog.contextvars.bound_contextvars(request_id=request_id.decode()):
            await self.inner(scope, receive, decorating(send, extra))


__all__ = ["ASGIApp", "Gateway", "Receive", "Scope", "Send", "normalise_path"]


# the gateway's context: its own state is the Gateway (attached at startup, once it can serve)
GatewayContext = ServiceContext[GatewaySettings, Gateway]
