"""TAP_SCHEMA's rows, generated from the catalogue, and written only when they change.

The rows are what the declarations say, in the order readers list them (the ``*_index`` columns).
:func:`regenerate` compares a digest of the rows with the one stored beside them and rewrites all five
tables in one transaction when it differs, so a reader never sees a half-written TAP_SCHEMA and the
service's replicas do not rewrite it every time they look.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import msgspec

from spicadb_kit.published import PublishedColumn, PublishedTable

from . import Catalogue
from .names import adql_name

__all__ = [
    "SCHEMA_DESCRIPTIONS",
    "ResolvedKey",
    "TapSchemaRows",
    "ordered_tables",
    "regenerate",
    "resolved_keys",
    "tap_schema_rows",
]

SCHEMA_DESCRIPTIONS = {
    "ivoa": "Tables of IVOA data models (ObsCore 1.1)",
    "obsportal": "SPICA raw exposures (L0) with the names of JMMC's ObsPortal",
    "spicadb": "SPICA-DB programme targets and links between raw and reduced data",
    "catalogues": "Calibrator catalogues imported from JMMC's SearchCal, GetStar and JSDC",
    "tap_schema": "Metadata of the tables this service offers (TAP 1.1 TAP_SCHEMA)",
}

# the order clients list schemas in: the ObsCore data model first, TAP_SCHEMA last, others by name
_FIRST = "ivoa"
_LAST = "tap_schema"


@dataclass
class TapSchemaRows:
    """The rows of the five TAP_SCHEMA tables, each a tuple in the tables' column order."""

    schemas: list[tuple[Any, ...]] = field(default_factory=list)
    tables: list[tuple[Any, ...]] = field(default_factory=list)
    columns: list[tuple[Any, ...]] = field(default_factory=list)
    keys: list[tuple[Any, ...]] = field(default_factory=list)
    key_columns: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """What the rows are, in 64 hex digits."""
        encoded = msgspec.json.encode([self.schemas, self.tables, self.columns, self.keys, self.key_columns])
        return hashlib.sha256(encoded).hexdigest()


def _schema_order(schema: str) -> tuple[int, str]:
    folded = schema.lower()
    return (0 if folded == _FIRST else 2 if folded == _LAST else 1, folded)


def ordered_tables(catalogue: Catalogue) -> list[PublishedTable]:
    """The catalogue's tables in the order readers list them: by schema (ivoa first, TAP_SCHEMA last),
    then by name."""
    return sorted(catalogue.tables, key=lambda t: (_schema_order(t.schema), t.name.lower()))


def _flag(value: bool) -> int:
    return 1 if value else 0


def _size(arraysize: str | None) -> int | None:
    """TAP_SCHEMA.columns."size": a fixed one-dimensional arraysize ("2"), else null ("*", "10*", "2x3")."""
    return int(arraysize) if arraysize and arraysize.isdigit() else None


def column_row(table: PublishedTable, column: PublishedColumn, index: int) -> tuple[Any, ...]:
    """A TAP_SCHEMA.columns row (and what /tables says of the column)."""
    return (
        table.qualified,
        adql_name(column.name),
        column.datatype,
        column.arraysize,
        column.xtype,
        _size(column.arraysize),
        column.description or None,
        column.utype,
        column.unit,
        column.ucd,
        _flag(column.indexed),
        _flag(column.principal),
        _flag(column.std),
        index,
    )


def tap_schema_rows(catalogue: Catalogue) -> TapSchemaRows:
    """TAP_SCHEMA's rows for a catalogue; a key whose target table is not published is left out."""
    rows = TapSchemaRows()
    tables = ordered_tables(catalogue)
    schemas: list[str] = []
    for table in tables:
        if table.schema not in schemas:
            schemas.append(table.schema)
    for index, schema in enumerate(schemas):
        rows.schemas.append((schema, None, SCHEMA_DESCRIPTIONS.get(schema.lower()), index))
    for index, table in enumerate(tables):
        rows.tables.append(
            (table.schema, table.qualified, table.table_type, table.utype, table.description or None, index)
        )
        for position, column in enumerate(table.columns):
            rows.columns.append(column_row(table, column, position))
        for key in resolved_keys(catalogue, table):
            rows.keys.append((key.key_id, table.qualified, key.target, key.description, None))
            rows.key_columns += [(key.key_id, source, dest) for source, dest in key.columns]
    return rows


@dataclass(frozen=True)
class ResolvedKey:
    """A declared key whose target is published: its id, the target as the catalogue names it, and the
    (from, target) column pairs as ADQL writes them."""

    key_id: str
    target: str
    description: str | None
    columns: list[tuple[str, str]]


def resolved_keys(catalogue: Catalogue, table: PublishedTable) -> list[ResolvedKey]:
    """A table's keys to published tables (TAP_SCHEMA.keys and /tables' foreignKey both list these)."""
    keys = []
    for key in table.keys:
        target_schema, _, target_name = key.target.partition(".")
        target = catalogue.table(target_schema, target_name)
        if target is None:
            continue
        pairs = [(adql_name(a), adql_name(b)) for a, b in zip(key.columns, key.target_columns, strict=True)]
        key_id = f"{table.qualified}({','.join(key.columns)})"
        keys.append(ResolvedKey(key_id, target.qualified, key.description or None, pairs))
    return keys


# parents last when deleting, first when inserting (no foreign keys in SQL, but the order reads right)
_TABLES = ("schemas", "tables", "columns", "keys", "key_columns")


async def regenerate(conn: asyncpg.Connection, catalogue: Catalogue) -> bool:
    """Rewrite TAP_SCHEMA's rows from the catalogue if they changed (one transaction); whether it did."""
    rows = tap_schema_rows(catalogue)
    digest = rows.digest
    if await conn.fetchval("SELECT digest FROM tap_schema_generation") == digest:
        return False
    async with conn.transaction():
        # the lock makes a second replica wait, then find the digest current
        stored = await conn.fetchval("SELECT digest FROM tap_schema_generation FOR UPDATE")
        if stored == digest:
            return False
        for name in reversed(_TABLES):
            await conn.execute(f"DELETE FROM tap_schema.{name}")
        for name in _TABLES:
            records = getattr(rows, name)
            if records:
                await conn.copy_records_to_table(name, schema_name="tap_schema", records=records)
        await conn.execute("UPDATE tap_schema_generation SET digest = $1, generated_at = now()", digest)
    return True
