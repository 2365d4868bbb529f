"""The request as the gateway judges it: one pass over its headers (what the proxy decides on, and what
it forwards), its request id, the caller's address and the path the policy judges."""

from __future__ import annotations

import re
import uuid

from spicadb_kit.runtime.serve import TrustedProxies

from .asgi import Headers, Scope
from .headers import HOP_BY_HOP, IDENTITY_HEADERS
from .problems import BAD_PATH

_SAFE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")

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


class Request:
    """What the header pass found (only what the proxy decides on), and the headers to forward."""

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

    def __init__(self, headers: Headers) -> None:
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
        forward: Headers = []
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

    def id(self) -> bytes:
        """The caller's X-Request-ID when it is a safe one, else a new one."""
        incoming = self.request_id
        return incoming if incoming is not None and _SAFE_ID.match(incoming) else uuid.uuid4().hex.encode()


def client_address(proxies: TrustedProxies, scope: Scope, request: Request) -> str:
    """The caller's address: the peer, unless the peer is a configured proxy
    (``forwarded_allow_ips``), whose X-Forwarded-For then says who its client was."""
    client = scope.get("client")
    peer = client[0] if client else None
    if proxies.empty:
        return peer or "unknown"
    return proxies.client(peer, request.forwarded_for)


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
        raise BAD_PATH("control characters are not accepted in paths")
    if "/." in path and _has_dot_segment(path):
        raise BAD_PATH("paths with . or .. segments are not accepted")
    if "//" in path:
        path = _DUPLICATE_SLASHES.sub("/", path)
        scope["path"] = path
        raw = scope.get("raw_path") or path.encode()
        scope["raw_path"] = _DUPLICATE_SLASHES_RAW.sub(b"/", raw)
    return path
