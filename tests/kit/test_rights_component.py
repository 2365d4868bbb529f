"""The rights component: a service's copy of programme membership and proprietary periods, kept from
the programmes events, and the one rule of who sees which data."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from spicadb_contracts.programmes import (
    Member,
    MembershipChanged,
    ProgrammeCreated,
    ProprietaryPeriodChanged,
)
from spicadb_kit import rights
from spicadb_kit.auth import Principal
from spicadb_kit.events import Envelope
from spicadb_kit.migrate import service_migrations
from spicadb_kit.spec import ServiceSpec
from spicadb_kit.testing.services import migrate, service_pool

SPEC = ServiceSpec(
    name="viewer",
    app="unused:create_app",
    default_port=8098,
    kit_components=(rights.COMPONENT,),
)
PROGRAMME = uuid.uuid4()
NOW = datetime.now(UTC)


@pytest.fixture
async def pool(database: str) -> AsyncIterator[asyncpg.Pool]:
    await migrate(database, [SPEC])
    pool = await service_pool(database, SPEC)
    await pool.execute("CREATE TABLE datum (id int PRIMARY KEY, programme text, ended timestamptz NOT NULL)")
    yield pool
    await pool.close()


async def apply(pool: asyncpg.Pool, event: object) -> None:
    """One event through the component's handler, as the consumer runner applies it."""
    handlers = rights.consumer(rights.consumer_decl("viewer")).handlers
    envelope = Envelope.for_event(event, source="/test", aggregate_id=str(PROGRAMME), aggregate_version=1)  # type: ignore[arg-type]
    async with pool.acquire() as conn, conn.transaction():
        await handlers[type(event).event_type()](conn, envelope, event)  # type: ignore[attr-defined]


async def visible(pool: asyncpg.Pool, viewer: rights.Viewer) -> list[int]:
    rows = await pool.fetch(
        "SELECT id FROM datum d WHERE "
        + rights.visible_sql("d.programme", "d.ended", "$1", "$2")
        + " ORDER BY id",
        viewer.username,
        viewer.sees_all,
    )
    return [r["id"] for r in rows]


def principal(subject: str, *scopes: str, client_id: str = "spica-frontend") -> Principal:
    return Principal(subject=subject, client_id=client_id, scopes=frozenset(scopes))


async def test_the_component_is_a_migration_of_the_services_schema() -> None:
    components = {m.component for m in service_migrations(SPEC)}
    assert components == {"kit", "rights"}


async def test_members_see_proprietary_data_and_everyone_sees_it_once_released(pool: asyncpg.Pool) -> None:
    await apply(
        pool,
        ProgrammeCreated(
            programme_id=PROGRAMME, code="LP-1", title="Giants", kind="large-programme", pi="ada",
            status="draft", public=False, proprietary_months=12, members=[Member("ada", "pi")],
            created_by="ada", created_at=NOW,
        ),
    )  # fmt: skip
    await pool.executemany(
        "INSERT INTO datum VALUES ($1, $2, $3)",
        [
            (1, "LP-1", NOW - timedelta(days=30)),  # proprietary for 11 more months
            (2, "LP-1", NOW - timedelta(days=400)),  # released
            (3, None, NOW - timedelta(days=100)),  # no programme, in its default period: staff only
            (4, "UNKNOWN", NOW - timedelta(days=4000)),  # a programme this copy has not heard of
        ],
    )
    assert await visible(pool, rights.Viewer.of(None)) == [2]
    assert await visible(pool, rights.Viewer.of(principal("bob", "nightlogs:read"))) == [2]
    assert await visible(pool, rights.Viewer.of(principal("ada", "nightlogs:read"))) == [1, 2]
    assert await visible(pool, rights.Viewer.of(principal("root", "admin"))) == [1, 2, 3, 4]
    robot = principal("scheduler", "nightlogs:read", client_id="scheduler")
    assert await visible(pool, rights.Viewer.of(robot, frozenset({"scheduler"}))) == [1, 2, 3, 4]
    assert await visible(pool, rights.Viewer.of(robot)) == [2]  # an untrusted robot is nobody
    flagger = principal("nina", "nightlogs:flag")
    assert await visible(pool, rights.Viewer.of(flagger, staff_scopes=frozenset({"nightlogs:flag"}))) == [
        1,
        2,
        3,
        4,
    ]
    assert await visible(pool, rights.Viewer.of(flagger)) == [2]  # where that scope does not make staff

    await apply(
        pool,
        MembershipChanged(
            programme_id=PROGRAMME, code="LP-1", members=[Member("ada", "pi"), Member("bob", "viewer")],
            changed_by="ada", changed_at=NOW,
        ),
    )  # fmt: skip
    assert await visible(pool, rights.Viewer.of(principal("bob", "nightlogs:read"))) == [1, 2]

    # a shorter proprietary period releases the first datum at once
    await apply(
        pool,
        ProprietaryPeriodChanged(
            programme_id=PROGRAMME, code="LP-1", proprietary_months=0, previous_months=12,
            changed_by="ada", changed_at=NOW,
        ),
    )  # fmt: skip
    assert await visible(pool, rights.Viewer.of(None)) == [1, 2]
    released = await pool.fetchval(
        "SELECT " + rights.release_sql("d.programme", "d.ended") + " FROM datum d WHERE id = 2"
    )
    assert released == NOW - timedelta(days=400)


def test_months_are_calendar_months() -> None:
    assert rights.add_months(datetime(2026, 1, 31, 12, tzinfo=UTC), 1) == datetime(
        2026, 2, 28, 12, tzinfo=UTC
    )
    assert rights.add_months(datetime(2026, 11, 15, tzinfo=UTC), 18) == datetime(2028, 5, 15, tzinfo=UTC)
