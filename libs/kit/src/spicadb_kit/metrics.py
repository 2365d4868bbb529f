"""Prometheus metrics of a service: ``GET /metrics`` on its own port, in the text exposition format.

Every series carries a ``service`` label. What a scrape reads:

- ``spicadb_http_request_duration_seconds`` (histogram): each request, labelled by its route template
  (``/oifits/files/{file_id}``, not the raw path, so the series stay few; ``unmatched`` when no route
  answered), method and status class (``2xx``); measured by an ASGI middleware around the whole app;
- the relay's and each consumer's counters since the process started (events published, parked,
  applied, dead-lettered), read from their in-memory stats;
- gauges computed at scrape time: the outbox backlog (waiting, parked, the oldest waiting event's age),
  open dead letters and the server's pending count per durable consumer, the database pool (size, in
  use, max), and the service's own gauges (``ServiceSpec.gauges``: pushes, granules). The database and
  NATS parts are each bounded by ``SCRAPE_TIMEOUT``: a scrape never hangs on them, and
  ``spicadb_scrape_source_up{source}`` says 0 for a part that failed or timed out (its series are
  then absent from that scrape).

Each app has its own ``CollectorRegistry`` (several apps share one test process). ``/metrics`` is
anonymous on the service's own port; the gateway never forwards that path (a scraper reaches each
service directly, inside the platform's network) and answers its own only to an admin's token (its
port is the public entry).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast

from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    HTTPScope,
    Message,
    Receive,
    Scope,
    Send,
)
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .db import pool_statistics
from .logs import get_logger

if TYPE_CHECKING:
    from .context import ServiceContext

__all__ = [
    "KIT_SERIES",
    "METRICS_PATH",
    "REQUEST_SECONDS",
    "SCRAPE_TIMEOUT",
    "ServiceMetrics",
    "metrics_middleware",
    "status_class",
]

log = get_logger(__name__)

# no ``_created`` series beside each histogram (one more series per label set, used by no query here)
disable_created_metrics()  # type: ignore[no-untyped-call]

METRICS_PATH = "/metrics"
REQUEST_SECONDS = "spicadb_http_request_duration_seconds"
# seconds each scrape-time part (database, NATS) may take before it is left out of that scrape
SCRAPE_TIMEOUT = 2.0
# from a cached page (ms) to a large push or a TAP query (tens of seconds)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
_TIMED = "spicadb.timed"  # scope key: a middleware further out times this request already

# every series the kit exports, by name (the Grafana dashboard's check reads this, with the services'
# own ``ServiceSpec.gauges``); histograms and counters as exposed (``_bucket``, ``_total``)
KIT_SERIES = frozenset(
    {
        f"{REQUEST_SECONDS}_bucket",
        f"{REQUEST_SECONDS}_count",
        f"{REQUEST_SECONDS}_sum",
        "spicadb_relay_published_total",
        "spicadb_relay_parked_total",
        "spicadb_relay_failures_total",
        "spicadb_relay_leader",
        "spicadb_consumer_applied_total",
        "spicadb_consumer_duplicates_total",
        "spicadb_consumer_dead_lettered_total",
        "spicadb_db_pool_size",
        "spicadb_db_pool_in_use",
        "spicadb_db_pool_max",
        "spicadb_outbox_unpublished",
        "spicadb_outbox_parked",
        "spicadb_outbox_oldest_age_seconds",
        "spicadb_dead_letters_open",
        "spicadb_consumer_pending",
        "spicadb_consumer_ack_pending",
        "spicadb_scrape_source_up",
    }
)

_OUTBOX = """
SELECT count(*) FILTER (WHERE parked_at IS NULL) AS unpublished,
       count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked,
       coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE parked_at IS NULL)), 0)::float8 AS age
FROM outbox WHERE published_at IS NULL
"""
_DEAD_LETTERS = "SELECT consumer, count(*) AS n FROM dead_letter WHERE replayed_at IS NULL GROUP BY consumer"


def status_class(status: int) -> str:
    """``2xx``, ``4xx``...: the status label (bounded)."""
    return f"{status // 100}xx"


class ServiceMetrics:
    """One app's registry: the request histogram, and the collector that reads the service's context."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Histogram(
            REQUEST_SECONDS,
            "Time from a request's arrival to the end of its answer, by route template, method and status class.",
            ["service", "route", "method", "status"],
            registry=self.registry,
            buckets=BUCKETS,
        )
        self.scraped = _ScrapeCollector()
        self.registry.register(self.scraped)

    def observe(self, route: str | None, method: str, status: int, seconds: float) -> None:
        """Count one request."""
        self.requests.labels(
            self.service,
            route or UNMATCHED,
            method if method in _METHODS else "OTHER",
            status_class(status),
        ).observe(seconds)

    async def exposition(self, context: ServiceContext[Any, Any] | None) -> bytes:
        """The whole registry in the text format, the scrape-time series read first from ``context``
        (None before the app has started: the request series only)."""
        families = await _scrape(context) if context is not None else []
        self.scraped.families = families  # no await from here to the generation: one scrape's own
        return generate_latest(self.registry)


class _ScrapeCollector(Collector):
    """Hands the registry the families read for the scrape under way."""

    def __init__(self) -> None:
        self.families: list[Metric] = []

    def collect(self) -> Iterable[Metric]:
        return list(self.families)


def metrics_middleware(app: ASGIApp, metrics: ServiceMetrics, state: Any, *, serve: bool = True) -> ASGIApp:
    """Time every HTTP request of ``app`` and answer ``GET /metrics`` itself (``state``: the app's
    state, whose ``context`` exists once the lifespan has started). ``serve=False``: time only, the
    path left to ``app`` (the gateway, whose port is public, answers it to admins only). The route
    label is the scope's ``path_template``, which Litestar's router writes (the gateway writes its
    route's prefix for a request it forwards)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if str(scope["type"]) != "http":
            await app(scope, receive, send)
            return
        scope = cast("HTTPScope", scope)
        if scope["path"] == METRICS_PATH:
            if serve:
                await _answer(metrics, scope, send, getattr(state, "context", None))
            else:
                await app(scope, receive, send)
            return
        if _TIMED in scope:  # the gateway's own routes: timed once, by the gateway's middleware
            await app(scope, receive, send)
            return
        scope[_TIMED] = True  # type: ignore[literal-required]
        started = time.perf_counter()
        status = 500  # an app that raised before answering: the server answers 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, sending)
        finally:
            # the router writes the matched route's template into this same scope
            metrics.observe(
                scope.get("path_template"), scope["method"], status, time.perf_counter() - started
            )

    return middleware


async def _answer(
    metrics: ServiceMetrics, scope: HTTPScope, send: Send, context: ServiceContext[Any, Any] | None
) -> None:
    method = scope["method"]
    if method not in ("GET", "HEAD"):
        body, status, headers = b"GET or HEAD only\n", 405, [(b"allow", b"GET, HEAD")]
        content_type = b"text/plain; charset=utf-8"
    else:
        body, status, headers = await metrics.exposition(context), 200, []
        content_type = CONTENT_TYPE_LATEST.encode()
    headers += [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send(HTTPResponseStartEvent(type="http.response.start", status=status, headers=headers))
    await send(
        HTTPResponseBodyEvent(
            type="http.response.body", body=b"" if method == "HEAD" else body, more_body=False
        )
    )


# --- what a scrape reads from the service ------------------------------------------------------------


async def _scrape(context: ServiceContext[Any, Any]) -> list[Metric]:
    service = context.spec.name
    families = [*_counters(context), *_pool(context)]
    up = GaugeMetricFamily(
        "spicadb_scrape_source_up",
        "Whether this scrape could read a source (database, nats) within its timeout.",
        labels=["service", "source"],
    )
    for source, part in (("database", _database(context)), ("nats", _nats(context))):
        try:
            async with asyncio.timeout(SCRAPE_TIMEOUT):
                families.extend(await part)
            up.add_metric([service, source], 1)
        except Exception as exc:  # a timeout or a server away: the rest of the scrape still answers
            log.warning("metrics source failed", source=source, error=repr(exc))
            up.add_metric([service, source], 0)
    families.append(up)
    return families


def _counters(context: ServiceContext[Any, Any]) -> Iterator[Metric]:
    """The relay's and the consumers' counters since the process started."""
    service = context.spec.name
    stats = context.relay.stats
    for name, value, text in (
        ("published", stats.published, "Events the relay published to JetStream (acknowledged)."),
        ("parked", stats.parked, "Events the relay set aside as not publishable."),
        ("failures", stats.failures, "Relay rounds that failed."),
    ):
        family = CounterMetricFamily(f"spicadb_relay_{name}", text, labels=["service"])
        family.add_metric([service], value)
        yield family
    leader = GaugeMetricFamily(
        "spicadb_relay_leader", "1 when this process's relay leads (publishes)", labels=["service"]
    )
    leader.add_metric([service], int(stats.leader))
    yield leader
    for name, text in (
        ("applied", "Events a consumer applied."),
        ("duplicates", "Events a consumer had applied already (inbox)."),
        ("dead_lettered", "Events a consumer dead-lettered."),
    ):
        family = CounterMetricFamily(f"spicadb_consumer_{name}", text, labels=["service", "durable"])
        for runner in context.runners:
            family.add_metric([service, runner.name], getattr(runner.stats, name))
        yield family


def _pool(context: ServiceContext[Any, Any]) -> Iterator[Metric]:
    service = context.spec.name
    stats = pool_statistics(context.pool)
    for name, value, text in (
        ("size", stats["size"], "Connections the pool holds."),
        ("in_use", stats["size"] - stats["idle"], "Connections lent out."),
        ("max", stats["max"], "The pool's largest size."),
    ):
        family = GaugeMetricFamily(f"spicadb_db_pool_{name}", text, labels=["service"])
        family.add_metric([service], value)
        yield family


async def _database(context: ServiceContext[Any, Any]) -> list[Metric]:
    """The outbox backlog, open dead letters and the service's own gauges: one connection, in turn."""
    service = context.spec.name
    async with context.pool.acquire() as conn:
        outbox = await conn.fetchrow(_OUTBOX)
        dead = {row["consumer"]: row["n"] for row in await conn.fetch(_DEAD_LETTERS)}
        own = [(gauge, await conn.fetch(gauge.query)) for gauge in context.spec.gauges]
    assert outbox is not None
    families: list[Metric] = []
    for name, value, text in (
        ("unpublished", outbox["unpublished"], "Events waiting for the relay."),
        ("parked", outbox["parked"], "Events the relay set aside, waiting for an operator."),
        ("oldest_age_seconds", outbox["age"], "Age of the oldest event waiting for the relay (0: none)."),
    ):
        family = GaugeMetricFamily(f"spicadb_outbox_{name}", text, labels=["service"])
        family.add_metric([service], value)
        families.append(family)
    letters = GaugeMetricFamily(
        "spicadb_dead_letters_open",
        "Dead letters not replayed yet, per consumer.",
        labels=["service", "durable"],
    )
    for durable in sorted({*dead, *(runner.name for runner in context.runners)}):
        letters.add_metric([service, durable], dead.get(durable, 0))
    families.append(letters)
    for gauge, rows in own:
        family = GaugeMetricFamily(gauge.name, gauge.help, labels=["service", *gauge.labels])
        for row in rows:
            family.add_metric([service, *(str(v) for v in row[:-1])], float(row[-1] or 0))
        families.append(family)
    return families


async def _nats(context: ServiceContext[Any, Any]) -> list[Metric]:
    """What the server holds for each durable consumer (pending, awaiting acknowledgement)."""
    service = context.spec.name
    lags = await asyncio.gather(*(runner.lag() for runner in context.runners))
    families: list[Metric] = []
    for key, text in (
        ("pending", "Events the server holds for the durable consumer, not delivered yet."),
        ("ack_pending", "Events delivered to the durable consumer, not acknowledged yet."),
    ):
        family = GaugeMetricFamily(f"spicadb_consumer_{key}", text, labels=["service", "durable"])
        for runner, lag in zip(context.runners, lags, strict=True):
            family.add_metric([service, runner.name], lag[key])
        families.append(family)
    return families
