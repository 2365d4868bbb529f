"""Run one installed service under uvicorn, configured from SPICADB_* variables.

Every service's HTTP server holds its clients to the same limits (``HttpLimits``, ``SPICADB_HTTP_*``),
which uvicorn alone does not: it has a keep-alive timeout, but no deadline for a request's head (a
client sending one byte every 10 s was kept for ever, and 4,000 of them at once) and none for a body
that stops arriving. ``guarded_protocol`` adds them to uvicorn's own HTTP protocol class:

- the request line and headers must be complete within ``http_header_timeout`` of the connection's
  opening or of the first byte after the previous answer (408, then closed); this also bounds how long
  the rest of a body is swallowed after an early answer (a 413 from the Content-Length);
- while a request body is arriving (and the app is reading it), each ``http_body_timeout`` window must
  bring at least ``http_body_min_rate`` bytes per second, else the connection is closed (the app sees
  the client leave: a slow push no longer holds the gateway's upstream connection);
- at most ``http_max_connections_per_client`` connections per client address (503 beyond), except from
  trusted proxies (``SPICADB_FORWARDED_ALLOW_IPS``), which carry many clients each;
- a request line and headers of more than ``MAX_HEAD_BYTES`` (64 KiB) are the client's 400, a problem
  document (httptools refuses a URL of more than 64 KiB with uvicorn's plain "Invalid HTTP request
  received."), then closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import sys
import time
from typing import Any

import uvicorn

from ..problems import BAD_REQUEST
from ..settings import BaseSettings, ServiceSettings, SettingsError
from ..spec import ServiceSpec, discover_services

__all__ = [
    "KEEP_ALIVE_SECONDS",
    "HttpLimits",
    "IPNetwork",
    "TrustedProxies",
    "UnknownService",
    "base_protocol",
    "find_service",
    "guarded_protocol",
    "serve",
    "server_config",
]

# Longer than the 60 s idle timeout of common ingress controllers, so the proxy closes idle
# connections first and never sends a request on a connection uvicorn is closing.
KEEP_ALIVE_SECONDS = 61

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class HttpLimits(BaseSettings, frozen=True):  # type: ignore[misc, call-arg]  # mypy: namespace package
    """How long and how many connections one client may hold (``SPICADB_HTTP_*``, every service)."""

    # request line and headers: from the connection's opening, or from the first byte of the next request
    http_header_timeout: float = 10.0
    # a request body must bring http_body_min_rate bytes/s over each window of this many seconds
    http_body_timeout: float = 30.0
    http_body_min_rate: float = 512.0
    # idle keep-alive connections are closed after this many seconds
    http_keep_alive: int = KEEP_ALIVE_SECONDS
    # connections one address may hold at once (trusted proxies excepted); 0: no cap
    http_max_connections_per_client: int = 256


class TrustedProxies:
    """Addresses and networks (``"10.0.0.0/8,127.0.0.1"``; ``*`` for any) whose forwarded headers are
    believed: the proxies in front of a server."""

    def __init__(self, setting: str) -> None:
        entries = [e.strip() for e in setting.split(",") if e.strip()]
        self.any = "*" in entries
        self.networks: list[IPNetwork] = []
        for entry in entries:
            if entry == "*":
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError as exc:
                raise SettingsError(
                    f"SPICADB_FORWARDED_ALLOW_IPS: {entry!r} is no IP address or network"
                ) from exc

    @property
    def empty(self) -> bool:
        """Whether no proxy is trusted (forwarded headers are then ignored)."""
        return not self.any and not self.networks

    def trusts(self, host: str | None) -> bool:
        """Whether a peer address is a trusted proxy, whose forwarded headers are believed."""
        if self.any:
            return True
        if not host or not self.networks:
            return False
        address = _address(host)
        return address is not None and any(address in network for network in self.networks)

    def client(self, peer: str | None, forwarded_for: bytes | None) -> str:
        """The client's address: the peer, or, when the peer is a trusted proxy, the right-most
        ``X-Forwarded-For`` hop that is no trusted proxy (hops a client wrote itself are never read);
        a hop's port is left out, a hop that is no address is kept as written, shortened."""
        if not peer:
            return "unknown"
        if forwarded_for is None or not self.trusts(peer):
            return peer
        hops = [h.strip() for h in forwarded_for.decode("latin-1").split(",") if h.strip()]
        for hop in reversed(hops):
            if not self.trusts(hop):
                return _hop(hop)
        return _hop(hops[0]) if hops else peer


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as proxies write it: ``v4``, ``v4:port``, ``v6``, ``[v6]:port``."""
    host = text.strip()
    if host.startswith("[") and "]" in host:
        host = host[1 : host.index("]")]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _hop(text: str) -> str:
    address = _address(text)
    return str(address) if address is not None else text[:64]


_TOO_MANY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\nretry-after: 5\r\n"
    b"connection: close\r\ncontent-length: 39\r\n\r\ntoo many connections from this address\n"
)
_HEAD_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
    b"content-length: 37\r\n\r\nthe request head did not come in time"
)

# a request head longer than this is refused before the HTTP parser reads past it
MAX_HEAD_BYTES = 64 * 1024
_HEAD_END = b"\r\n\r\n"


def _head_too_large() -> bytes:
    body = json.dumps(
        {
            "type": BAD_REQUEST.uri,
            "title": BAD_REQUEST.title,
            "status": 400,
            "detail": "the request line and headers are longer than 64 KiB",
        }
    ).encode()
    head = (
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\nconnection: close\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


_HEAD_TOO_LARGE = _head_too_large()


def guarded_protocol(
    base: type[asyncio.Protocol], limits: HttpLimits, proxies: TrustedProxies
) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol class ``base`` (httptools or h11) with the limits above. It relies only on
    what both keep: ``transport``, ``cycle`` (the request in progress, set when its head is complete,
    with ``more_body`` and ``response_complete``) and ``flow.read_paused``."""
    per_client: dict[str, int] = {}
    header_timeout = limits.http_header_timeout
    window = limits.http_body_timeout
    tick = max(0.05, min(header_timeout, window) / 4)

    class Guarded(base):  # type: ignore[misc, valid-type]
        _peer: str | None = None
        _timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            now = time.monotonic()
            self._seen_cycle: Any = None
            self._head_since: float | None = now  # a new connection owes a head at once
            self._received = 0
            self._window_start = now
            self._window_mark = 0
            self._head_after: Any = None  # the request the head being read follows (None: the first)
            self._head_bytes = 0
            self._head_tail = b""
            peername = transport.get_extra_info("peername")
            peer = peername[0] if isinstance(peername, tuple) and peername else None
            cap = limits.http_max_connections_per_client
            if peer is not None and cap > 0 and not proxies.trusts(peer):
                if per_client.get(peer, 0) >= cap:
                    transport.write(_TOO_MANY)
                    transport.close()
                    return
                per_client[peer] = per_client.get(peer, 0) + 1
                self._peer = peer
            self._timer = asyncio.get_running_loop().call_later(tick, self._check)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            peer, self._peer = self._peer, None
            if peer is not None:
                left = per_client.get(peer, 1) - 1
                if left > 0:
                    per_client[peer] = left
                else:
                    per_client.pop(peer, None)
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            self._received += len(data)
            cycle = self.cycle
            if self._head_since is None and (cycle is None or cycle.response_complete):
                self._head_since = time.monotonic()  # the next request's head begins
            # between requests (the previous one answered and its body read): these bytes are a head
            if (cycle is None or (cycle.response_complete and not cycle.more_body)) and self._too_long(
                cycle, data
            ):
                self.transport.write(_HEAD_TOO_LARGE)
                self.transport.close()
                return
            super().data_received(data)

        def _too_long(self, cycle: Any, data: bytes) -> bool:
            """Whether the head being read, with ``data``, ends past MAX_HEAD_BYTES (or not at all)."""
            if cycle is not self._head_after:  # the head of another request begins
                self._head_after, self._head_bytes, self._head_tail = cycle, 0, b""
            if self._head_bytes < 0:  # this head is complete: what follows is its body
                return False
            seen = self._head_tail + data
            end = seen.find(_HEAD_END)
            if end >= 0:
                length = self._head_bytes - len(self._head_tail) + end + len(_HEAD_END)
                self._head_bytes = -1
                return length > MAX_HEAD_BYTES
            self._head_bytes += len(data)
            self._head_tail = seen[-(len(_HEAD_END) - 1) :]
            return self._head_bytes > MAX_HEAD_BYTES

        def _check(self) -> None:
            self._timer = None
            transport = self.transport
            if transport is None or transport.is_closing():
                return
            now = time.monotonic()
            cycle = self.cycle
            if cycle is not None and cycle is not self._seen_cycle:  # a new request's head came in
                self._seen_cycle = cycle
                self._head_since = None
                self._window_start, self._window_mark = now, self._received
            if self._head_since is not None and cycle is not None and not cycle.response_complete:
                self._head_since = None  # bytes of a head that has since completed
            if self._head_since is not None:
                if now - self._head_since > header_timeout:
                    if cycle is None or cycle.response_complete:
                        transport.write(_HEAD_TIMEOUT)
                    transport.close()
                    return
            elif cycle is not None and not cycle.response_complete and cycle.more_body:
                # the app is not reading (or has not asked for the body of an Expect: 100-continue yet):
                # not the client's fault
                if self.flow.read_paused or getattr(cycle, "expect_100_continue", False):
                    self._window_start, self._window_mark = now, self._received
                elif now - self._window_start >= window:
                    if self._received - self._window_mark < limits.http_body_min_rate * window:
                        transport.close()  # the app's receive() answers http.disconnect
                        return
                    self._window_start, self._window_mark = now, self._received
            self._timer = asyncio.get_running_loop().call_later(tick, self._check)

    Guarded.__name__ = Guarded.__qualname__ = f"Guarded{base.__name__}"
    return Guarded


def base_protocol() -> type[asyncio.Protocol]:
    """The HTTP protocol class uvicorn's "auto" picks: httptools when installed, else h11."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return H11Protocol
    return HttpToolsProtocol


def server_config(
    app: Any, settings: ServiceSettings, limits: HttpLimits | None = None, **options: Any
) -> uvicorn.Config:
    """uvicorn's configuration for a service: its host and port, the limits above, and X-Forwarded-*
    believed from ``settings.forwarded_allow_ips`` only (none when empty)."""
    limits = limits or HttpLimits.from_env()
    proxies = TrustedProxies(settings.forwarded_allow_ips)
    values: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "http": guarded_protocol(base_protocol(), limits, proxies),
        "timeout_keep_alive": limits.http_keep_alive,
        "log_config": None,  # the app configures structured logging itself
        "proxy_headers": not proxies.empty,
        "forwarded_allow_ips": settings.forwarded_allow_ips if not proxies.empty else None,
        **options,
    }
    return uvicorn.Config(app, **values)


class UnknownService(LookupError):
    """No installed service has the name asked for."""

    pass


def find_service(name: str | None) -> ServiceSpec:
    """The installed service of that name (the only one when no name is given and one is installed)."""
    specs = {spec.name: spec for spec in discover_services()}
    installed = ", ".join(specs) or "none"
    if name is None and len(specs) == 1:
        return next(iter(specs.values()))
    if name is None or name not in specs:
        raise UnknownService(f"no installed service {name!r} (installed: {installed})")
    return specs[name]


def serve(name: str | None) -> None:
    """Run one service's app under uvicorn until interrupted; exit 3 when it could not start."""
    spec = find_service(name)
    settings = spec.settings.from_env()
    server = uvicorn.Server(server_config(spec.app, settings, factory=True))
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE
