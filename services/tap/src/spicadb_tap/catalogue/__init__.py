"""The catalogue: every table the TAP service offers, learnt from the database (the owners' published
declarations), looked up by ADQL names case-insensitively (ADQL's regular identifiers fold case)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import asyncpg
import msgspec

from spicadb_kit.published import PublishedColumn, PublishedTable, read_catalogue

from .tap_schema import PUBLISHED as TAP_SCHEMA_TABLES

__all__ = ["Catalogue", "load_catalogue"]


def _key(*names: str) -> tuple[str, ...]:
    return tuple(n.lower() for n in names)


@dataclass(frozen=True)
class Catalogue:
    """The published tables (sorted by schema, then name) and indexes by lower-case names."""

    tables: list[PublishedTable]
    _tables: dict[tuple[str, ...], PublishedTable] = field(init=False, repr=False, compare=False)
    _columns: dict[tuple[str, ...], PublishedColumn] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tables = {_key(t.schema, t.name): t for t in self.tables}
        columns = {_key(t.schema, t.name, c.name): c for t in self.tables for c in t.columns}
        object.__setattr__(self, "_tables", tables)
        object.__setattr__(self, "_columns", columns)

    def table(self, schema: str, name: str) -> PublishedTable | None:
        """The table ``schema.name`` (any case), or None."""
        return self._tables.get(_key(schema, name))

    def column(self, schema: str, table: str, column: str) -> PublishedColumn | None:
        """The column ``schema.table.column`` (any case), or None."""
        return self._columns.get(_key(schema, table, column))

    @property
    def schemas(self) -> list[str]:
        """The schemas' names as declared (first spelling met), sorted case-insensitively."""
        seen: dict[str, str] = {}
        for t in self.tables:
            seen.setdefault(t.schema.lower(), t.schema)
        return [seen[k] for k in sorted(seen)]


def catalogue_of(tables: Iterable[PublishedTable]) -> Catalogue:
    """A catalogue of some tables, sorted as readers list them (schema, then name, case-insensitively)."""
    return Catalogue(sorted(tables, key=lambda t: (t.schema.lower(), t.name.lower())))


async def load_catalogue(conn: asyncpg.Connection) -> Catalogue:
    """The tables published in the database, TAP_SCHEMA's own included (its declarations are the
    service's code: they describe it even before its first publication)."""
    tables = await read_catalogue(conn)
    known = {_key(t.schema, t.name) for t in tables}
    tables += [
        msgspec.structs.replace(t, owner="tap")
        for t in TAP_SCHEMA_TABLES
        if _key(t.schema, t.name) not in known
    ]
    return catalogue_of(tables)
