"""The pgSphere functions of a cone marked LEAKPROOF by the migration runner (spicadb_kit.leakproof): as a
superuser, once (a second run changes nothing), only where they exist; without a superuser, a warning and
nothing marked (the published views stay correct, their cones scan)."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from structlog.testing import CapturingLogger

from spicadb_kit import leakproof
from spicadb_kit.leakproof import FUNCTIONS, mark
from spicadb_kit.testing.services import role_dsn

LEAKPROOF = (
    "SELECT p.oid::regprocedure::text AS name FROM pg_proc p WHERE p.proleakproof"
    " AND p.oid::regprocedure::text ~ '^(radians|spoint|scircle|sbox|dist)' ORDER BY 1"
)


async def test_a_superuser_marks_the_cone_functions_once(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_sphere SCHEMA public")
        marked = await mark(conn)
        assert len(marked) == len(FUNCTIONS)
        assert sorted(marked) == [r["name"] for r in await conn.fetch(LEAKPROOF)]
        # what the brief's rule leaves out stays as pgSphere made it
        for unmarked in ("scircle(spoint,double precision)", "spoly_contains_point_com(spoint,spoly)"):
            leakproof = await conn.fetchval(
                "SELECT proleakproof FROM pg_proc WHERE oid = $1::regprocedure", unmarked
            )
            assert leakproof is False, unmarked
        assert await mark(conn) == []
    finally:
        await conn.close()


async def test_without_pgsphere_only_radians_is_marked(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        assert await mark(conn) == ["radians(double precision)"]
    finally:
        await conn.close()


async def test_without_a_superuser_nothing_is_marked(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # the module's logger is cached once an app has configured structlog (earlier tests in a whole run), so
    # structlog's capture_logs would see nothing: the module is given a capturing logger instead
    logger = CapturingLogger()
    monkeypatch.setattr(leakproof, "log", logger)
    role = f"plain_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(database)
    try:
        await admin.execute(f'CREATE ROLE "{role}" LOGIN')
        conn = await asyncpg.connect(role_dsn(database, role))
        try:
            assert await mark(conn) == []
        finally:
            await conn.close()
        assert await admin.fetch(LEAKPROOF) == []
        assert [c.method_name for c in logger.calls if "not a superuser" in c.args[0]] == ["warning"]
    finally:
        await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()
