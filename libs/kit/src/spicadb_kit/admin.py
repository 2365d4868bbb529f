"""The operator routes every service answers under its ``ServiceSpec.admin_path`` (admin scope): its dead
letters (a keyset listing, and the replay of one), and its readiness report's details, so that an
operator reaches them through the gateway (the web console's platform health) and not only with
``spicadb deadletters`` on a machine that sees the database, or each service's own ``/health/ready``.

A replay goes the CLI's way (:func:`~spicadb_kit.events.request_replay` marks the letter) and is then
applied at once by this process's runner of its consumer, with the rules of every replay: each
aggregate's letters in version order, a letter held back while an earlier one of its aggregate is open.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from .auth import requires
from .context import ServiceContext
from .events import ConsumerRunner, request_replay
from .health import readiness
from .pagination import DEFAULT_LIMIT, LINK_HEADER, Cursor, CursorParameter, Int8, Limit, Page, paged
from .problems import CONFLICT, NOT_FOUND
from .spec import ServiceSpec
from .sql import Where

__all__ = [
    "DeadLetterOut",
    "DeadLetterPage",
    "HealthReport",
    "ReplayOutcome",
    "operator_router",
]

# how long a replay waits for another replica's runner holding the consumer's replay turn
REPLAY_WAIT_SECONDS = 5.0
CONSUMER_LENGTH = 200


class DeadLetterOut(msgspec.Struct):
    """An event a consumer gave up on: what it was, why, and whether it has been replayed since."""

    id: int
    consumer: str
    subject: str
    # None: the message could not be decoded as an event
    event_type: str | None
    event_id: UUID | None
    aggregate_type: str | None
    aggregate_id: str | None
    aggregate_version: int | None
    # deliveries before it was set aside
    attempts: int
    error: str
    failed_at: datetime
    replayed: bool
    replayed_at: datetime | None
    replay_requested_at: datetime | None
    # why the last replay did not apply it
    replay_error: str | None


class DeadLetterPage(Page[DeadLetterOut]):  # type: ignore[misc]  # mypy sees the kit as top-level modules
    """Dead letters, newest first."""

    items: list[DeadLetterOut]


class DeadLetterKey(Cursor, frozen=True):  # type: ignore[misc,call-arg]
    id: Int8


class ReplayOutcome(msgspec.Struct):
    """What a replay did: ``replayed`` (applied, or found applied already), ``not replayed`` (it failed
    again, or an earlier letter of its aggregate is still open: ``detail`` says which), ``queued``
    (another replica's runner has the consumer's turn and applies it shortly)."""

    outcome: Literal["replayed", "not replayed", "queued"]
    detail: str | None
    letter: DeadLetterOut


class DatabaseHealth(msgspec.Struct):
    reachable: bool
    # size, idle, min, max
    pool: dict[str, int]


class NatsHealth(msgspec.Struct):
    connected: bool
    reconnects: int


class OutboxHealth(msgspec.Struct):
    """Events waiting for the relay (``unpublished``), set aside (``parked``), and the relay's counters."""

    unpublished: int
    parked: int
    oldest_age_seconds: float | None = None
    oldest_error: str | None = None
    relay_leader: bool = False
    published: int = 0
    last_error: str | None = None


class ConsumerHealth(msgspec.Struct):
    """One consumer: counters since its process started, and what the server holds for it (its lag)."""

    applied: int
    duplicates: int
    dead_lettered: int
    pending: int | None = None
    ack_pending: int | None = None
    redelivered: int | None = None
    # early events waiting for a missing predecessor
    waiting: int | None = None
    oldest_wait_seconds: float | None = None
    lag_error: str | None = None
    waiting_error: str | None = None


class HealthReport(msgspec.Struct):
    """The service's readiness report (``/health/ready``), its details typed: ``problems`` make it not
    ready, ``warnings`` do not."""

    status: Literal["ready", "not ready"]
    problems: list[str]
    warnings: list[str]
    service: str
    version: str
    started_at: datetime
    schema_version: str
    database: DatabaseHealth
    nats: NatsHealth
    outbox: OutboxHealth | None
    consumers: dict[str, ConsumerHealth]
    # open letters per consumer (None: the database did not answer)
    dead_letters: dict[str, int] | None


_COLUMNS = """
id, consumer, subject, event_type, event_id, deliveries AS attempts, error, failed_at,
replayed_at IS NOT NULL AS replayed, replayed_at, replay_requested_at, replay_error,
headers->>'ce-aggregatetype' AS aggregate_type, headers->>'ce-subject' AS aggregate_id,
CASE WHEN headers->>'ce-aggregateversion' ~ '^[0-9]{1,18}$'
     THEN (headers->>'ce-aggregateversion')::bigint END AS aggregate_version
"""


def _letter(row: asyncpg.Record) -> DeadLetterOut:
    return DeadLetterOut(**dict(row))


async def _one(pool: asyncpg.Pool, letter_id: int) -> DeadLetterOut | None:
    row = await pool.fetchrow(f"SELECT {_COLUMNS} FROM dead_letter WHERE id = $1", letter_id)
    return _letter(row) if row is not None else None


async def dead_letters(
    pool: asyncpg.Pool, consumer: str | None, replayed: bool | None, after: DeadLetterKey | None, limit: int
) -> DeadLetterPage:
    """One page of the service's dead letters, newest first."""
    where = Where()
    where.when("consumer = {}", consumer)
    if replayed is not None:
        where.add("(replayed_at IS NOT NULL) = {}", replayed)
    where.after(["id"], after.values() if after else None, descending=True)
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM dead_letter WHERE {where.clause()} ORDER BY id DESC LIMIT {limit + 1}",
        *where.args,
    )
    page: DeadLetterPage = DeadLetterPage.of([_letter(r) for r in rows], limit, lambda d: DeadLetterKey(d.id))
    return page


async def replay(context: ServiceContext[Any, Any], letter_id: int) -> ReplayOutcome:
    """Replay one open dead letter now, by this process's runner of its consumer."""
    letter = await _one(context.pool, letter_id)
    if letter is None:
        raise NOT_FOUND(f"no dead letter {letter_id} in {context.spec.name}")
    if letter.replayed:
        raise CONFLICT(f"dead letter {letter_id} was replayed at {letter.replayed_at}")
    runner = _runner(context.runners, letter.consumer)
    await request_replay(context.pool, letter.consumer, [letter_id])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + REPLAY_WAIT_SECONDS
    while True:
        await runner.dead_letters.replay_requested()
        letter = await _one(context.pool, letter_id)
        assert letter is not None  # letters are never deleted
        if letter.replayed:
            return ReplayOutcome("replayed", None, letter)
        if letter.replay_requested_at is None:
            return ReplayOutcome("not replayed", letter.replay_error, letter)
        if loop.time() > deadline:
            return ReplayOutcome("queued", "another replica's runner of this consumer applies it", letter)
        await asyncio.sleep(0.1)


def _runner(runners: list[ConsumerRunner], consumer: str) -> ConsumerRunner:
    for runner in runners:
        if runner.name == consumer:
            return runner
    raise CONFLICT(f"no consumer {consumer!r} runs in this service any more: its letters cannot be replayed")


ADMIN = [requires("admin")]
Consumer = Annotated[
    str | None, QueryParameter(max_length=CONSUMER_LENGTH, description="only this consumer's letters")
]
Replayed = Annotated[
    bool | None, QueryParameter(description="true: only replayed letters; false: only open ones")
]


def operator_router(spec: ServiceSpec) -> Router:
    """The operator routes at the service's ``admin_path`` (handlers of its own: the OpenAPI machinery
    gives each app's handlers the service's answers)."""

    @get("/dead-letters", guards=ADMIN, operation_id="listDeadLetters", response_headers=[LINK_HEADER])
    async def list_dead_letters(
        request: Request[Any, Any, Any],
        context: NamedDependency[ServiceContext[Any, Any]],
        consumer: Consumer = None,
        replayed: Replayed = None,
        cursor: CursorParameter = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Response[DeadLetterPage]:
        """The service's dead letters, newest first: the events its consumers gave up on (failed
        ``max_deliver`` times, waited too long for a missing predecessor, or undecodable), with the error,
        and whether they have been replayed since."""
        page = await dead_letters(context.pool, consumer, replayed, DeadLetterKey.decode(cursor), limit)
        answer: Response[DeadLetterPage] = paged(request, page)
        return answer

    @post(
        "/dead-letters/{letter_id:int}/replay", guards=ADMIN, operation_id="replayDeadLetter", status_code=200
    )
    async def replay_dead_letter(
        context: NamedDependency[ServiceContext[Any, Any]], letter_id: FromPath[Int8]
    ) -> ReplayOutcome:
        """Replay one open dead letter now (as ``spicadb deadletters replay`` asks, applied at once): in
        its aggregate's version order, so it is held back while an earlier letter of the same aggregate is
        open. The outcome says whether it was applied; 404 for no such letter, 409 for one replayed already
        or whose consumer no longer runs."""
        return await replay(context, letter_id)

    @get("/health", guards=ADMIN, operation_id="getHealthReport")
    async def health_report(context: NamedDependency[ServiceContext[Any, Any]]) -> HealthReport:
        """The service's readiness report in detail (database, NATS, outbox backlog, consumer lag, dead
        letters), answered 200 whether ready or not: ``status`` and ``problems`` say which."""
        return msgspec.convert(await readiness(context), HealthReport)

    return Router(
        path=spec.admin_path,
        route_handlers=[list_dead_letters, replay_dead_letter, health_report],
        tags=["operations"],
    )
