"""Target lists in and out: Aspro2-ready VOTable, CSV and JSON, with per-row errors on import.

``parse_target_list`` reads a whole document and reports every bad cell (row and column as named in
the file); the rows without errors come back as :class:`TargetIn` in file order.
"""

from __future__ import annotations

from spicadb_kit.bulk import collector_paused
from spicadb_kit.problems import UNSUPPORTED_MEDIA_TYPE

from .common import ExportContext, ParsedList, RowError, TargetListError
from .csvlist import iter_csv, parse_csv, write_csv
from .duplicates import Duplicate, find_duplicates
from .export_spicadb import iter_spicadb, write_spicadb
from .export_votable import iter_votable, write_votable
from .jsonlist import parse_json, write_json
from .votable import parse_fits_table, parse_votable

__all__ = [
    "MEDIA_TYPES",
    "Duplicate",
    "ExportContext",
    "ParsedList",
    "RowError",
    "TargetListError",
    "find_duplicates",
    "iter_csv",
    "iter_spicadb",
    "iter_votable",
    "parse_target_list",
    "write_csv",
    "write_json",
    "write_spicadb",
    "write_votable",
]

# media type -> format
MEDIA_TYPES: dict[str, str] = {
    "application/x-votable+xml": "votable",
    "text/xml": "votable",
    "application/xml": "votable",
    "text/csv": "csv",
    "application/json": "json",
    "application/fits": "fits",
    "image/fits": "fits",
}
_SNIFF = {"application/octet-stream", ""}


def _sniff(body: bytes) -> str:
    if body.startswith(b"SIMPLE  ="):
        return "fits"
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        return "votable"
    if head in (b"[", b"{"):
        return "json"
    return "csv"


def parse_target_list(body: bytes, content_type: str | None) -> ParsedList:
    """Read a target list; TargetListError (415/422) when the document as a whole is unusable."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in _SNIFF:
        fmt = _sniff(body)
    elif media in MEDIA_TYPES:
        fmt = MEDIA_TYPES[media]
    else:
        raise TargetListError(
            f"Cannot read a target list sent as {media!r}: send a VOTable (application/x-votable+xml), "
            "CSV (text/csv), JSON (application/json) or a FITS table (application/fits).",
            kind=UNSUPPORTED_MEDIA_TYPE,
        )
    if not body or body.isspace():  # as `not body.strip()`, without copying the body
        raise TargetListError("The target list is empty.")
    with collector_paused():
        if fmt == "votable":
            return parse_votable(body)
        if fmt == "fits":
            return parse_fits_table(body)
        if fmt == "json":
            return parse_json(body)
        return parse_csv(body)
