"""The route policy: path prefix and method -> the service answering, the scopes a caller needs and the
largest body accepted. Built once at startup from every service's declared ``GatewayRoute``s.

Prefixes match whole path segments (``/pings`` matches ``/pings`` and ``/pings/7``, not ``/pingsx``);
the longest matching prefix wins; among the routes declared for that prefix, the one allowing the
method applies, and when none does the answer is 405 with the methods that would be allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from spicadb_kit.logs import get_logger
from spicadb_kit.spec import ServiceSpec

log = get_logger(__name__)

LOCAL = "gateway"


class PolicyError(ValueError):
    """Two services claim the same prefix and method."""


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where one service answers: ``http://host:port[/base]``."""

    name: str
    url: str
    scheme: bytes
    host: bytes
    port: int
    # sent as Host when the client sent none (HTTP/1.0)
    authority: bytes
    base_path: bytes

    @classmethod
    def parse(cls, name: str, url: str) -> Upstream:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PolicyError(f"upstream {name}: {url!r} is not an http(s) URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(
            name=name,
            url=url.rstrip("/"),
            scheme=parts.scheme.encode(),
            host=parts.hostname.encode(),
            port=port,
            authority=(parts.netloc or parts.hostname).encode(),
            base_path=parts.path.rstrip("/").encode(),
        )


@dataclass(frozen=True, slots=True)
class Route:
    service: str
    prefix: str
    methods: frozenset[str]
    scopes: tuple[str, ...]
    anonymous: bool
    max_body_bytes: int
    # None: answered by the gateway itself, or a service without a configured upstream (see ``local``)
    upstream: Upstream | None

    @property
    def local(self) -> bool:
        return self.service == LOCAL


@dataclass(frozen=True, slots=True)
class NotAllowed:
    """The path is routed, but not for this method."""

    allowed: tuple[str, ...]


def _normalise(prefix: str) -> str:
    return prefix.rstrip("/") or "/"


class RoutePolicy:
    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = list(routes)
        self._by_prefix: dict[str, list[Route]] = {}
        for route in self.routes:
            same = self._by_prefix.setdefault(route.prefix, [])
            for other in same:
                overlap = other.methods & route.methods
                if overlap and other.service != route.service:
                    raise PolicyError(
                        f"{route.prefix} {sorted(overlap)} is claimed by {other.service} and {route.service}"
                    )
            same.append(route)

    @classmethod
    def from_specs(cls, specs: Iterable[ServiceSpec], upstreams: Mapping[str, str]) -> RoutePolicy:
        parsed = {name: Upstream.parse(name, url) for name, url in upstreams.items()}
        routes = []
        for spec in specs:
            upstream = parsed.get(spec.name)
            if spec.routes and upstream is None and spec.name != LOCAL:
                log.warning("service has routes but no upstream (SPICADB_UPSTREAMS)", service=spec.name)
            for declared in spec.gateway_routes:  # with the kit's operator routes
                methods = {m.upper() for m in declared.methods}
                if "GET" in methods:
                    methods.add("HEAD")
                routes.append(
                    Route(
                        service=spec.name,
                        prefix=_normalise(declared.prefix),
                        methods=frozenset(methods),
                        scopes=tuple(declared.scopes),
                        anonymous=declared.anonymous,
                        max_body_bytes=declared.max_body_bytes,
                        upstream=upstream,
                    )
                )
        unknown = set(parsed) - {spec.name for spec in specs}
        if unknown:
            log.warning("upstreams without a service spec (ignored)", upstreams=sorted(unknown))
        return cls(routes)

    def candidates(self, path: str) -> list[Route] | None:
        """The routes of the longest prefix matching ``path``, or None."""
        by_prefix = self._by_prefix
        candidate = path.rstrip("/") or "/"
        while True:
            routes = by_prefix.get(candidate)
            if routes is not None:
                return routes
            if candidate == "/":
                return None
            cut = candidate.rfind("/")
            candidate = candidate[:cut] if cut > 0 else "/"

    def resolve(self, path: str, method: str) -> Route | NotAllowed | None:
        routes = self.candidates(path)
        if routes is None:
            return None
        for route in routes:
            if method in route.methods:
                return route
        return NotAllowed(tuple(sorted({m for r in routes for m in r.methods})))

    def services(self) -> dict[str, Upstream]:
        """Every routed service that has an upstream, by name."""
        return {r.service: r.upstream for r in self.routes if r.upstream is not None and not r.local}
