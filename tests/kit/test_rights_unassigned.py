"""Data of no programme are released a default period after their observation (issue 12: a 2005 file
of no programme stayed secure with no release date for ever), calibrators when observed; the filter
(visible_sql) and the release date (release_sql, the SQL function rights_release) always agree."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from spicadb_contracts.programmes import Member, ProgrammeCreated
from spicadb_kit import rights
from spicadb_kit.events import Envelope
from spicadb_kit.settings import SettingsError
from spicadb_kit.spec import ServiceSpec
from spicadb_kit.testing.services import migrate, service_pool

SPEC = ServiceSpec(
    name="viewer", app="unused:create_app", default_port=8098, kit_components=(rights.COMPONENT,)
)
NOW = datetime.now(UTC)
YEAR_2005 = datetime(2005, 3, 14, 4, 0, tzinfo=UTC)


@pytest.fixture
async def pool(database: str) -> AsyncIterator[asyncpg.Pool]:
    await migrate(database, [SPEC])
    pool = await service_pool(database, SPEC)
    await pool.execute(
        "CREATE TABLE datum (id int PRIMARY KEY, programme text, ended timestamptz NOT NULL,"
        " calibrator boolean NOT NULL DEFAULT false)"
    )
    programme = ProgrammeCreated(
        programme_id=uuid.uuid4(), code="LP-1", title="Giants", kind="large-programme", pi="ada",
        status="active", public=False, proprietary_months=18, members=[Member("ada", "pi")],
        created_by="ada", created_at=NOW,
    )  # fmt: skip
    handler = rights.consumer(rights.consumer_decl("viewer")).handlers[ProgrammeCreated.event_type()]
    envelope = Envelope.for_event(programme, source="/test", aggregate_id="p", aggregate_version=1)
    async with pool.acquire() as conn, conn.transaction():
        await handler(conn, envelope, programme)
    await pool.executemany(
        "INSERT INTO datum VALUES ($1, $2, $3, $4)",
        [
            (1, None, YEAR_2005, False),  # a 2005 MIDI file of no programme: released in 2006
            (2, None, NOW - timedelta(days=30), False),  # no programme, observed last month
            (3, None, NOW - timedelta(days=30), True),  # a calibrator of no programme
            (4, "LP-1", NOW - timedelta(days=30), True),  # a calibrator of a programme
            (5, "LP-1", NOW - timedelta(days=30), False),  # proprietary
            (6, "LP-1", YEAR_2005, False),  # released
            (7, "NOT-YET", YEAR_2005, False),  # a programme this copy has not heard of yet
            (8, None, NOW + timedelta(days=1), True),  # a calibrator not observed yet
        ],
    )
    yield pool
    await pool.close()


async def visible(pool: asyncpg.Pool, viewer: rights.Viewer) -> list[int]:
    condition = rights.visible_sql("d.programme", "d.ended", "$1", "$2", calibrator="d.calibrator")
    rows = await pool.fetch(
        f"SELECT id FROM datum d WHERE {condition} ORDER BY id", viewer.username, viewer.sees_all
    )
    return [r["id"] for r in rows]


async def releases(pool: asyncpg.Pool) -> dict[int, datetime | None]:
    """Release dates by release_sql, checked against the SQL function views call."""
    release = rights.release_sql("d.programme", "d.ended", calibrator="d.calibrator")
    rows = await pool.fetch(
        f"SELECT id, {release} AS release, rights_release(d.programme, d.ended, d.calibrator) AS fn FROM datum d"
    )
    assert all(r["release"] == r["fn"] for r in rows), rows
    return {r["id"]: r["release"] for r in rows}


async def test_data_of_no_programme_are_released_after_the_default_period(pool: asyncpg.Pool) -> None:
    assert await visible(pool, rights.Viewer(None)) == [1, 3, 4, 6]
    assert await visible(pool, rights.Viewer("ada")) == [1, 3, 4, 5, 6]
    assert await visible(pool, rights.Viewer("root", sees_all=True)) == [1, 2, 3, 4, 5, 6, 7, 8]
    found = await releases(pool)
    assert found[1] == datetime(2006, 3, 14, 4, 0, tzinfo=UTC)
    assert found[2] == rights.add_months(NOW - timedelta(days=30), 12)
    assert found[3] == found[4] == NOW - timedelta(days=30)
    assert found[6] == rights.add_months(YEAR_2005, 18)
    assert found[7] is None


async def test_the_default_period_is_a_setting(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await rights.set_unassigned_months(conn, 0)
    assert await visible(pool, rights.Viewer(None)) == [1, 2, 3, 4, 6]
    assert (await releases(pool))[2] == NOW - timedelta(days=30)
    env = {"SPICADB_UNASSIGNED_PROPRIETARY_MONTHS": "6"}
    assert rights.RightsSettings.from_env(env).unassigned_proprietary_months == 6
    assert rights.RightsSettings.from_env({}).unassigned_proprietary_months == 12
    with pytest.raises(SettingsError, match="SPICADB_UNASSIGNED_PROPRIETARY_MONTHS"):
        rights.RightsSettings.from_env({"SPICADB_UNASSIGNED_PROPRIETARY_MONTHS": "-1"})


async def test_the_filter_and_the_release_date_agree(pool: asyncpg.Pool) -> None:
    """Anonymous viewers see exactly the rows released by now, whatever the period."""
    for months in (0, 12, 300):
        async with pool.acquire() as conn:
            await rights.set_unassigned_months(conn, months)
        released = sorted(
            i for i, r in (await releases(pool)).items() if r is not None and r <= datetime.now(UTC)
        )
        assert await visible(pool, rights.Viewer(None)) == released
