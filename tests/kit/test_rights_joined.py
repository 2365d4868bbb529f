"""The rights rule read from a joined programme row (visible_joined_sql, which the published views write
out) gives the same answers as the rule that looks the programme up per row (visible_sql), over every
case: no programme (before and after the default period), a programme released or proprietary, a member,
a programme this copy has not heard of, calibrators observed or not, no end; every kind of viewer."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from spicadb_contracts.programmes import Member, ProgrammeCreated
from spicadb_kit import rights
from spicadb_kit.events import Envelope
from spicadb_kit.spec import ServiceSpec
from spicadb_kit.testing.services import migrate, service_pool

SPEC = ServiceSpec(
    name="joiner", app="unused:create_app", default_port=8097, kit_components=(rights.COMPONENT,)
)
NOW = datetime.now(UTC)
PROGRAMMES = (None, "LP-1", "LP-2", "NOT-YET")  # LP-1: 18 months, ada and bob; LP-2: 0 months, carl
ENDS = (
    None,
    datetime(2005, 3, 14, 4, 0, tzinfo=UTC),
    NOW - timedelta(days=400),
    NOW - timedelta(days=30),
    NOW + timedelta(days=1),
)
VIEWERS = (
    rights.Viewer(None),
    rights.Viewer("ada"),
    rights.Viewer("carl"),
    rights.Viewer("eve"),
    rights.Viewer("root", sees_all=True),
    rights.Viewer(None, sees_all=True),
)
PER_ROW = rights.visible_sql("d.programme", "d.ended", "$1", "$2", calibrator="d.calibrator")
JOINED = rights.visible_joined_sql("d.programme", "d.ended", "pr", "$1", "$2", calibrator="d.calibrator")


async def created(conn: asyncpg.Connection, code: str, months: int, members: list[str]) -> None:
    programme = ProgrammeCreated(
        programme_id=uuid.uuid4(), code=code, title=code, kind="large-programme", pi=members[0],
        status="active", public=False, proprietary_months=months, members=[Member(m, "coi") for m in members],
        created_by=members[0], created_at=NOW,
    )  # fmt: skip
    handler = rights.consumer(rights.consumer_decl("joiner")).handlers[ProgrammeCreated.event_type()]
    envelope = Envelope.for_event(programme, source="/test", aggregate_id=code, aggregate_version=1)
    async with conn.transaction():
        await handler(conn, envelope, programme)


@pytest.fixture
async def pool(database: str) -> AsyncIterator[asyncpg.Pool]:
    await migrate(database, [SPEC])
    pool = await service_pool(database, SPEC)
    await pool.execute(
        "CREATE TABLE datum (id int PRIMARY KEY, programme text, ended timestamptz, calibrator boolean)"
    )
    async with pool.acquire() as conn:
        await created(conn, "LP-1", 18, ["ada", "bob"])
        await created(conn, "LP-2", 0, ["carl"])
    cases = itertools.product(PROGRAMMES, ENDS, (False, True, None))
    await pool.executemany(
        "INSERT INTO datum VALUES ($1, $2, $3, $4)",
        [(i, programme, end, calibrator) for i, (programme, end, calibrator) in enumerate(cases)],
    )
    yield pool
    await pool.close()


async def ids(pool: asyncpg.Pool, condition: str, viewer: rights.Viewer) -> list[int]:
    rows = await pool.fetch(
        "SELECT d.id FROM datum d LEFT JOIN programme_rights pr ON pr.code = d.programme"
        f" WHERE {condition} ORDER BY d.id",
        viewer.username,
        viewer.sees_all,
    )
    return [r["id"] for r in rows]


async def published_ids(pool: asyncpg.Pool, condition: str, viewer: rights.Viewer) -> list[int]:
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        await rights.set_published_viewer(conn, viewer)
        rows = await conn.fetch(
            "SELECT d.id FROM datum d LEFT JOIN programme_rights pr ON pr.code = d.programme"
            f" WHERE {condition} ORDER BY d.id"
        )
    return [r["id"] for r in rows]


async def test_the_joined_rule_answers_as_the_per_row_rule(pool: asyncpg.Pool) -> None:
    for months in (0, 12, 300):
        async with pool.acquire() as conn:
            await rights.set_unassigned_months(conn, months)
        for viewer in VIEWERS:
            expected = await ids(pool, PER_ROW, viewer)
            assert await ids(pool, JOINED, viewer) == expected, (months, viewer)
    # the cases are all there: something hidden, something shown, for each viewer but sees_all
    async with pool.acquire() as conn:
        await rights.set_unassigned_months(conn, 12)
    assert len(await ids(pool, JOINED, rights.Viewer(None))) < len(
        await ids(pool, JOINED, rights.Viewer("ada"))
    )
    total = await pool.fetchval("SELECT count(*) FROM datum")
    assert len(await ids(pool, JOINED, rights.Viewer(None, sees_all=True))) == total


async def test_the_published_forms_agree_for_the_readers_viewer(pool: asyncpg.Pool) -> None:
    per_row = rights.published_visible_sql("d.programme", "d.ended", calibrator="d.calibrator")
    joined = rights.published_visible_joined_sql("d.programme", "d.ended", "pr", calibrator="d.calibrator")
    for viewer in VIEWERS:
        expected = await published_ids(pool, per_row, viewer)
        assert await published_ids(pool, joined, viewer) == expected, viewer
        assert expected == await ids(pool, PER_ROW, viewer), viewer
    # a programme unknown to this copy: hidden but to sees_all, whatever its age (its calibrators aside)
    unknown = "d.programme = 'NOT-YET' AND d.ended < now() AND d.calibrator IS NOT TRUE"
    assert await published_ids(pool, f"{unknown} AND {joined}", rights.Viewer("ada")) == []
    assert await published_ids(pool, f"{unknown} AND {joined}", rights.Viewer("root", sees_all=True))
