"""Published views: the migration runner makes the schema an owner publishes in, checks its declaration
against the views its migrations create, grants the reader role, and writes the declaration where a
reader finds it (read_catalogue); a reader service's role reads the views, not the owner's tables."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import msgspec
import pytest

from spicadb_kit.migrate import Migration, apply_migrations
from spicadb_kit.published import (
    READER_ROLE,
    PublishedColumn,
    PublishedKey,
    PublishedTable,
    PublishingError,
    read_catalogue,
)
from spicadb_kit.testing.services import role_dsn

OWNER = "pubowner"
OWNER_ROLE = "spicadb_pubowner"
READER = "pubreader"
READER_SERVICE_ROLE = "spicadb_pubreader"

# declared in another order than the view's columns: readers get the declared order
STARS = PublishedTable(
    schema="probecat",
    name="Stars",
    description="Stars of the probe owner",
    utype="probe:Stars",
    columns=(
        PublishedColumn(
            name="ra", datatype="double", unit="deg", ucd="pos.eq.ra", principal=True, indexed=True
        ),
        PublishedColumn(name="star_id", datatype="long", ucd="meta.id;meta.main", principal=True),
        PublishedColumn(
            name="seen", datatype="char", arraysize="*", xtype="timestamp", description="Last seen"
        ),
    ),
)
PLANETS = PublishedTable(
    schema="probecat",
    name="Planets",
    description="Planets of the probe's stars",
    table_type="table",
    columns=(
        PublishedColumn(name="planet", datatype="char", arraysize="*"),
        PublishedColumn(name="star_id", datatype="long"),
    ),
    keys=(PublishedKey(("star_id",), "probecat.Stars", ("star_id",), "The planet's star"),),
)
VIEWS = Migration(
    OWNER,
    1,
    "views",
    "CREATE TABLE star (id bigint PRIMARY KEY, ra double precision, seen timestamptz, secret text);"
    " INSERT INTO star VALUES (1, 10.5, now(), 'hidden');"
    " CREATE VIEW probecat.stars AS SELECT id AS star_id, ra, seen FROM star;"
    " CREATE TABLE probecat.planets (planet text, star_id bigint);"
    " INSERT INTO probecat.planets VALUES ('b', 1);"
    # in the published schema, but not declared: nobody else reads it
    " CREATE VIEW probecat.unpublished AS SELECT id, secret FROM star;",
)


@pytest.fixture
async def admin(database: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database)
    yield conn
    await conn.close()


async def publish_owner(
    conn: asyncpg.Connection, *tables: PublishedTable, migrations: tuple[Migration, ...] = (VIEWS,)
) -> None:
    await apply_migrations(conn, schema=OWNER, role=OWNER_ROLE, migrations=list(migrations), publishes=tables)


async def install_reader(conn: asyncpg.Connection) -> None:
    await apply_migrations(conn, schema=READER, role=READER_SERVICE_ROLE, migrations=[], reads_published=True)


async def test_the_schema_is_made_and_the_owner_creates_its_views_in_it(admin: asyncpg.Connection) -> None:
    await publish_owner(admin, STARS, PLANETS)
    assert await admin.fetchval("SELECT has_schema_privilege($1, 'probecat', 'USAGE, CREATE')", OWNER_ROLE)
    owners = await admin.fetch(
        "SELECT c.relname, pg_get_userbyid(c.relowner) AS owner FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'probecat'"
    )
    assert {r["relname"]: r["owner"] for r in owners} == {
        "stars": OWNER_ROLE,
        "planets": OWNER_ROLE,
        "unpublished": OWNER_ROLE,
    }


async def test_a_missing_declared_column_is_named(admin: asyncpg.Connection) -> None:
    wrong = msgspec.structs.replace(
        STARS, columns=(*STARS.columns, PublishedColumn(name="dec", datatype="double"))
    )
    with pytest.raises(PublishingError, match=r"probecat\.Stars has no column dec"):
        await publish_owner(admin, wrong)
    # nothing published: the reader role reads nothing
    assert await read_catalogue(admin) == []


async def test_a_declared_view_its_migrations_do_not_create_is_named(admin: asyncpg.Connection) -> None:
    ghost = msgspec.structs.replace(STARS, name="Ghosts")
    with pytest.raises(PublishingError, match=r"pubowner declares probecat\.Ghosts"):
        await publish_owner(admin, ghost)


async def test_select_is_granted_to_the_reader_role_on_the_declared_only(admin: asyncpg.Connection) -> None:
    await publish_owner(admin, STARS, PLANETS)
    granted = {
        name: await admin.fetchval(
            "SELECT has_table_privilege($1, $2, 'SELECT')", READER_ROLE, f"probecat.{name}"
        )
        for name in ("stars", "planets", "unpublished")
    }
    assert granted == {"stars": True, "planets": True, "unpublished": False}
    for privilege in ("INSERT", "UPDATE", "DELETE"):
        assert not await admin.fetchval(
            "SELECT has_table_privilege($1, 'probecat.planets', $2)", READER_ROLE, privilege
        )


async def test_read_catalogue_returns_the_declarations(admin: asyncpg.Connection) -> None:
    await publish_owner(admin, STARS, PLANETS)
    catalogue = await read_catalogue(admin)
    # sorted by schema and name; columns in declared order; the owner filled in
    assert catalogue == [
        msgspec.structs.replace(PLANETS, owner=OWNER),
        msgspec.structs.replace(STARS, owner=OWNER),
    ]
    assert [c.name for c in catalogue[1].columns] == ["ra", "star_id", "seen"]


async def test_a_reader_service_reads_the_views_not_the_owners_tables(
    admin: asyncpg.Connection, database: str
) -> None:
    await publish_owner(admin, STARS, PLANETS)
    await install_reader(admin)
    reader = await asyncpg.connect(role_dsn(database, READER_SERVICE_ROLE))
    try:
        # the service's own role reads the catalogue as the TAP service does
        assert [t.qualified for t in await read_catalogue(reader)] == ["probecat.Planets", "probecat.Stars"]
        async with reader.transaction(readonly=True):
            await reader.execute(f'SET LOCAL ROLE "{READER_ROLE}"')
            assert await reader.fetchval("SELECT ra FROM probecat.stars WHERE star_id = 1") == 10.5
            assert await reader.fetchval("SELECT count(*) FROM probecat.planets") == 1
        for hidden in (f"{OWNER}.star", "probecat.unpublished"):
            async with reader.transaction(readonly=True):
                await reader.execute(f'SET LOCAL ROLE "{READER_ROLE}"')
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await reader.fetch(f"SELECT * FROM {hidden}")
        # and the reader role writes nothing, even outside a read-only transaction
        async with reader.transaction():
            await reader.execute(f'SET LOCAL ROLE "{READER_ROLE}"')
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await reader.execute("INSERT INTO probecat.planets VALUES ('c', 1)")
    finally:
        await reader.close()


async def test_a_service_that_does_not_read_published_cannot_take_the_reader_role(
    admin: asyncpg.Connection, database: str
) -> None:
    await publish_owner(admin, STARS)
    await apply_migrations(admin, schema="pubother", role="spicadb_pubother", migrations=[])
    other = await asyncpg.connect(role_dsn(database, "spicadb_pubother"))
    try:
        async with other.transaction():
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await other.execute(f'SET LOCAL ROLE "{READER_ROLE}"')
    finally:
        await other.close()


async def test_running_the_migrations_again_changes_nothing(admin: asyncpg.Connection, database: str) -> None:
    await publish_owner(admin, STARS, PLANETS)
    await install_reader(admin)
    first = await read_catalogue(admin)
    await publish_owner(admin, STARS, PLANETS)
    await install_reader(admin)
    assert await read_catalogue(admin) == first
    assert await admin.fetchval(f"SELECT count(*) FROM {OWNER}.schema_migrations") == 1
    assert await admin.fetchval("SELECT count(*) FROM probecat.planets") == 1


async def test_a_changed_declaration_is_published_on_the_next_run(admin: asyncpg.Connection) -> None:
    await publish_owner(admin, STARS, PLANETS)
    fewer = msgspec.structs.replace(STARS, description="Fewer columns", columns=STARS.columns[:1])
    await publish_owner(admin, fewer)
    stars = {t.name: t for t in await read_catalogue(admin)}["Stars"]
    assert stars == msgspec.structs.replace(fewer, owner=OWNER)


async def test_a_table_no_longer_declared_is_withdrawn(admin: asyncpg.Connection) -> None:
    await publish_owner(admin, STARS, PLANETS)
    await publish_owner(admin, STARS)
    assert [t.qualified for t in await read_catalogue(admin)] == ["probecat.Stars"]
    assert not await admin.fetchval(
        "SELECT has_table_privilege($1, 'probecat.planets', 'SELECT')", READER_ROLE
    )
    # another owner's declarations in the same schema are not its to withdraw
    await apply_migrations(admin, schema="pubother", role="spicadb_pubother", migrations=[], publishes=())
    assert [t.qualified for t in await read_catalogue(admin)] == ["probecat.Stars"]


async def test_a_failing_declaration_publishes_none_of_the_run(admin: asyncpg.Connection) -> None:
    await publish_owner(admin, STARS)
    renamed = msgspec.structs.replace(STARS, description="Changed")
    ghost = msgspec.structs.replace(PLANETS, name="Ghosts")
    with pytest.raises(PublishingError, match="Ghosts"):
        await publish_owner(admin, renamed, PLANETS, ghost)
    assert await read_catalogue(admin) == [msgspec.structs.replace(STARS, owner=OWNER)]
