"""CORS for a fixed set of frontend origins, with credentials (the session cookie) allowed: the headers
every answer to an allowed origin carries, and the gateway's own answer to a preflight request."""

from __future__ import annotations

from collections.abc import Iterable

from .asgi import Headers, Send
from .policy import RoutePolicy
from .problems import CORS_METHOD, CORS_ORIGIN
from .request import Request

CORS_ALLOW_HEADERS = b"authorization, content-type, x-csrf-token, x-request-id, traceparent, tracestate"
CORS_EXPOSE_HEADERS = b"x-request-id, retry-after, www-authenticate, location, content-disposition"
CORS_MAX_AGE = b"600"


class Cors:
    def __init__(self, origins: Iterable[str]) -> None:
        self.origins = frozenset(o.encode() for o in origins)

    def allowed(self, origin: bytes | None) -> bool:
        return origin is not None and origin in self.origins

    @staticmethod
    def response_headers(origin: bytes) -> Headers:
        return [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-expose-headers", CORS_EXPOSE_HEADERS),
            (b"vary", b"Origin"),
        ]

    @staticmethod
    def preflight_headers(origin: bytes, methods: Iterable[str], requested: bytes | None) -> Headers:
        return [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-allow-methods", ", ".join(sorted(methods)).encode()),
            (b"access-control-allow-headers", requested or CORS_ALLOW_HEADERS),
            (b"access-control-max-age", CORS_MAX_AGE),
            (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
        ]

    async def preflight(
        self, policy: RoutePolicy, path: str, request: Request, extra: Headers, send: Send
    ) -> None:
        """204 with the methods the policy has for ``path``; 403 for another origin or method."""
        origin = request.origin
        assert origin is not None
        if not self.allowed(origin):
            raise CORS_ORIGIN(f"origin {origin.decode('latin-1')} is not allowed")
        routes = policy.candidates(path)
        methods = {m for r in routes for m in r.methods} if routes else set()
        wanted = (request.preflight_method or b"").decode("latin-1").upper()
        if wanted not in methods:
            raise CORS_METHOD(f"{wanted} is not allowed on {path}")
        headers = [
            (b"content-length", b"0"),
            *[h for h in extra if not h[0].startswith(b"access-control-") and h[0] != b"vary"],
            *self.preflight_headers(origin, methods, request.preflight_headers),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
