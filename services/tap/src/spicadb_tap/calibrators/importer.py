"""Import a calibrator VOTable into catalogues.calibrators: one catalogue source replaced at once.

The file is read as a stream (:mod:`.votable`), its rows converted a batch at a time (:mod:`.columns`) by
a child process (:mod:`.batches`) and written with COPY, batch after batch, while the next batches are read
(the parse, the COPY's encoding and PostgreSQL's side of it use the cores at once). Everything happens in one transaction: the source's previous
rows are deleted first and the new ones are visible to readers only at the commit, so a reader sees the
old catalogue or the new one, never a mixture; another source's rows are not touched. A bad row (a position
that cannot be read, a cell of the wrong kind) refuses the whole import (nothing written), or with
``skip_bad`` is reported by its row number and left out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from .batches import Batches, batches
from .columns import COPY_COLUMNS, BadRow, CatalogueError, Source, map_columns
from .votable import VOTableError, read_header

__all__ = [
    "BadRowsRefused",
    "CatalogueError",
    "ImportRefused",
    "ImportSummary",
    "SourceSummary",
    "import_catalogue",
    "list_sources",
]

# the tap service's own schema (the import history), and the published table
_IMPORTS = "tap.calibrator_imports"
_TABLE_SCHEMA, _TABLE = "catalogues", "calibrators"
_LOCK = "spicadb.catalogue:"
DEFAULT_BATCH = 5_000


class ImportRefused(CatalogueError):
    """The import was not done (the source exists and no replace was asked; nothing written)."""


class BadRowsRefused(CatalogueError):
    """A bad row refused the import (nothing written)."""

    def __init__(self, bad: BadRow) -> None:
        super().__init__(f"{bad}; nothing imported (--skip-bad leaves bad rows out)")
        self.bad = bad


@dataclass
class ImportSummary:
    """What an import did."""

    source: str
    import_id: int
    rows_read: int = 0
    rows_imported: int = 0
    rows_skipped: int = 0
    replaced: int = 0
    seconds: float = 0.0
    columns: list[Source] = field(default_factory=list)

    def line(self) -> str:
        """One line for the command's output."""
        rate = self.rows_imported / self.seconds if self.seconds else 0.0
        replaced = f", {self.replaced:,} rows replaced" if self.replaced else ""
        return (
            f"{self.source}: {self.rows_read:,} rows read, {self.rows_imported:,} imported, "
            f"{self.rows_skipped:,} skipped{replaced} in {self.seconds:.1f} s "
            f"({rate:,.0f} rows/s, import {self.import_id})"
        )


@dataclass(frozen=True)
class SourceSummary:
    """A catalogue source as ``spicadb catalogue list`` shows it."""

    source: str
    import_id: int
    file: str
    rows: int
    skipped: int
    imported_at: Any


async def import_catalogue(
    conn: asyncpg.Connection,
    path: Path,
    *,
    source: str,
    replace: bool = False,
    skip_bad: bool = False,
    batch_size: int = DEFAULT_BATCH,
    report: Callable[[BadRow], None] | None = None,
) -> ImportSummary:
    """Import ``path`` as catalogue ``source`` (see the module). Raises CatalogueError (the file cannot be
    read or mapped), ImportRefused (the source exists, no ``replace``), BadRowsRefused (a bad row, no
    ``skip_bad``); nothing is written then. ``report`` is told each bad row left out."""
    started = time.perf_counter()
    try:
        header = read_header(path)
    except (OSError, VOTableError) as exc:
        raise CatalogueError(f"{path.name}: {exc}") from None
    mapper = map_columns(header)
    async with conn.transaction():
        # two imports of one source queue here; readers are never blocked
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", _LOCK + source)
        present = await conn.fetchval(
            f"SELECT count(*) FROM {_TABLE_SCHEMA}.{_TABLE} WHERE source = $1", source
        )
        if present and not replace:
            raise ImportRefused(
                f"catalogue source {source!r} holds {present:,} rows already: --replace replaces them "
                "(in one transaction), or choose another --source"
            )
        import_id = await conn.fetchval(f"SELECT nextval('{_IMPORTS}_id_seq')")
        summary = ImportSummary(source, import_id, replaced=present, columns=mapper.sources)
        if present:
            await conn.execute(f"DELETE FROM {_TABLE_SCHEMA}.{_TABLE} WHERE source = $1", source)
        reading = batches(path, (source, import_id), batch_size)
        try:
            await _copy(conn, reading, summary, skip_bad, report)
        finally:
            await reading.close()
        await conn.execute(
            f"INSERT INTO {_IMPORTS} (id, source, file, rows_read, rows_imported, rows_skipped)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            import_id,
            source,
            path.name,
            summary.rows_read,
            summary.rows_imported,
            summary.rows_skipped,
        )
    # the planner's statistics at once (TAP's cone and magnitude conditions), not at autovacuum's leisure
    await conn.execute(f"ANALYZE {_TABLE_SCHEMA}.{_TABLE}")
    summary.seconds = time.perf_counter() - started
    return summary


async def _copy(
    conn: asyncpg.Connection,
    reading: Batches,
    summary: ImportSummary,
    skip_bad: bool,
    report: Callable[[BadRow], None] | None,
) -> None:
    """COPY each batch while the next ones are read."""
    while (batch := await reading.next()) is not None:
        values, bad, read = batch
        if bad and not skip_bad:
            raise BadRowsRefused(bad[0])
        summary.rows_read += read
        summary.rows_skipped += len(bad)
        for b in bad:
            if report is not None:
                report(b)
        if values:
            await conn.copy_records_to_table(
                _TABLE, schema_name=_TABLE_SCHEMA, columns=COPY_COLUMNS, records=values
            )
            summary.rows_imported += len(values)


async def list_sources(conn: asyncpg.Connection) -> list[SourceSummary]:
    """Every catalogue source with rows, its newest import and its row count."""
    rows = await conn.fetch(
        f"""SELECT c.source, c.rows, i.id, i.file, i.rows_skipped, i.imported_at
            FROM (SELECT source, count(*) AS rows FROM {_TABLE_SCHEMA}.{_TABLE} GROUP BY source) c
            LEFT JOIN LATERAL (
                SELECT * FROM {_IMPORTS} WHERE source = c.source ORDER BY id DESC LIMIT 1) i ON true
            ORDER BY c.source"""
    )
    return [
        SourceSummary(
            r["source"], r["id"], r["file"] or "", r["rows"], r["rows_skipped"] or 0, r["imported_at"]
        )
        for r in rows
    ]
