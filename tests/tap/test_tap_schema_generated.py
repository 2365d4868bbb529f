"""TAP_SCHEMA is generated from the published declarations: it describes every readable published table
(itself included) with TAP 1.1's columns, follows a newly published table after a refresh, and is
rewritten only when the declarations change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import spicadb_tap.state
from harness import eventually
from litestar.testing import AsyncTestClient
from nats.js import JetStreamContext
from spicadb_tap.app import create_app
from spicadb_tap.catalogue import Catalogue
from spicadb_tap.catalogue.generate import tap_schema_rows
from spicadb_tap.catalogue.tap_schema import PUBLISHED as TAP_SCHEMA
from spicadb_tap.spec import SPEC
from spicadb_tap.state import TapState

from spicadb_kit.infra import NatsServer
from spicadb_kit.migrate import Migration, apply_migrations
from spicadb_kit.published import READER_ROLE, PublishedColumn, PublishedKey, PublishedTable
from spicadb_kit.testing.services import InstalledService, role_dsn
from spicadb_kit.testing.tokens import TokenFactory

# an owner publishing a table of its own, as oidb publishes ivoa.ObsCore
STARS = PublishedTable(
    schema="spicadb",
    name="Stars",
    description="Stars of a probe owner",
    columns=(
        PublishedColumn(
            name="star_id", datatype="long", ucd="meta.id;meta.main", principal=True, indexed=True
        ),
        PublishedColumn(name="ra", datatype="double", unit="deg", ucd="pos.eq.ra", principal=True),
        PublishedColumn(name="size", datatype="float", unit="arcsec", description="Apparent size"),
        PublishedColumn(name="seen", datatype="char", arraysize="*", xtype="timestamp"),
    ),
)
PLANETS = PublishedTable(
    schema="spicadb",
    name="Planets",
    description="Planets of the probe's stars",
    columns=(
        PublishedColumn(name="planet", datatype="char", arraysize="*"),
        PublishedColumn(name="star_id", datatype="long"),
    ),
    keys=(PublishedKey(("star_id",), "spicadb.Stars", ("star_id",), "The planet's star"),),
)
VIEWS = Migration(
    "probe_owner",
    1,
    "views",
    "CREATE TABLE star (id bigint PRIMARY KEY, ra double precision, size real, seen timestamptz);"
    " CREATE VIEW spicadb.stars AS SELECT id AS star_id, ra, size, seen FROM star;"
    " CREATE VIEW spicadb.planets AS SELECT 'b'::text AS planet, id AS star_id FROM star;",
)


async def publish_probe_owner(admin_dsn: str, *tables: PublishedTable) -> None:
    """An owner service's migration run: its views, then their publication."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await apply_migrations(
            conn, schema="probe_owner", role="spicadb_probe_owner", migrations=[VIEWS], publishes=tables
        )
    finally:
        await conn.close()


@pytest.fixture
async def tap(
    database: str, jetstream: JetStreamContext, nats_server: NatsServer, tokens: TokenFactory
) -> AsyncIterator[InstalledService]:
    installed = InstalledService(SPEC, create_app, database, nats_server.url, tokens, jetstream)
    await installed.install()
    yield installed
    assert installed.pool is not None
    await installed.pool.close()


def state_of(client: AsyncTestClient[Any]) -> TapState:
    state: TapState = client.app.state.context.state
    return state


async def refresh(client: AsyncTestClient[Any]) -> Catalogue:
    """The service's catalogue refresh, run in the app's own event loop (its pool lives there)."""
    return await asyncio.to_thread(client.blocking_portal.call, state_of(client).refresh)


async def rows(pool: asyncpg.Pool, table: str, order: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await pool.fetch(f"SELECT * FROM tap_schema.{table} ORDER BY {order}")]


async def test_tap_schema_describes_itself_with_tap_1_1_columns(tap: InstalledService) -> None:
    async with tap.running() as client:
        catalogue = state_of(client).catalogue
    assert tap.pool is not None
    # the service's own tables (the calibrators may be published beside them)
    assert {f"TAP_SCHEMA.{t.name}" for t in TAP_SCHEMA} <= {t.qualified for t in catalogue.tables}
    schemas = await rows(tap.pool, "schemas", "schema_index")
    assert schemas[-1] == (
        "TAP_SCHEMA",
        None,
        "Metadata of the tables this service offers (TAP 1.1 TAP_SCHEMA)",
        len(schemas) - 1,
    )
    columns = await tap.pool.fetch(
        "SELECT * FROM tap_schema.columns WHERE table_name = 'TAP_SCHEMA.columns' ORDER BY column_index"
    )
    assert [c["column_name"] for c in columns] == [
        "table_name",
        "column_name",
        "datatype",
        "arraysize",
        "xtype",
        '"size"',
        "description",
        "utype",
        "unit",
        "ucd",
        "indexed",
        "principal",
        "std",
        "column_index",
    ]
    by_name = {c["column_name"]: c for c in columns}
    # VOTable types with arraysize, not ADQL names (taplint E-TMS-TSCT); flags are 0/1
    assert (by_name["datatype"]["datatype"], by_name["datatype"]["arraysize"]) == ("char", "*")
    assert by_name["column_index"]["datatype"] == "int"
    assert {(c["principal"], c["std"]) for c in columns} == {(1, 1)}
    # the keys between TAP_SCHEMA's own tables (taplint E-TMS-TSLN)
    keys = await tap.pool.fetch(
        "SELECT k.from_table, k.target_table, c.from_column, c.target_column"
        " FROM tap_schema.keys k JOIN tap_schema.key_columns c USING (key_id) ORDER BY 1, 2"
    )
    assert [tuple(k) for k in keys] == [
        ("TAP_SCHEMA.columns", "TAP_SCHEMA.tables", "table_name", "table_name"),
        ("TAP_SCHEMA.key_columns", "TAP_SCHEMA.keys", "key_id", "key_id"),
        ("TAP_SCHEMA.keys", "TAP_SCHEMA.tables", "from_table", "table_name"),
        ("TAP_SCHEMA.keys", "TAP_SCHEMA.tables", "target_table", "table_name"),
        ("TAP_SCHEMA.tables", "TAP_SCHEMA.schemas", "schema_name", "schema_name"),
    ]


async def test_tap_schema_rows_are_the_catalogues(tap: InstalledService) -> None:
    async with tap.running() as client:
        catalogue = state_of(client).catalogue
    assert tap.pool is not None
    expected = tap_schema_rows(catalogue)
    assert await rows(tap.pool, "schemas", "schema_index") == expected.schemas
    assert await rows(tap.pool, "tables", "table_index") == expected.tables
    assert await rows(tap.pool, "columns", "table_name, column_index") == sorted(
        expected.columns, key=lambda c: (c[0], c[13])
    )
    assert await rows(tap.pool, "keys", "key_id") == sorted(expected.keys)
    assert await rows(tap.pool, "key_columns", "key_id") == sorted(expected.key_columns)


async def test_a_newly_published_table_appears_after_a_refresh(tap: InstalledService) -> None:
    assert tap.pool is not None
    async with tap.running() as client:
        state = state_of(client)
        assert state.catalogue.table("spicadb", "stars") is None
        await publish_probe_owner(tap.admin_dsn, STARS, PLANETS)
        catalogue = await refresh(client)
        stars = catalogue.table("SPICADB", "STARS")
        assert stars is not None
        assert stars.owner == "probe_owner"
        assert catalogue.column("spicadb", "stars", "RA") == STARS.columns[1]
    tables = await tap.pool.fetch("SELECT table_name, table_type, description FROM tap_schema.tables")
    assert ("spicadb.Stars", "view", "Stars of a probe owner") in [tuple(t) for t in tables]
    columns = await rows(tap.pool, "columns", "column_index")
    stars_columns = [c for c in columns if c[0] == "spicadb.Stars"]
    assert stars_columns == [
        (
            "spicadb.Stars",
            "star_id",
            "long",
            None,
            None,
            None,
            None,
            None,
            None,
            "meta.id;meta.main",
            1,
            1,
            0,
            0,
        ),
        ("spicadb.Stars", "ra", "double", None, None, None, None, None, "deg", "pos.eq.ra", 0, 1, 0, 1),
        # a reserved word is a delimited identifier (taplint E-TME-CRSV)
        (
            "spicadb.Stars",
            '"size"',
            "float",
            None,
            None,
            None,
            "Apparent size",
            None,
            "arcsec",
            None,
            0,
            0,
            0,
            2,
        ),
        ("spicadb.Stars", "seen", "char", "*", "timestamp", None, None, None, None, None, 0, 0, 0, 3),
    ]
    keys = await tap.pool.fetch(
        "SELECT k.from_table, k.target_table, k.description, c.from_column, c.target_column"
        " FROM tap_schema.keys k JOIN tap_schema.key_columns c USING (key_id)"
        " WHERE k.from_table = 'spicadb.Planets'"
    )
    assert [tuple(k) for k in keys] == [
        ("spicadb.Planets", "spicadb.Stars", "The planet's star", "star_id", "star_id")
    ]
    schemas = [r[0] for r in await rows(tap.pool, "schemas", "schema_index")]
    assert schemas.index("spicadb") < schemas.index("TAP_SCHEMA") == len(schemas) - 1


async def test_rows_are_rewritten_only_when_the_declarations_change(tap: InstalledService) -> None:
    assert tap.pool is not None
    async with tap.running() as client:
        generated = await tap.scalar("SELECT generated_at FROM tap_schema_generation")
        await refresh(client)
        assert await tap.scalar("SELECT generated_at FROM tap_schema_generation") == generated
        await publish_probe_owner(tap.admin_dsn, STARS)
        await refresh(client)
        assert await tap.scalar("SELECT generated_at FROM tap_schema_generation") > generated


async def test_tap_role_owns_tap_schema_and_the_reader_reads_it(tap: InstalledService) -> None:
    assert tap.pool is not None
    async with tap.running():
        pass
    owners = await tap.pool.fetch(
        "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'tap_schema'"
    )
    assert {r["tableowner"] for r in owners} == {SPEC.role}
    assert len(owners) == 5
    conn = await asyncpg.connect(role_dsn(tap.admin_dsn, SPEC.role))
    try:
        async with conn.transaction(readonly=True):
            await conn.execute(f'SET LOCAL ROLE "{READER_ROLE}"')
            assert await conn.fetchval("SELECT count(*) FROM tap_schema.tables") >= 5
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetchval("SELECT count(*) FROM tap.tap_schema_generation")
    finally:
        await conn.close()


async def test_a_query_naming_a_table_published_a_moment_ago_finds_it(tap: InstalledService) -> None:
    async with tap.running() as client:
        await publish_probe_owner(tap.admin_dsn, STARS, PLANETS)
        # on-demand refreshes are at most one a second (the startup's load counts as one)
        await asyncio.sleep(1.1)
        response = await client.post(
            "/tap/sync",
            data={
                "LANG": "ADQL",
                "QUERY": 'SELECT s.star_id, s."size", p.planet FROM spicadb.Stars AS s'
                " JOIN spicadb.planets AS p ON p.star_id = s.star_id",
            },
        )
        assert response.status_code == 200, response.text
        assert b'name="QUERY_STATUS" value="OK"' in response.content
        assert state_of(client).catalogue.table("spicadb", "planets") is not None
        tables = await client.get("/tap/tables/spicadb.Stars")
        assert tables.status_code == 200


async def test_a_withdrawn_table_leaves_tap_schema_at_the_next_refresh(tap: InstalledService) -> None:
    assert tap.pool is not None
    async with tap.running() as client:
        await publish_probe_owner(tap.admin_dsn, STARS, PLANETS)
        await refresh(client)
        await publish_probe_owner(tap.admin_dsn, STARS)
        catalogue = await refresh(client)
    assert catalogue.table("spicadb", "planets") is None
    names = {r["table_name"] for r in await tap.pool.fetch("SELECT table_name FROM tap_schema.tables")}
    assert "spicadb.Planets" not in names
    assert "spicadb.Stars" in names
    assert (
        await tap.scalar("SELECT count(*) FROM tap_schema.columns WHERE table_name = 'spicadb.Planets'") == 0
    )
    assert await tap.scalar("SELECT count(*) FROM tap_schema.keys WHERE from_table = 'spicadb.Planets'") == 0


async def test_the_service_keeps_its_catalogue_current_by_itself(
    tap: InstalledService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the background refresh's period, shortened (30 s in service)
    monkeypatch.setattr(spicadb_tap.state, "REFRESH_SECONDS", 0.2)
    assert tap.pool is not None
    async with tap.running() as client:
        await publish_probe_owner(tap.admin_dsn, STARS)

        async def listed() -> bool:
            # /tap/tables (not /tap/tables/{name}, whose miss would refresh on demand)
            tables = await client.get("/tap/tables", params={"detail": "min"})
            in_schema = await tap.scalar(
                "SELECT count(*) FROM tap_schema.tables WHERE table_name = 'spicadb.Stars'"
            )
            return b"<name>spicadb.Stars</name>" in tables.content and in_schema == 1

        await eventually(listed, timeout=30)
