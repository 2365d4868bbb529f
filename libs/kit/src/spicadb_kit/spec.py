"""What a service declares about itself, so that the runtime, the deployment checks and the
provisioning step all read one description: name, app factory, port, migrations, streams, consumers.

A service package exposes its :class:`ServiceSpec` through the ``spicadb.services`` entry point.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import import_module
from importlib.metadata import entry_points

from .problems import Catalogue
from .published import PublishedTable
from .settings import ServiceSettings

__all__ = [
    "ConsumerDecl",
    "GatewayRoute",
    "Ordering",
    "ScrapeGauge",
    "ServiceSpec",
    "StreamDecl",
    "discover_services",
    "load_spec",
]


@dataclass(frozen=True)
class StreamDecl:
    """A JetStream stream: one per producing service, holding every event it publishes."""

    name: str
    subjects: tuple[str, ...]
    # how long events stay replayable for new consumers and backfills
    max_age_seconds: float = 30 * 24 * 3600
    duplicate_window_seconds: float = 120
    replicas: int = 1

    @classmethod
    def for_producer(cls, producer: str, **kwargs: object) -> StreamDecl:
        """The stream of a producing service: ``SPICADB_<NAME>`` holding its subjects
        ``spicadb.<name>.>``."""
        return cls(name=f"SPICADB_{producer.upper()}", subjects=(f"spicadb.{producer}.>",), **kwargs)  # type: ignore[arg-type]


class Ordering(StrEnum):
    """How a consumer orders the events of one aggregate (one version counter per aggregate)."""

    # every event of each aggregate it receives, in version order: an event whose predecessor is
    # missing waits for it (then is dead-lettered). The filter must take every event type of those
    # aggregates, or the consumer would wait for versions it never receives (checked at startup).
    STRICT = "strict"
    # a subset of an aggregate's events (a copy of its newest state): a newer version is applied
    # across gaps, an older one arriving late is skipped
    LATEST = "latest"
    # no order: each event stands alone (a token revocation)
    NONE = "none"


@dataclass(frozen=True)
class ConsumerDecl:
    """A durable pull consumer, provisioned ahead of time (nats.py never updates an existing one)."""

    durable: str
    stream: str
    filter_subjects: tuple[str, ...]
    # deliveries before an event goes to the dead-letter table (counted by the runner, see events/runner.py)
    max_deliver: int = 5
    backoff_seconds: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0)
    ack_wait_seconds: float = 30.0
    # how long an event may wait for a missing predecessor of its aggregate before it is dead-lettered,
    # counted from when this consumer first saw it (strict ordering only)
    gap_patience_seconds: float = 300.0
    max_ack_pending: int = 2000
    # "all": a new consumer is backfilled from the start of the stream
    deliver_policy: str = "all"
    ordering: Ordering = Ordering.STRICT


@dataclass(frozen=True)
class GatewayRoute:
    """One line of the gateway's route policy: a path prefix and methods -> this service, with the
    scopes a caller needs. ``anonymous`` routes (health, discovery, JWKS, public VO endpoints) need none."""

    prefix: str
    methods: tuple[str, ...] = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
    scopes: tuple[str, ...] = ()
    anonymous: bool = False
    # request bodies above this are refused with 413 before reaching the service
    max_body_bytes: int = 1024 * 1024

    def __post_init__(self) -> None:
        if not self.prefix.startswith("/"):
            raise ValueError(f"route prefix {self.prefix!r} must start with /")
        if not self.anonymous and not self.scopes:
            raise ValueError(f"route {self.prefix} needs scopes or anonymous=True")


@dataclass(frozen=True)
class ScrapeGauge:
    """A gauge of the service's domain, computed from its database when ``/metrics`` is scraped
    (spicadb_kit.metrics): ``query`` returns one row per series, the values of ``labels`` in order
    and then the value. Keep it cheap (a count on an indexed column): a scrape waits for it."""

    name: str
    help: str
    query: str
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceSpec:
    """What a service declares about itself (name, app factory, port, migrations, streams, consumers,
    gateway routes), read by the runtime, the provisioning and the gateway."""

    name: str
    # "package.module:factory" returning a Litestar app
    app: str
    default_port: int
    settings: type[ServiceSettings] = ServiceSettings
    # package holding NNNN_name.sql migration files, applied in the service's own schema
    migrations: str | None = None
    streams: tuple[StreamDecl, ...] = ()
    consumers: tuple[ConsumerDecl, ...] = ()
    # shared parts of the kit with tables of their own in the service's schema: (component, migrations
    # package), e.g. spicadb_kit.rights.COMPONENT
    kit_components: tuple[tuple[str, str], ...] = ()
    # PostgreSQL extensions the service needs (created by the admin, in schema public)
    extensions: tuple[str, ...] = ()
    # URL prefixes this service answers at the gateway
    gateway_prefixes: tuple[str, ...] = ()
    # the gateway's route policy for this service, most specific prefix first
    routes: tuple[GatewayRoute, ...] = ()
    # where the kit's operator routes answer (dead letters and their replay, the health report; admin
    # scope only): None for the first gateway prefix followed by ``admin/`` (``/nightlogs/admin/``). A
    # service whose first prefix is no place for them names its own (auth, the gateway, the console).
    admin_prefix: str | None = None
    description: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)
    # every problem type the service answers (its ``problems.CATALOGUE``, the kit's included), listed in
    # its OpenAPI document; None: not catalogued yet, the document says only that ``type`` is a URI
    problems: Catalogue | None = None
    # tables it offers to readers outside it (the TAP service), created as views by its migrations in
    # the ADQL schemas they name (spicadb_kit.published)
    published: tuple[PublishedTable, ...] = ()
    # whether it reads the published tables (its role may take spicadb_kit.published.READER_ROLE)
    reads_published: bool = False
    # gauges of its domain at /metrics (pushes, granules), beside the kit's own series
    gauges: tuple[ScrapeGauge, ...] = ()

    @property
    def admin_path(self) -> str:
        """The path of the kit's operator routes, without a final slash (``/nightlogs/admin``)."""
        first = self.gateway_prefixes[0] if self.gateway_prefixes else "/"
        return (self.admin_prefix or f"{first.rstrip('/')}/admin/").rstrip("/")

    @property
    def gateway_routes(self) -> tuple[GatewayRoute, ...]:
        """The gateway's route policy for this service: its declared routes and, unless it declares one
        for that prefix itself, the kit's operator routes (admin scope; only for a service placed at the
        gateway by its prefixes)."""
        if not self.gateway_prefixes or any(
            route.prefix.rstrip("/") == self.admin_path for route in self.routes
        ):
            return self.routes
        operator = GatewayRoute(f"{self.admin_path}/", methods=("GET", "HEAD", "POST"), scopes=("admin",))
        return (operator, *self.routes)

    @property
    def schema(self) -> str:
        """The service's PostgreSQL schema (its name, with underscores)."""
        return self.name.replace("-", "_")

    @property
    def role(self) -> str:
        """The PostgreSQL role the service connects as, owner of its schema."""
        return f"spicadb_{self.schema}"

    @property
    def port_variable(self) -> str:
        """The environment variable that overrides the service's port."""
        return f"SPICADB_{self.schema.upper()}_PORT"


def load_spec(reference: str) -> ServiceSpec:
    """``package.module:NAME`` -> the ServiceSpec it names."""
    module_name, _, attribute = reference.partition(":")
    spec = getattr(import_module(module_name), attribute or "SPEC")
    if not isinstance(spec, ServiceSpec):
        raise TypeError(f"{reference} is not a ServiceSpec")
    return spec


def discover_services() -> Iterator[ServiceSpec]:
    """Every installed service (entry points ``spicadb.services``), plus the specs named in
    ``SPICADB_SERVICES`` (comma-separated ``module:attribute``: a service under development), by name."""
    specs = [ep.load() for ep in entry_points(group="spicadb.services")]
    extra = os.environ.get("SPICADB_SERVICES", "")
    specs += [load_spec(ref.strip()) for ref in extra.split(",") if ref.strip()]
    for spec in sorted(specs, key=lambda s: s.name):
        if not isinstance(spec, ServiceSpec):
            raise TypeError(f"entry point spicadb.services {spec!r} is not a ServiceSpec")
        yield spec
