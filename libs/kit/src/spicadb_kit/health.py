"""Health routes every component answers: ``/health/live`` and ``/health/ready``.

Readiness says why not (ObsPortal-style detail): version, start time, schema version,
pool statistics, NATS connection, outbox backlog, consumer lag and dead letters, and the service's own
checks (``ServiceContext.readiness_checks``: the oifits store's free space). An event
waiting for the relay longer than ``relay_stuck_seconds`` makes the service not ready, with the
event named. A parked event (one the relay set aside because NATS will not take it) is a warning:
the events after it flow, so the service stays ready (one bad event must not take every replica
out of its load balancer), and the warning names it until an operator retries or discards it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from litestar import Request, get
from litestar.response import Response

from .context import ReadinessCheck, ServiceContext
from .db import pool_statistics
from .events import ConsumerRunner

__all__ = ["bounded", "live", "readiness", "ready"]

T = TypeVar("T")
# seconds each source of the report may take (the database's figures, each consumer's lag and waits, a
# service's own check)
PATIENCE = 2.0


@get("/health/live", opt={"anonymous": True}, include_in_schema=False, sync_to_thread=False)
def live() -> dict[str, str]:
    """Liveness: the process answers (nothing else is checked, so a restart is never caused by a
    dependency)."""
    return {"status": "alive"}


@get("/health/ready", opt={"anonymous": True}, include_in_schema=False)
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Readiness: 200 when the service can do its work, 503 with the report saying why not."""
    context: ServiceContext[Any, Any] = request.app.state.context
    report = await readiness(context)
    return Response(report, status_code=200 if report["status"] == "ready" else 503)


async def readiness(context: ServiceContext[Any, Any]) -> dict[str, Any]:
    """The readiness report of a service: its database, NATS, outbox, consumers and dead letters, with the
    problems that make it not ready and the warnings that do not."""
    connected = context.bus.connected
    nats = {"connected": connected, "url": context.bus.url, "reconnects": context.bus.reconnects}
    # the sources are asked at once (each bounded by PATIENCE: the report takes about that at worst), each
    # noting its problems and warnings in lists of its own, joined in a fixed order
    names = list(context.readiness_checks)
    notes: list[tuple[list[str], list[str]]] = [([], []) for _ in range(len(names) + 2)]
    database, consumers, *own_details = await asyncio.gather(
        _database(context, *notes[0]),
        _consumers(context, notes[1][0]) if connected else _no_consumers(),
        *(_own(name, context.readiness_checks[name], *notes[2 + i]) for i, name in enumerate(names)),
    )
    if not connected:
        notes[1][0].insert(0, "nats: not connected")
    problems = [problem for found, _ in notes for problem in found]
    warnings = [warning for _, found in notes for warning in found]
    own = dict(zip(names, own_details, strict=True))
    return {
        "status": "ready" if not problems else "not ready",
        "problems": problems,
        "warnings": warnings,
        "service": context.spec.name,
        "version": context.version,
        "started_at": context.started_at.isoformat(),
        "schema_version": context.schema_version,
        "database": database,
        "nats": nats,
        "outbox": database.pop("outbox", None),
        "consumers": consumers,
        "dead_letters": database.pop("dead_letters", None),
        **own,
    }


async def _own(name: str, check: ReadinessCheck, problems: list[str], warnings: list[str]) -> dict[str, Any]:
    """A service's own check (its file store, say), bounded like the database's part."""
    try:
        details: dict[str, Any] = await bounded(check(problems, warnings))
    except Exception as exc:
        problems.append(f"{name}: {exc.__class__.__name__}: {exc}")
        return {"error": repr(exc)}
    return details


async def bounded(work: Coroutine[Any, Any, T], seconds: float = PATIENCE) -> T:
    """``work``'s result within ``seconds``, else TimeoutError without waiting for it to end: a query
    cancelled across a silent partition stays in asyncpg's cleanup (its cancel request crosses the same
    link) for as long as the connect timeout, and readiness must answer now. It ends in the background."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.wait_for(asyncio.shield(task), seconds)
    except TimeoutError:
        task.cancel()
        task.add_done_callback(_forget)
        raise


def _forget(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: the report said it already


async def _figures(context: ServiceContext[Any, Any]) -> tuple[dict[str, Any], list[Any]]:
    backlog = await context.relay.backlog()
    dead = await context.pool.fetch(
        "SELECT consumer, count(*) AS n FROM dead_letter WHERE replayed_at IS NULL GROUP BY consumer"
    )
    return backlog, list(dead)


async def _database(
    context: ServiceContext[Any, Any], problems: list[str], warnings: list[str]
) -> dict[str, Any]:
    report: dict[str, Any] = {"pool": pool_statistics(context.pool)}
    try:
        backlog, dead = await bounded(_figures(context))
    except TimeoutError:
        problems.append(f"database: no answer within {PATIENCE:g} s")
        report["reachable"] = False
        return report
    except Exception as exc:
        problems.append(f"database: {exc.__class__.__name__}: {exc}")
        report["reachable"] = False
        return report
    report["reachable"] = True
    stats = context.relay.stats
    report["outbox"] = {
        **backlog,
        "relay_leader": stats.leader,
        "published": stats.published,
        "last_error": stats.last_error,
    }
    problems.extend(_stuck_relay(context, backlog))
    warnings.extend(_parked_events(context, backlog))
    report["dead_letters"] = {row["consumer"]: row["n"] for row in dead}
    return report


def _stuck_relay(context: ServiceContext[Any, Any], backlog: dict[str, Any]) -> list[str]:
    """A relay that does not move: nothing reaches the consumers."""
    problems = []
    stuck = context.settings.relay_stuck_seconds
    age = backlog.get("oldest_age_seconds")
    if age is not None and age > stuck:
        why = backlog.get("oldest_error") or context.relay.stats.last_error or "the relay is not publishing"
        problems.append(
            f"outbox: {_event(backlog['oldest_event'])} has waited {age:.0f} s for the relay"
            f" (over {stuck:g} s; {backlog['unpublished']} waiting): {why}"
        )
    return problems


def _parked_events(context: ServiceContext[Any, Any], backlog: dict[str, Any]) -> list[str]:
    """Events the relay set aside: the others flow, but these reach no consumer until handled."""
    if not backlog.get("parked"):
        return []
    first = backlog["first_parked"]
    return [
        (
            f"outbox: {backlog['parked']} event(s) parked, not publishable, first {_event(first)}:"
            f" {first['reason']} (see `spicadb outbox list --service {context.spec.name}`)"
        )
    ]


def _event(event: dict[str, Any]) -> str:
    return f"{event['event_type']} of {event['aggregate_id']} v{event['aggregate_version']} (outbox id {event['id']})"


async def _no_consumers() -> dict[str, Any]:
    return {}


async def _consumers(context: ServiceContext[Any, Any], problems: list[str]) -> dict[str, Any]:
    """Each consumer's counters, lag (from NATS) and early events (from the database), all asked at once
    and each bounded: across a silent partition neither server answers nor fails, and readiness must
    still answer. NATS not answering for a consumer within the patience makes the service not ready (its
    connection may still look up for minutes)."""
    entries = await asyncio.gather(*(_consumer(runner) for runner in context.runners))
    for runner, entry in zip(context.runners, entries, strict=True):
        if entry.pop("unanswered", False):
            problems.append(f"nats: consumer {runner.name}: no answer within {PATIENCE:g} s")
    return {runner.name: entry for runner, entry in zip(context.runners, entries, strict=True)}


async def _consumer(runner: ConsumerRunner) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "applied": runner.stats.applied,
        "duplicates": runner.stats.duplicates,
        "dead_lettered": runner.stats.dead_lettered,
    }
    found: list[dict[str, Any] | BaseException] = await asyncio.gather(
        bounded(runner.lag()),
        bounded(runner.waiting()),  # early events waiting for a missing predecessor
        return_exceptions=True,
    )
    lag, waiting = found
    if isinstance(lag, BaseException):
        entry["lag_error"] = repr(lag)
        # NATS silent (its connection may look up for minutes): not ready; other errors are only shown
        entry["unanswered"] = isinstance(lag, TimeoutError)
    else:
        entry.update(lag)
    if isinstance(waiting, BaseException):
        entry["waiting_error"] = repr(waiting)
    else:
        entry.update(waiting)
    return entry
