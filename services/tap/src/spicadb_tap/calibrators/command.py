"""``spicadb catalogue``: import a calibrator catalogue (JSDC, SearchCal, GetStar VOTables) into the TAP
service's catalogues.calibrators, or list the catalogue sources it holds.

    spicadb catalogue import FILE [--source NAME] [--replace] [--skip-bad] [--batch N]
    spicadb catalogue list

Registered with the kit's ``spicadb`` command through the entry-point group ``spicadb.commands``
(services/tap/pyproject.toml). It connects with ``SPICADB_DATABASE_URL`` (the tap service's role, or an
admin of the cluster), as the other operating commands do.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg

from spicadb_kit.settings import ServiceSettings

if TYPE_CHECKING:
    from .columns import BadRow

__all__ = ["add_command", "run"]

# bad rows printed one by one before they are only counted
_SHOWN = 50
# rows per COPY (the importer's default; not imported from it: astropy loads slowly, and every `spicadb`
# command builds this parser)
DEFAULT_BATCH = 5_000


def add_command(commands: Any) -> None:
    """Add ``catalogue`` to the ``spicadb`` command's subcommands (the ``spicadb.commands`` hook)."""
    catalogue = commands.add_parser("catalogue", help="import or list calibrator catalogues (TAP)")
    actions = catalogue.add_subparsers(dest="catalogue_action", required=True)
    imported = actions.add_parser(
        "import", help="import a VOTable (JSDC, SearchCal, GetStar) as one catalogue source"
    )
    imported.add_argument("file", type=Path)
    imported.add_argument("--source", help="the catalogue source's name (default: the file's name)")
    imported.add_argument(
        "--replace", action="store_true", help="replace the source's rows when it exists (one transaction)"
    )
    imported.add_argument(
        "--skip-bad", action="store_true", help="leave bad rows out (reported) instead of refusing the file"
    )
    imported.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="rows per COPY")
    actions.add_parser("list", help="the catalogue sources, their rows and newest import")
    catalogue.set_defaults(handler=run)


def default_source(path: Path) -> str:
    """``jsdc_v2.vot`` -> ``jsdc_v2``."""
    stem = path.name.split(".")[0]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem) or "catalogue"


def run(args: argparse.Namespace) -> int:
    """The ``catalogue`` command's exit status: 0 done, 1 refused (nothing written)."""
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    try:
        conn = await asyncpg.connect(ServiceSettings.from_env().database_url)
        try:
            if args.catalogue_action == "list":
                return await _list(conn)
            return await _import(conn, args)
        finally:
            await conn.close()
    except (OSError, asyncpg.PostgresError) as exc:  # the database refused or went away: nothing written
        print(f"spicadb catalogue {args.catalogue_action}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


async def _list(conn: asyncpg.Connection) -> int:
    from .importer import list_sources

    sources = await list_sources(conn)
    for s in sources:
        when = f"{s.imported_at:%Y-%m-%d %H:%M:%S}" if s.imported_at else "-"
        print(f"{s.source:<24} {s.rows:>10,} rows  import {s.import_id}  {when}  {s.file}")
    print(f"{len(sources)} catalogue sources")
    return 0


async def _import(conn: asyncpg.Connection, args: argparse.Namespace) -> int:
    from .importer import CatalogueError, import_catalogue

    path: Path = args.file
    source = args.source or default_source(path)
    shown = 0

    def report(bad: BadRow) -> None:
        nonlocal shown
        shown += 1
        if shown <= _SHOWN:
            print(f"skipped {bad}", file=sys.stderr)

    try:
        summary = await import_catalogue(
            conn,
            path,
            source=source,
            replace=args.replace,
            skip_bad=args.skip_bad,
            batch_size=max(1, args.batch),
            report=report,
        )
    except CatalogueError as exc:
        print(f"spicadb catalogue import: {exc}", file=sys.stderr)
        return 1
    if shown > _SHOWN:
        print(f"... and {shown - _SHOWN:,} more bad rows skipped", file=sys.stderr)
    print("columns: " + ", ".join(f"{s.column}<-{s.field}" for s in summary.columns))
    print(summary.line())
    return 0
