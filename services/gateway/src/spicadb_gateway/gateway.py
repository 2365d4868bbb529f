"""The gateway's ASGI entry: every request passes here before anything else.

It sits outside Litestar (it replaces the app's ``asgi_handler`` and calls the original for the
gateway's own routes), so a proxied request is never parsed, routed or body-read by the framework.
The hot path for a proxied request is: one pass over the request headers, a dictionary walk of the
route policy, a cached token check, a token bucket, then the upstream request with the body streamed
from ``receive`` and the answer streamed back to ``send``.

Errors the gateway itself raises are RFC 9457 problem documents: 404 (no route), 405 (method),
401/403 (with WWW-Authenticate), 413 (body too large), 429 (with Retry-After), 502 (upstream
unreachable), 504 (upstream timeout). An upstream's own errors pass through unchanged.
"""

from __future__ import annotations

import contextlib
import math
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import structlog
from opentelemetry import propagate, trace

from spicadb_kit.errors import PROBLEM_MEDIA_TYPE, Problem
from spicadb_kit.logs import get_logger
from spicadb_kit.runtime.serve import TrustedProxies

from .authn import Authenticator, Identity
from .config import GatewaySettings
from .headers import (
    GATEWAY_HTML_CSP,
    HOP_BY_HOP,
    IDENTITY_HEADERS,
    REQUEST_ID,
    Cors,
    cookie_value,
    security_headers,
    without_cookies,
)
from .policy import NotAllowed, Route, RoutePolicy, Upstream
from .ratelimit import RateLimiter
from .revocation import RevocationList
from .upstream import UpstreamClient, UpstreamTimeout, UpstreamUnreachable

if TYPE_CHECKING:
    from spicadb_kit.context import ServiceContext

    from .openapi import OpenAPIMerger

log = get_logger(__name__)
_tracer = trace.get_tracer(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_SAFE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
# bodies up to this size are read before the upstream is called (one write, a Content-Length)
SMALL_BODY = 64 * 1024
# a chunked body is held up to this much (or the route's limit, if smaller) before the upstream is
# called: an oversized body under the limit never reaches the service at all
PREBUFFER = 1024 * 1024

# the gateway's own paths that are never rate-limited: kubelet probes, and nginx's sub-requests (one per
# request in ingress mode, all from the controller's address; nginx limits rates itself there)
UNLIMITED_PATHS = frozenset({"/health/live", "/health/ready", "/auth/ingress"})

# request headers the proxy looks at, or replaces with its own
_AUTHORIZATION = 1
_COOKIE = 2
_ORIGIN = 3
_REQUEST_ID = 4
_CONTENT_LENGTH = 5
_TRANSFER_ENCODING = 6
_CSRF = 7
_HOST = 8
_TRACEPARENT = 9
_TRACESTATE = 10
_CONNECTION = 11
_DROP = 12
_PREFLIGHT_METHOD = 13
_PREFLIGHT_HEADERS = 14
_FORWARDED_FOR = 15

_REQUEST_HEADERS: dict[bytes, int] = {
    b"authorization": _AUTHORIZATION,
    b"cookie": _COOKIE,
    b"origin": _ORIGIN,
    b"x-request-id": _REQUEST_ID,
    b"content-length": _CONTENT_LENGTH,
    b"transfer-encoding": _TRANSFER_ENCODING,
    b"x-csrf-token": _CSRF,
    b"host": _HOST,
    b"traceparent": _TRACEPARENT,
    b"tracestate": _TRACESTATE,
    b"connection": _CONNECTION,
    b"access-control-request-method": _PREFLIGHT_METHOD,
    b"access-control-request-headers": _PREFLIGHT_HEADERS,
    b"expect": _DROP,
    b"x-forwarded-for": _FORWARDED_FOR,
    b"x-forwarded-proto": _DROP,
    b"x-forwarded-host": _DROP,
    b"x-forwarded-port": _DROP,
    b"forwarded": _DROP,
    **dict.fromkeys(IDENTITY_HEADERS, _DROP),
    **dict.fromkeys(HOP_BY_HOP - {b"connection", b"transfer-encoding"}, _DROP),
}

# the gateway's own server sets date and server (uvicorn adds them to every answer)
_RESPONSE_DROP = HOP_BY_HOP | {REQUEST_ID, b"date", b"server"}


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    pass


class Request:
    """What the header pass found (only what the proxy decides on)."""

    __slots__ = (
        "authorization",
        "connection",
        "content_length",
        "cookie",
        "csrf",
        "forward",
        "forwarded_for",
        "host",
        "origin",
        "preflight_headers",
        "preflight_method",
        "request_id",
        "traceparent",
        "tracestate",
        "transfer_encoding",
    )

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.authorization: bytes | None = None
        self.cookie: bytes | None = None
        self.origin: bytes | None = None
        self.request_id: bytes | None = None
        self.content_length: bytes | None = None
        self.transfer_encoding: bytes | None = None
        self.csrf: bytes | None = None
        self.host: bytes | None = None
        self.traceparent: bytes | None = None
        self.tracestate: bytes | None = None
        self.connection: bytes | None = None
        self.preflight_method: bytes | None = None
        self.preflight_headers: bytes | None = None
        self.forwarded_for: bytes | None = None
        forward: list[tuple[bytes, bytes]] = []
        kinds = _REQUEST_HEADERS
        for name, value in headers:
            kind = kinds.get(name)
            if kind is None:
                forward.append((name, value))
            elif kind == _AUTHORIZATION:
                self.authorization = value
                forward.append((name, value))
            elif kind == _COOKIE:
                self.cookie = value if self.cookie is None else self.cookie + b"; " + value
            elif kind == _ORIGIN:
                self.origin = value
                forward.append((name, value))
            elif kind == _REQUEST_ID:
                self.request_id = value
            elif kind == _CONTENT_LENGTH:
                self.content_length = value
            elif kind == _TRANSFER_ENCODING:
                self.transfer_encoding = value
            elif kind == _CSRF:
                self.csrf = value
            elif kind == _HOST:
                self.host = value
            elif kind == _TRACEPARENT:
                self.traceparent = value
                forward.append((name, value))
            elif kind == _TRACESTATE:
                self.tracestate = value
                forward.append((name, value))
            elif kind == _CONNECTION:
                self.connection = value
            elif kind == _PREFLIGHT_METHOD:
                self.preflight_method = value
            elif kind == _PREFLIGHT_HEADERS:
                self.preflight_headers = value
            elif kind == _FORWARDED_FOR:  # several lines are one list (RFC 9110 §5.3)
                self.forwarded_for = (
                    value if self.forwarded_for is None else self.forwarded_for + b"," + value
                )
        if self.connection is not None:  # fields named in Connection are hop-by-hop too
            listed = {t.strip().lower() for t in self.connection.split(b",")} - {b"close", b"keep-alive"}
            if listed:
                forward = [(n, v) for n, v in forward if n not in listed]
        self.forward = forward


def problem_body(problem: Problem, path: str, request_id: str) -> bytes:
    return problem.document(instance=path, request_id=request_id).encode()


class Gateway:
    def __init__(self, settings: GatewaySettings, policy: RoutePolicy, revocations: RevocationList) -> None:
        self.settings = settings
        self.policy = policy
        self.revocations = revocations
        self.inner: ASGIApp | None = None
        self.cors = Cors(settings.cors_origin_set())
        self.limiter = RateLimiter(settings.rate_limit_rate, settings.rate_limit_burst)
        self.proxies = TrustedProxies(settings.forwarded_allow_ips)
        self.security = security_headers(hsts=settings.environment == "production")
        self._security_names = frozenset(name for name, _ in self.security)
        self.session_cookie = settings.session_cookie_name.encode()
        self.csrf_cookie = settings.csrf_cookie.encode()
        self._own_cookies = frozenset({self.session_cookie, self.csrf_cookie})
        # built at startup (they need the service context: pool, verifier)
        self.context: ServiceContext | None = None
        self.authn: Authenticator | None = None
        self.client: UpstreamClient | None = None
        self.openapi: OpenAPIMerger | None = None
        self.health_cache: Any = None  # app.HealthCache
        self.local_handlers: dict[str, Callable[[Scope, Receive, Send, bytes], Awaitable[None]]] = {}

    # --- the entry point ------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.authn is None:
            assert self.inner is not None
            await self.inner(scope, receive, send)
            return
        request = Request(scope["headers"])
        incoming = request.request_id
        request_id = (
            incoming if incoming is not None and _SAFE_ID.match(incoming) else uuid.uuid4().hex.encode()
        )
        extra = [(REQUEST_ID, request_id), *self.security]
        origin = request.origin
        if origin is not None and self.cors.allowed(origin):
            extra += Cors.response_headers(origin)
        method: str = scope["method"]
        path: str = scope["path"]
        try:
            path = normalise_path(scope)
            if method == "OPTIONS" and origin is not None and request.preflight_method is not None:
                await self._preflight(path, request, extra, send)
                return
            resolved = self.policy.resolve(path, method)
            if resolved is None:
                raise Problem(f"no route for {path}", status=404, code="not-found")
            if isinstance(resolved, NotAllowed):
                raise Problem(
                    f"{method} is not allowed on {path}",
                    status=405,
                    code="method-not-allowed",
                    headers={"Allow": ", ".join(resolved.allowed)},
                    allowed=list(resolved.allowed),
                )
            route = resolved
            if not route.anonymous:
                identity = await self._identify(scope, request, route, method)
            elif route.local:  # the gateway's own routes authenticate their callers themselves
                identity = None
            else:
                identity = await self._identify_optional(scope, request, method)
            if path not in UNLIMITED_PATHS:
                self._limit(scope, request, identity)
            if route.local:
                await self._local(scope, receive, send, request, request_id, extra)
            else:
                await self._proxy(scope, receive, send, request, request_id, route, identity, extra)
        except Problem as problem:
            await self._send_problem(send, problem, path, request_id, extra)
        except ClientGone:
            return  # the client left while sending its body: nobody to answer
        except Exception:
            log.exception("gateway error", path=path, method=method, request_id=request_id.decode())
            failure = Problem("The gateway failed to handle this request.", status=500, code="internal")
            with contextlib.suppress(Exception):  # unless the answer had started already
                await self._send_problem(send, failure, path, request_id, extra)

    async def _identify(self, scope: Scope, request: Request, route: Route, method: str) -> Identity:
        assert self.authn is not None
        authorization = request.authorization.decode("latin-1") if request.authorization is not None else None
        session_id = None
        if authorization is None and request.cookie is not None:
            session_id = cookie_value(request.cookie, self.session_cookie)
        try:
            identity = await self.authn.identify(authorization, session_id)
        except Problem as problem:
            if problem.status == 401:  # failed attempts count against the caller's address
                self._limit(scope, request, None)
            raise
        Authenticator.authorize(identity, route.scopes)
        csrf = request.csrf.decode("latin-1") if request.csrf is not None else None
        Authenticator.check_csrf(identity, method, cookie_value(request.cookie, self.csrf_cookie), csrf)
        return identity

    async def _identify_optional(self, scope: Scope, request: Request, method: str) -> Identity | None:
        """Routes that also answer without credentials (downloads, previews, the VO endpoints): a bearer
        token sent is still verified, revocation included (a revoked or invalid one is 401, never
        silently anonymous); a session cookie that no longer works, or an unsafe method without the CSRF
        header, leaves the call anonymous (a stale cookie must not break public pages)."""
        assert self.authn is not None
        # other schemes are the service's own business (Basic client credentials at /oauth/token)
        if request.authorization is not None and request.authorization[:7].lower() == b"bearer ":
            try:
                return await self.authn.identify(request.authorization.decode("latin-1"), None)
            except Problem as problem:
                if problem.status == 401:  # failed attempts count against the caller's address
                    self._limit(scope, request, None)
                raise
        session_id = cookie_value(request.cookie, self.session_cookie)
        if not session_id:
            return None
        try:
            identity = await self.authn.identify(None, session_id)
            csrf = request.csrf.decode("latin-1") if request.csrf is not None else None
            Authenticator.check_csrf(identity, method, cookie_value(request.cookie, self.csrf_cookie), csrf)
        except Problem:
            return None
        return identity

    def client_address(self, scope: Scope, request: Request) -> str:
        """The caller's address: the peer, unless the peer is a configured proxy
        (``forwarded_allow_ips``), whose X-Forwarded-For then says who its client was."""
        client = scope.get("client")
        peer = client[0] if client else None
        if self.proxies.empty:
            return peer or "unknown"
        return self.proxies.client(peer, request.forwarded_for)

    def _limit(self, scope: Scope, request: Request, identity: Identity | None) -> None:
        if not self.limiter.enabled:
            return
        if identity is not None:
            # per client and, for people, per person: every browser user shares the frontend's client_id
            principal = identity.principal
            key = "c:" + principal.client_id + "/" + principal.subject
        else:
            key = "ip:" + self.client_address(scope, request)
        wait = self.limiter.take(key)
        if wait:
            raise Problem(
                "too many requests: slow down",
                status=429,
                code="rate-limited",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )

    # --- answers the gateway makes itself ---------------------------------------------

    async def _send_problem(
        self, send: Send, problem: Problem, path: str, request_id: bytes, extra: list[tuple[bytes, bytes]]
    ) -> None:
        body = problem_body(problem, path, request_id.decode())
        headers = [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
            *[(k.lower().encode(), v.encode("latin-1")) for k, v in problem.headers.items()],
            *extra,
        ]
        await send({"type": "http.response.start", "status": problem.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _preflight(
        self, path: str, request: Request, extra: list[tuple[bytes, bytes]], send: Send
    ) -> None:
        origin = request.origin
        assert origin is not None
        if not self.cors.allowed(origin):
            raise Problem(f"origin {origin.decode('latin-1')} is not allowed", status=403, code="cors-origin")
        routes = self.policy.candidates(path)
        methods = {m for r in routes for m in r.methods} if routes else set()
        wanted = (request.preflight_method or b"").decode("latin-1").upper()
        if wanted not in methods:
            raise Problem(f"{wanted} is not allowed on {path}", status=403, code="cors-method")
        headers = [
            (b"content-length", b"0"),
            *[h for h in extra if not h[0].startswith(b"access-control-") and h[0] != b"vary"],
            *Cors.preflight_headers(origin, methods, request.preflight_headers),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    async def _local(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request: Request,
        request_id: bytes,
        extra: list[tuple[bytes, bytes]],
    ) -> None:
        handler = self.local_handlers.get(scope["path"])
        if handler is not None:
            await handler(scope, receive, self._decorating(send, extra), request_id)
            return
        # the gateway's Litestar routes: the kit's request-id middleware reuses this id
        if request.request_id != request_id:
            scope["headers"] = [h for h in scope["headers"] if h[0] != REQUEST_ID] + [
                (REQUEST_ID, request_id)
            ]
        assert self.inner is not None
        with structlog.contextvars.bound_contextvars(request_id=request_id.decode()):
            await self.inner(scope, receive, self._decorating(send, extra))

    def _decorating(self, send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
        """Adds the common headers an answer does not set itself; gateway HTML gets a strict CSP."""

        async def decorated(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
                if content_type.startswith(b"text/html") and b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", GATEWAY_HTML_CSP))
                    present.add(b"content-security-policy")
                headers += [(n, v) for n, v in extra if n not in present]
                message = {**message, "headers": headers}
            await send(message)

        return decorated

    # --- the proxy ---------------------------------------------------------------------

    async def _proxy(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request: Request,
        request_id: bytes,
        route: Route,
        identity: Identity | None,
        extra: list[tuple[bytes, bytes]],
    ) -> None:
        upstream = route.upstream
        if upstream is None:
            raise Problem(f"no upstream is configured for {route.service}", status=502, code="no-upstream")
        headers = request.forward
        if request.cookie is not None:
            kept = without_cookies(request.cookie, self._own_cookies)
            if kept:
                headers.append((b"cookie", kept))
        # the client's Host, so that URLs a service builds from its request (links, Location) name the
        # public origin rather than the service's internal address; X-Forwarded-Host says it too
        host = request.host if request.host is not None else upstream.authority
        headers += [
            (b"host", host),
            (b"x-forwarded-host", host),
            (b"x-forwarded-for", self.client_address(scope, request).encode("latin-1")),
            (b"x-forwarded-proto", scope.get("scheme", "http").encode()),
            (REQUEST_ID, request_id),
        ]
        if identity is not None:
            principal = identity.principal
            if identity.session_id is not None:  # services verify the token themselves
                headers.append((b"authorization", b"Bearer " + identity.token.encode()))
            headers += [
                (name, value)
                for name, value in (
                    (b"x-auth-request-user", principal.subject.encode()),
                    (b"x-auth-request-client", principal.client_id.encode()),
                    (b"x-auth-request-scopes", " ".join(sorted(principal.scopes)).encode()),
                )
                if _header_safe(value)  # claims are signed, not necessarily well-formed header values
            ]
        body, chunked = await self._request_body(receive, request, route, headers)
        target = upstream.base_path + (scope.get("raw_path") or scope["path"].encode())
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            await self._forward(send, scope, upstream, target, headers, body, chunked, request_id, extra)
            return
        carrier = {}
        if request.traceparent is not None:
            carrier["traceparent"] = request.traceparent.decode("latin-1")
            if request.tracestate is not None:
                carrier["tracestate"] = request.tracestate.decode("latin-1")
        with _tracer.start_as_current_span(
            f"{scope['method']} {route.service}",
            context=propagate.extract(carrier),
            kind=trace.SpanKind.CLIENT,
            attributes={
                "http.request.method": scope["method"],
                "url.path": scope["path"],
                "server.address": upstream.name,
            },
        ) as span:
            injected: dict[str, str] = {}
            propagate.inject(injected)
            headers = [h for h in headers if h[0] not in (b"traceparent", b"tracestate")]
            headers += [(k.encode(), v.encode()) for k, v in injected.items()]
            status = await self._forward(
                send, scope, upstream, target, headers, body, chunked, request_id, extra
            )
            span.set_attribute("http.response.status_code", status)

    async def _request_body(
        self, receive: Receive, request: Request, route: Route, headers: list[tuple[bytes, bytes]]
    ) -> tuple[bytes | AsyncIterator[bytes], bool]:
        """The body to send upstream, and whether it goes chunked; its framing header is added."""
        limit = route.max_body_bytes
        if request.content_length is not None and request.transfer_encoding is None:
            if not request.content_length.isdigit():
                raise Problem("Content-Length is not a number", status=400, code="bad-request")
            length = int(request.content_length)
            if length > limit:
                raise self._too_large(limit)
            if length == 0:
                headers.append((b"content-length", b"0"))
                return b"", False
            if length <= SMALL_BODY:
                body = await _read_all(receive, limit)
                headers.append((b"content-length", str(len(body)).encode()))
                return body, False
            headers.append((b"content-length", request.content_length))
            return _stream(receive, [], 0, limit), False
        if request.transfer_encoding is None:
            return b"", False  # no body
        # chunked: hold the start of the body; a small body becomes a plain one
        held: list[bytes] = []
        size = 0
        more = True
        threshold = min(limit, PREBUFFER)
        while more and size <= threshold:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise self._too_large(limit)
            if chunk:
                held.append(chunk)
            more = message.get("more_body", False)
        if not more:
            body = b"".join(held)
            headers.append((b"content-length", str(len(body)).encode()))
            return body, False
        headers.append((b"transfer-encoding", b"chunked"))
        return _stream(receive, held, size, limit), True

    @staticmethod
    def _too_large(limit: int) -> Problem:
        return too_large(limit)

    async def _forward(
        self,
        send: Send,
        scope: Scope,
        upstream: Upstream,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | AsyncIterator[bytes],
        chunked: bool,
        request_id: bytes,
        extra: list[tuple[bytes, bytes]],
    ) -> int:
        assert self.client is not None
        try:
            response = await self.client.send(
                upstream, scope["method"].encode(), target, headers, body, chunked
            )
        except BodyTooLarge:
            raise self._too_large(self._limit_of(scope)) from None
        except ClientGone:
            return 499
        except UpstreamTimeout as exc:
            log.warning(
                "upstream timeout", upstream=upstream.name, request_id=request_id.decode(), error=str(exc)
            )
            raise Problem(
                f"{upstream.name} did not answer in time", status=504, code="upstream-timeout"
            ) from None
        except UpstreamUnreachable as exc:
            log.warning(
                "upstream unreachable", upstream=upstream.name, request_id=request_id.decode(), error=str(exc)
            )
            raise Problem(
                f"{upstream.name} is unreachable", status=502, code="upstream-unreachable"
            ) from None
        try:
            out: list[tuple[bytes, bytes]] = []
            present: set[bytes] = set()
            security_names = self._security_names
            for name, value in response.headers:
                lname = name.lower()
                if lname in _RESPONSE_DROP:
                    continue
                if lname in security_names:
                    present.add(lname)
                out.append((lname, value))
            out += [(n, v) for n, v in extra if n not in present]
            await send({"type": "http.response.start", "status": response.status, "headers": out})
            try:
                async for chunk in response.chunks():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except (UpstreamTimeout, UpstreamUnreachable) as exc:
                # the answer has started: all that is left is to cut it short (the server closes the
                # connection of an unfinished answer, so the client sees it incomplete)
                log.warning(
                    "upstream answer cut short",
                    upstream=upstream.name,
                    request_id=request_id.decode(),
                    error=str(exc),
                )
                return 502
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()
        return response.status

    def _limit_of(self, scope: Scope) -> int:
        resolved = self.policy.resolve(scope["path"], scope["method"])
        return resolved.max_body_bytes if isinstance(resolved, Route) else 0


def _header_safe(value: bytes) -> bool:
    return not (b"\r" in value or b"\n" in value or b"\x00" in value)


def _has_dot_segment(path: str) -> bool:
    return any(segment in (".", "..") for segment in path.split("/"))


_DUPLICATE_SLASHES = re.compile(r"/{2,}")
_DUPLICATE_SLASHES_RAW = re.compile(rb"/{2,}")


def normalise_path(scope: Scope) -> str:
    """The one path the policy judges and the service routes on (``path`` and ``raw_path`` of ``scope``
    are rewritten). Judged decoded, as services route (``%2F`` is a slash to both); duplicate slashes
    collapsed (services collapse them, so ``/a//b`` is judged as ``/a/b``, not by the route of ``/a``);
    refused with 400: ``.``/``..`` segments (``/public/../admin`` would match the prefix /public) and
    control characters."""
    path: str = scope["path"]
    if b"%" in (scope.get("raw_path") or b"") and any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        raise Problem("control characters are not accepted in paths", status=400, code="bad-path")
    if "/." in path and _has_dot_segment(path):
        raise Problem("paths with . or .. segments are not accepted", status=400, code="bad-path")
    if "//" in path:
        path = _DUPLICATE_SLASHES.sub("/", path)
        scope["path"] = path
        raw = scope.get("raw_path") or path.encode()
        scope["raw_path"] = _DUPLICATE_SLASHES_RAW.sub(b"/", raw)
    return path


def too_large(limit: int) -> Problem:
    return Problem(
        f"the request body exceeds this route's limit of {limit} bytes",
        status=413,
        code="body-too-large",
        limit=limit,
    )


async def _read_all(receive: Receive, limit: int) -> bytes:
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _stream(receive: Receive, held: list[bytes], size: int, limit: int) -> AsyncIterator[bytes]:
    """The request body from ``receive``, counted: past ``limit`` the upstream request is aborted."""
    for chunk in held:
        yield chunk
    held.clear()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


__all__ = ["Gateway"]
