"""Published views: the tables a service offers to readers outside it (the TAP service), declared once.

A service that publishes declares its tables in its spec (``ServiceSpec.published``) and creates them as
views in its own migrations, in the ADQL schema they are published under (``ivoa``, ``obsportal``,
``spicadb``, ``catalogues``, ``tap_schema``). The PostgreSQL names are the ADQL names folded to lower case
(``ivoa.ObsCore`` is the view ``ivoa.obscore``), so an ADQL query translated to SQL names them directly.

:func:`provision` (run by the migration runner, as the cluster's admin) creates those schemas and lets the
owner create in them before its migrations; afterwards :func:`publish` checks that every declared column
exists, grants SELECT to the one role readers take (:data:`READER_ROLE`) and writes the declaration into
the database itself, as a JSON comment on the view and on each column. :func:`read_catalogue` reads them
back: a reader learns what is published (VOTable types, units, UCDs, utypes, descriptions) from the
database alone, without importing the services that own the data.

Views that hold data with rights filter their rows themselves, by the viewer the reader sets for its
transaction (``spicadb_kit.rights.set_published_viewer``): a row a viewer may not see is not in the view,
so neither a count nor a join can reveal it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Literal

import asyncpg
import msgspec

__all__ = [
    "READER_ROLE",
    "PublishedColumn",
    "PublishedKey",
    "PublishedTable",
    "PublishingError",
    "column",
    "provision",
    "publish",
    "read_catalogue",
    "schemas",
]

# the role a reader of the published views takes for its queries (NOLOGIN: a reader's own role is
# granted membership and switches to it with SET LOCAL ROLE)
READER_ROLE = "spicadb_published_reader"
# the mark that tells a published declaration from any other comment
_MARK = "spicadb.published"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")

# VOTable datatypes (TAP 1.1's TAP_SCHEMA.columns.datatype holds these, not ADQL names)
VOTableType = Literal[
    "boolean", "unsignedByte", "short", "int", "long", "float", "double", "char", "unicodeChar"
]


class PublishingError(RuntimeError):
    """A declaration and the database disagree (a declared view or column is missing)."""


class PublishedColumn(msgspec.Struct, frozen=True, omit_defaults=True):
    """One column of a published table, as TAP_SCHEMA.columns and VODataService describe it."""

    name: str
    datatype: VOTableType
    description: str = ""
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    # "*" for a string of any length, "2" for a fixed array ...
    arraysize: str | None = None
    # DALI: "timestamp", "point", "circle", "polygon", or "adql:REGION" (an STC-S string)
    xtype: str | None = None
    # in the default columns of a client's table view
    principal: bool = False
    # an index serves conditions on it
    indexed: bool = False
    # defined by a standard (ObsCore's columns)
    std: bool = False


def column(
    name: str,
    datatype: VOTableType,
    description: str,
    *,
    unit: str | None = None,
    ucd: str | None = None,
    utype: str | None = None,
    xtype: str | None = None,
    principal: bool = False,
    indexed: bool = False,
    std: bool = False,
) -> PublishedColumn:
    """A column as owners usually declare one: a string of any length (``arraysize="*"``) for ``char``
    and ``unicodeChar``, a scalar otherwise."""
    return PublishedColumn(
        name=name,
        datatype=datatype,
        description=description,
        unit=unit,
        ucd=ucd,
        utype=utype,
        arraysize="*" if datatype in ("char", "unicodeChar") else None,
        xtype=xtype,
        principal=principal,
        indexed=indexed,
        std=std,
    )


class PublishedKey(msgspec.Struct, frozen=True, omit_defaults=True):
    """A foreign key between published tables (TAP_SCHEMA.keys and key_columns)."""

    columns: tuple[str, ...]
    # "schema.Table", as declared
    target: str
    target_columns: tuple[str, ...]
    description: str = ""


class PublishedTable(msgspec.Struct, frozen=True, omit_defaults=True):
    """A published table: ``schema.name`` as readers write it in ADQL; the view is its lower case."""

    schema: str
    name: str
    description: str
    columns: tuple[PublishedColumn, ...]
    utype: str | None = None
    # "view" or "table", as TAP_SCHEMA.tables.table_type
    table_type: str = "view"
    keys: tuple[PublishedKey, ...] = ()
    # the owning service (filled when published)
    owner: str = ""

    @property
    def qualified(self) -> str:
        """``schema.Name`` as readers write it."""
        return f"{self.schema}.{self.name}"

    @property
    def relation(self) -> str:
        """The PostgreSQL relation, quoted: ``"ivoa"."obscore"``."""
        return f'"{_identifier(self.schema.lower())}"."{_identifier(self.name.lower())}"'


def _identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise PublishingError(f"{name!r} is not a plain lower-case SQL identifier")
    return name


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def schemas(tables: Iterable[PublishedTable]) -> list[str]:
    """The PostgreSQL schemas some tables are published in."""
    return sorted({_identifier(t.schema.lower()) for t in tables})


async def provision(conn: asyncpg.Connection, *, role: str, tables: Sequence[PublishedTable]) -> None:
    """Before the owner's migrations (as the cluster's admin): the reader role, and the schemas the owner
    publishes in, which it may create views in (several owners can publish in one schema)."""
    if not tables:
        return
    await ensure_reader_role(conn)
    for schema in schemas(tables):
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(f'GRANT USAGE, CREATE ON SCHEMA "{schema}" TO "{_identifier(role)}"')
        await conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{READER_ROLE}"')


async def ensure_reader_role(conn: asyncpg.Connection) -> None:
    """The reader role, created once per cluster (NOLOGIN)."""
    if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", READER_ROLE):
        await conn.execute(f'CREATE ROLE "{READER_ROLE}" NOLOGIN')


async def grant_reader(conn: asyncpg.Connection, role: str) -> None:
    """Let a reader service's role take the reader role (``SET LOCAL ROLE``)."""
    await ensure_reader_role(conn)
    await conn.execute(f'GRANT "{READER_ROLE}" TO "{_identifier(role)}"')


async def publish(conn: asyncpg.Connection, *, owner: str, tables: Sequence[PublishedTable]) -> None:
    """After the owner's migrations (as the cluster's admin): check each declared view and column exists,
    grant SELECT to the reader role, write the declarations as comments, and withdraw what the owner
    published before but declares no more. All or nothing: a declaration that fails publishes none."""
    async with conn.transaction():
        for table in tables:
            await _publish_one(conn, msgspec.structs.replace(table, owner=owner))
        await _withdraw_undeclared(conn, owner, tables)


async def _withdraw_undeclared(
    conn: asyncpg.Connection, owner: str, tables: Sequence[PublishedTable]
) -> None:
    """The owner's relations still marked published whose declaration is gone: no comment, no SELECT for
    the reader role (readers stop seeing them)."""
    declared = {(t.schema.lower(), t.name.lower()) for t in tables}
    for row in await conn.fetch(_MARKED_SQL, _MARK):
        table = msgspec.json.decode(row["comment"][len(_MARK) :], type=PublishedTable)
        if table.owner != owner or (table.schema.lower(), table.name.lower()) in declared:
            continue
        await conn.execute(f'REVOKE SELECT ON {table.relation} FROM "{READER_ROLE}"')
        await conn.execute(f"COMMENT ON {_KINDS[row['relkind']]} {table.relation} IS NULL")


async def _publish_one(conn: asyncpg.Connection, declared: PublishedTable) -> None:
    owner = declared.owner
    found = await conn.fetchrow(
        "SELECT c.oid, c.relkind::text FROM pg_class c WHERE c.oid = to_regclass($1)", declared.relation
    )
    if found is None:
        raise PublishingError(f"{owner} declares {declared.qualified} but its migrations do not create it")
    if found["relkind"] not in _KINDS:
        raise PublishingError(f"{declared.qualified} is not a table or a view")
    oid = found["oid"]
    present = {
        r["attname"]
        for r in await conn.fetch(
            "SELECT attname FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped",
            oid,
        )
    }
    missing = [c.name for c in declared.columns if c.name not in present]
    if missing:
        raise PublishingError(f"{declared.qualified} has no column {', '.join(missing)}")
    await conn.execute(f'GRANT SELECT ON {declared.relation} TO "{READER_ROLE}"')
    # the whole declaration on the view (its columns in declared order), each column's on the column
    # too, for a person reading the database (psql's \d+)
    await conn.execute(
        f"COMMENT ON {_KINDS[found['relkind']]} {declared.relation} IS "
        + _literal(_MARK + msgspec.json.encode(declared).decode())
    )
    for column in declared.columns:
        await conn.execute(
            f'COMMENT ON COLUMN {declared.relation}."{_identifier(column.name)}" IS '
            + _literal(_MARK + msgspec.json.encode(column).decode())
        )


# what COMMENT ON calls each kind of relation (COMMENT ON TABLE refuses a view)
_KINDS = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "f": "FOREIGN TABLE"}

_MARKED_SQL = """
SELECT obj_description(c.oid, 'pg_class') AS comment, c.relkind::text AS relkind
FROM pg_class c
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND obj_description(c.oid, 'pg_class') LIKE $1 || '%'
"""

_CATALOGUE_SQL = """
SELECT obj_description(c.oid, 'pg_class') AS comment
FROM pg_class c
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND obj_description(c.oid, 'pg_class') LIKE $1 || '%'
  AND has_table_privilege($2, c.oid, 'SELECT')
"""


async def read_catalogue(conn: asyncpg.Connection) -> list[PublishedTable]:
    """Every published table the reader role may read, with its declared columns (in declared order),
    sorted by schema and name."""
    tables = [
        msgspec.json.decode(row["comment"][len(_MARK) :], type=PublishedTable)
        for row in await conn.fetch(_CATALOGUE_SQL, _MARK, READER_ROLE)
    ]
    return sorted(tables, key=lambda t: (t.schema.lower(), t.name.lower()))
