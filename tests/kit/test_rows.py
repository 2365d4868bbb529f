"""Rows to structs (spicadb_kit.rows): real asyncpg records, columns named as the fields."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import msgspec
import pytest

from spicadb_kit.db import init_connection
from spicadb_kit.rows import row_to, rows_to


class Seeing(msgspec.Struct):
    seeing: float | None
    flagged_at: datetime | None


class Observation(msgspec.Struct):
    id: UUID
    stations: list[str]
    conditions: Seeing
    baselines: list[dict[str, float]]
    flags: list[str] = []


@pytest.fixture
async def conn(database: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database)
    await init_connection(conn)
    yield conn
    await conn.close()


SQL = (
    "SELECT gen_random_uuid() AS id, ARRAY['S1', 'E1'] AS stations, 0.8::float8 AS \"conditions.seeing\","
    " '2026-01-02T03:04:05Z'::timestamptz AS \"conditions.flagged_at\", '[{\"u\": 1}]'::json AS baselines"
    " FROM generate_series(1, 3)"
)


async def test_columns_named_as_fields_make_the_struct(conn: asyncpg.Connection) -> None:
    row = await conn.fetchrow(SQL)
    observation = row_to(Observation, row, flags=["late"])
    assert observation.stations == ["S1", "E1"]
    assert observation.conditions == Seeing(0.8, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert observation.baselines == [{"u": 1.0}]
    assert observation.flags == ["late"]


async def test_rows_of_one_query(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(SQL)
    observations = rows_to(Observation, rows)
    assert [o.id for o in observations] == [r["id"] for r in rows]
    assert all(o.conditions.seeing == 0.8 for o in observations)
    assert rows_to(Observation, []) == []


async def test_a_row_that_does_not_fit_is_refused(conn: asyncpg.Connection) -> None:
    row = await conn.fetchrow("SELECT 'not a uuid' AS id")
    with pytest.raises(msgspec.ValidationError):
        row_to(Observation, row)


async def test_json_text_columns_decode_into_their_types(conn: asyncpg.Connection) -> None:
    row = await conn.fetchrow(
        SQL.replace("::json AS baselines", " AS baselines").replace(" FROM", ", '[\"late\"]' AS flags FROM")
    )
    observation = row_to(Observation, row, decode={"baselines": list[dict[str, float]], "flags": list[str]})
    assert observation.baselines == [{"u": 1.0}]
    assert observation.flags == ["late"]
    (listed,) = rows_to(Observation, [row], decode={"baselines": list[dict[str, float]], "flags": list[str]})
    assert listed == observation
