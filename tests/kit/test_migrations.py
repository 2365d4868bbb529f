"""Migrations: applied once, in the service's schema, owned by its role; history is immutable."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from spicadb_kit.app import SchemaNotCurrent, create_service_app
from spicadb_kit.infra import NatsServer
from spicadb_kit.migrate import Migration, MigrationError, apply_migrations, load_migrations, version_tag
from spicadb_kit.settings import ServiceSettings
from spicadb_kit.spec import ServiceSpec
from spicadb_kit.testing.tokens import TokenFactory

SCHEMA = "demo"
ROLE = "spicadb_demo"

THINGS = Migration(
    "demo",
    1,
    "things",
    "CREATE TABLE thing (id int PRIMARY KEY, label text NOT NULL);"
    " INSERT INTO thing VALUES (1, 'seeded by 0001');",
)
COLOUR = Migration(
    "demo",
    2,
    "colour",
    "ALTER TABLE thing ADD COLUMN colour text; INSERT INTO thing VALUES (2, 'seeded by 0002', 'red');",
)


@pytest.fixture
async def admin(database: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database)
    yield conn
    await conn.close()


async def migrate(conn: asyncpg.Connection, *migrations: Migration) -> str:
    return await apply_migrations(conn, schema=SCHEMA, role=ROLE, migrations=list(migrations))


async def history(conn: asyncpg.Connection) -> list[tuple[str, int, str, str]]:
    rows = await conn.fetch(
        "SELECT component, version, name, checksum FROM demo.schema_migrations ORDER BY component, version"
    )
    return [(r["component"], r["version"], r["name"], r["checksum"]) for r in rows]


async def test_apply_creates_schema_owned_by_the_service_role(admin: asyncpg.Connection) -> None:
    tag = await migrate(admin, THINGS, COLOUR)
    assert tag == "demo:0002"
    owner = await admin.fetchval(
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1", SCHEMA
    )
    assert owner == ROLE
    tables = await admin.fetch("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = $1", SCHEMA)
    assert {r["tablename"]: r["tableowner"] for r in tables} == {"thing": ROLE, "schema_migrations": ROLE}
    assert await history(admin) == [
        ("demo", 1, "things", THINGS.checksum),
        ("demo", 2, "colour", COLOUR.checksum),
    ]
    rows = await admin.fetch("SELECT id, label, colour FROM demo.thing ORDER BY id")
    assert [tuple(r) for r in rows] == [(1, "seeded by 0001", None), (2, "seeded by 0002", "red")]


async def test_service_role_can_use_its_schema_and_nothing_else(
    admin: asyncpg.Connection, database: str
) -> None:
    await migrate(admin, THINGS)
    base, _, name = database.rpartition("/")
    service = await asyncpg.connect(base.replace("spicadb@", f"{ROLE}@") + "/" + name)
    try:
        await service.execute("INSERT INTO demo.thing VALUES (10, 'by the service')")
        assert await service.fetchval("SELECT count(*) FROM demo.thing") == 2
        await service.execute("CREATE TABLE demo.scratch (x int)")  # owner of its schema
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await service.execute("CREATE SCHEMA elsewhere")
    finally:
        await service.close()


async def test_running_twice_applies_nothing_new(admin: asyncpg.Connection) -> None:
    first = await migrate(admin, THINGS, COLOUR)
    applied_at = await admin.fetch("SELECT version, applied_at FROM demo.schema_migrations ORDER BY version")
    second = await migrate(admin, THINGS, COLOUR)
    assert second == first == "demo:0002"
    assert await admin.fetch("SELECT version, applied_at FROM demo.schema_migrations ORDER BY version") == (
        applied_at
    )
    # the seed rows were not inserted a second time
    assert await admin.fetchval("SELECT count(*) FROM demo.thing") == 2


async def test_new_migration_is_applied_on_top(admin: asyncpg.Connection) -> None:
    assert await migrate(admin, THINGS) == "demo:0001"
    assert await migrate(admin, THINGS, COLOUR) == "demo:0002"
    assert [v for _, v, _, _ in await history(admin)] == [1, 2]
    assert await admin.fetchval("SELECT colour FROM demo.thing WHERE id = 2") == "red"


async def test_edited_applied_migration_is_refused(admin: asyncpg.Connection) -> None:
    await migrate(admin, THINGS, COLOUR)
    edited = Migration("demo", 1, "things", THINGS.sql.replace("seeded by 0001", "seeded differently"))
    with pytest.raises(MigrationError, match=r"demo:0001_things was edited"):
        await migrate(admin, edited, COLOUR)
    assert await admin.fetchval("SELECT label FROM demo.thing WHERE id = 1") == "seeded by 0001"


async def test_removed_applied_migration_is_refused(admin: asyncpg.Connection) -> None:
    await migrate(admin, THINGS, COLOUR)
    with pytest.raises(MigrationError, match=r"demo:0001 is applied but its file is gone"):
        await migrate(admin, COLOUR)


async def test_concurrent_runners_apply_each_migration_once(admin: asyncpg.Connection, database: str) -> None:
    # pg_sleep makes the first runner hold the lock long enough for the second to queue behind it
    slow = Migration("demo", 1, "things", "SELECT pg_sleep(0.3); " + THINGS.sql)
    other = await asyncpg.connect(database)
    try:
        tags = await asyncio.gather(migrate(admin, slow, COLOUR), migrate(other, slow, COLOUR))
    finally:
        await other.close()
    assert list(tags) == ["demo:0002", "demo:0002"]
    assert [v for _, v, _, _ in await history(admin)] == [1, 2]
    assert await admin.fetchval("SELECT count(*) FROM demo.thing") == 2


async def test_failing_migration_leaves_no_trace(admin: asyncpg.Connection, database: str) -> None:
    broken = Migration(
        "demo", 2, "broken", "CREATE TABLE half (id int); INSERT INTO thing VALUES (3, 'x'); SELEC 1;"
    )
    await migrate(admin, THINGS)
    with pytest.raises(asyncpg.PostgresSyntaxError):
        await migrate(admin, THINGS, broken)
    assert await admin.fetchval("SELECT to_regclass('demo.half')") is None
    assert await admin.fetchval("SELECT count(*) FROM demo.thing") == 1
    assert await history(admin) == [("demo", 1, "things", THINGS.checksum)]
    # the lock was released: another runner gets through, and the fixed migration applies
    other = await asyncpg.connect(database)
    try:
        fixed = Migration("demo", 2, "broken", "CREATE TABLE half (id int);")
        async with asyncio.timeout(10):
            assert await migrate(other, THINGS, fixed) == "demo:0002"
    finally:
        await other.close()
    assert await admin.fetchval("SELECT to_regclass('demo.half')::text") == "demo.half"


@pytest.fixture
def migrations_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """An importable package of NNNN_name.sql files, as a service ships its migrations."""
    name = f"demo_migrations_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / name
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "0001_things.sql").write_text(THINGS.sql)
    (folder / "README.txt").write_text("not a migration")
    monkeypatch.syspath_prepend(tmp_path)  # undone after the test, with the import caches
    yield name, folder
    sys.modules.pop(name, None)


def test_load_migrations_reads_numbered_files_in_order(migrations_package: tuple[str, Path]) -> None:
    name, folder = migrations_package
    (folder / "0010_later.sql").write_text("SELECT 10;")
    (folder / "0002_colour.sql").write_text(COLOUR.sql)
    loaded = load_migrations(name, "demo")
    assert [(m.version, m.name) for m in loaded] == [(1, "things"), (2, "colour"), (10, "later")]
    assert loaded[0] == THINGS


def test_two_files_with_one_version_are_refused(migrations_package: tuple[str, Path]) -> None:
    name, folder = migrations_package
    (folder / "0001_other.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="share a version"):
        load_migrations(name, "demo")


async def test_service_refuses_to_start_with_a_pending_migration(
    admin: asyncpg.Connection,
    database: str,
    migrations_package: tuple[str, Path],
    nats_server: NatsServer,
    tokens: TokenFactory,
) -> None:
    package, folder = migrations_package
    spec = ServiceSpec(name="demo", app="demo:create_app", default_port=8098, migrations=package)
    kit_and_things = load_migrations("spicadb_kit.migrations", "kit") + load_migrations(package, "demo")
    await apply_migrations(admin, schema=SCHEMA, role=ROLE, migrations=kit_and_things)
    (folder / "0002_colour.sql").write_text(COLOUR.sql)  # a new release, not migrated yet

    base, _, name = database.rpartition("/")
    settings = ServiceSettings(
        environment="test",
        database_url=base.replace("spicadb@", f"{ROLE}@") + "/" + name,
        nats_url=nats_server.url,
    )

    def app() -> Any:
        return create_service_app(spec, settings, verifier=tokens.verifier())

    # the test client reports a failed startup inside an exception group
    refused = pytest.RaisesExc(SchemaNotCurrent, match="demo:0002_colour")
    with pytest.RaisesGroup(refused, allow_unwrapped=True, flatten_subgroups=True):
        async with AsyncTestClient(app()):
            pass
    # the refused start did not migrate behind the operator's back
    assert await admin.fetchval("SELECT to_regclass('demo.thing')") is not None
    assert await admin.fetchval("SELECT count(*) FROM demo.schema_migrations WHERE component = 'demo'") == 1

    await apply_migrations(
        admin, schema=SCHEMA, role=ROLE, migrations=[*kit_and_things, *load_migrations(package, "demo")[1:]]
    )
    async with AsyncTestClient(app()) as client:
        ready = await client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["schema_version"] == "demo:0002 " + version_tag(
        load_migrations("spicadb_kit.migrations", "kit")
    )
