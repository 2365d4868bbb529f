"""A proxied request sent on to its upstream, and the answer streamed back: the headers the upstream
receives (the caller's, minus the gateway's cookies, plus who the caller is and where it called), the
client span when tracing is on, and the upstream's failures as 502/504 problems (an upstream's own
errors pass through unchanged)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from opentelemetry import propagate, trace

from spicadb_kit.logs import get_logger
from spicadb_kit.runtime.serve import TrustedProxies
from spicadb_kit.telemetry import tracing_on

from .asgi import Headers, Receive, Scope, Send
from .authn import Identity
from .bodies import BodyTooLarge, ClientGone, request_body, too_large
from .headers import HOP_BY_HOP, REQUEST_ID, without_cookies
from .policy import Route, Upstream
from .problems import NO_UPSTREAM, UPSTREAM_TIMEOUT, UPSTREAM_UNREACHABLE
from .request import Request, client_address
from .upstream import UpstreamClient, UpstreamTimeout, UpstreamUnreachable

log = get_logger(__name__)
_tracer = trace.get_tracer(__name__)

# the gateway's own server sets date and server (uvicorn adds them to every answer)
_RESPONSE_DROP = HOP_BY_HOP | {REQUEST_ID, b"date", b"server"}


def _header_safe(value: bytes) -> bool:
    return not (b"\r" in value or b"\n" in value or b"\x00" in value)


class Forwarder:
    def __init__(self, proxies: TrustedProxies, security: Headers, own_cookies: frozenset[bytes]) -> None:
        self.proxies = proxies
        self._security_names = frozenset(name for name, _ in security)
        self._own_cookies = own_cookies

    async def __call__(
        self,
        client: UpstreamClient,
        scope: Scope,
        receive: Receive,
        send: Send,
        request: Request,
        request_id: bytes,
        route: Route,
        identity: Identity | None,
        extra: Headers,
    ) -> None:
        upstream = route.upstream
        if upstream is None:
            raise NO_UPSTREAM(f"no upstream is configured for {route.service}")
        headers = self._upstream_headers(scope, request, request_id, upstream, identity)
        body, chunked = await request_body(receive, request, route.max_body_bytes, headers)
        target = upstream.base_path + (scope.get("raw_path") or scope["path"].encode())
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        exchange = _Exchange(client, send, scope, upstream, target, body, chunked, request_id, route, extra)
        if not tracing_on():
            await self._forward(exchange, headers)
            return
        # a child of the gateway's SERVER span (tracing.py), which continued the caller's traceparent
        with _tracer.start_as_current_span(
            f"{scope['method']} {route.service}",
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
            status = await self._forward(exchange, headers)
            span.set_attribute("http.response.status_code", status)

    def _upstream_headers(
        self, scope: Scope, request: Request, request_id: bytes, upstream: Upstream, identity: Identity | None
    ) -> Headers:
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
            (b"x-forwarded-for", client_address(self.proxies, scope, request).encode("latin-1")),
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
        return headers

    async def _forward(self, exchange: _Exchange, headers: Headers) -> int:
        """The upstream's status (499: the client left, 502: the answer was cut short)."""
        upstream, request_id = exchange.upstream, exchange.request_id.decode()
        try:
            response = await exchange.client.send(
                upstream,
                exchange.scope["method"].encode(),
                exchange.target,
                headers,
                exchange.body,
                exchange.chunked,
            )
        except BodyTooLarge:
            raise too_large(exchange.route.max_body_bytes) from None
        except ClientGone:
            return 499
        except UpstreamTimeout as exc:
            log.warning("upstream timeout", upstream=upstream.name, request_id=request_id, error=str(exc))
            raise UPSTREAM_TIMEOUT(f"{upstream.name} did not answer in time") from None
        except UpstreamUnreachable as exc:
            log.warning("upstream unreachable", upstream=upstream.name, request_id=request_id, error=str(exc))
            raise UPSTREAM_UNREACHABLE(f"{upstream.name} is unreachable") from None
        send = exchange.send
        try:
            out: Headers = []
            present: set[bytes] = set()
            security_names = self._security_names
            for name, value in response.headers:
                lname = name.lower()
                if lname in _RESPONSE_DROP:
                    continue
                if lname in security_names:
                    present.add(lname)
                out.append((lname, value))
            out += [(n, v) for n, v in exchange.extra if n not in present]
            await send({"type": "http.response.start", "status": response.status, "headers": out})
            try:
                async for chunk in response.chunks():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except (UpstreamTimeout, UpstreamUnreachable) as exc:
                # the answer has started: all that is left is to cut it short (the server closes the
                # connection of an unfinished answer, so the client sees it incomplete)
                log.warning(
                    "upstream answer cut short", upstream=upstream.name, request_id=request_id, error=str(exc)
                )
                return 502
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()
        return response.status


class _Exchange:
    """One proxied request, as far as the forwarding needs it."""

    __slots__ = (
        "body",
        "chunked",
        "client",
        "extra",
        "request_id",
        "route",
        "scope",
        "send",
        "target",
        "upstream",
    )

    def __init__(
        self,
        client: UpstreamClient,
        send: Send,
        scope: Scope,
        upstream: Upstream,
        target: bytes,
        body: bytes | AsyncIterator[bytes],
        chunked: bool,
        request_id: bytes,
        route: Route,
        extra: Headers,
    ) -> None:
        self.client = client
        self.send = send
        self.scope = scope
        self.upstream = upstream
        self.target = target
        self.body = body
        self.chunked = chunked
        self.request_id = request_id
        self.route = route
        self.extra = extra
