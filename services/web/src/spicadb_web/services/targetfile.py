"""A target list's rows as the import preview shows them: the file's own columns and cells, each row
numbered as the programmes API names it in its errors (``rows[n].column``): a CSV row by the line it
starts on, a VOTable or JSON row by its place (1 for the first). The console does not judge the cells
(the API does, in its dry run); it only shows them, so that a bad cell is seen at its row and column.

Read as the programmes API reads (the kit's CSV preamble and delimiter rule); a file the console cannot
show as a table (FITS, or not readable at all) is previewed by the API's report and errors alone."""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from spicadb_kit.tabular import csv_start

VOTABLE = "application/x-votable+xml"
# a file's media type as the import API takes it, from what the browser said or the file's name
# (a TSV is CSV to the API: a header without a comma is read with its tabs or semicolons)
MEDIA_TYPES = {
    "text/csv": "text/csv",
    "text/tab-separated-values": "text/csv",
    "application/vnd.ms-excel": "text/csv",  # what some browsers call a .csv
    VOTABLE: VOTABLE,
    "text/xml": VOTABLE,
    "application/xml": VOTABLE,
    "application/json": "application/json",
    "application/fits": "application/fits",
    "image/fits": "application/fits",
}
SUFFIXES = {
    "csv": "text/csv",
    "tsv": "text/csv",
    "tab": "text/csv",
    "txt": "text/csv",
    "xml": VOTABLE,
    "vot": VOTABLE,
    "votable": VOTABLE,
    "json": "application/json",
    "fits": "application/fits",
    "fit": "application/fits",
    "fts": "application/fits",
}
# what the API sniffs (its first bytes say what it is)
UNKNOWN = "application/octet-stream"
# rows a preview shows: all of a short list; of a longer one, the rows with errors (as many), else the first
SHOWN = 200
FIRST = 50
# a cell as the table shows it
CELL_CHARS = 80

_PLACE = re.compile(r"^rows\[(\d+)\](?:\.(.*))?$")


def media_type(filename: str, declared: str) -> str:
    """The media type to send a file as: the file's suffix first (browsers disagree on what a .csv or
    a .vot is), then what the browser declared, else left for the API to sniff."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    return MEDIA_TYPES.get(declared.split(";", 1)[0].strip().lower(), UNKNOWN)


@dataclass(frozen=True, slots=True)
class BadCell:
    """One error the API named: its row and column (as the file names them; "" for the row as a whole
    or for an error of no row), its message, and the anchor of its cell in the preview (if shown)."""

    index: int
    row: int | None
    column: str
    message: str
    anchor: str | None = None


def bad_cells(errors: Iterable[Mapping[str, Any]]) -> list[BadCell]:
    """The API's errors (``rows[4].ra``: row 4, column ra) in its order."""
    found: list[BadCell] = []
    for index, error in enumerate(errors):
        place = _PLACE.match(str(error.get("field") or ""))
        message = str(error.get("message") or error.get("detail") or "")
        if place is None:
            found.append(BadCell(index, None, str(error.get("field") or ""), message))
        else:
            found.append(BadCell(index, int(place.group(1)), place.group(2) or "", message))
    return found


@dataclass
class FileTable:
    """The rows of a file shown in the preview, and where each bad cell is."""

    # "Line" (a CSV row is named by its line) or "Row"
    row_label: str
    columns: list[str]
    # (the row's number as the API names it, its cells)
    rows: list[tuple[int, list[str]]]
    total: int
    # (row, column index or -1 for the row) -> the errors there
    marks: dict[tuple[int, int], list[BadCell]] = field(default_factory=dict)

    def mark(self, cells: list[BadCell]) -> list[BadCell]:
        """Place each error at its cell (a column the file does not have: the row); the errors again,
        with the anchors of the cells shown."""
        shown = {number for number, _ in self.rows}
        exact = {name: k for k, name in enumerate(self.columns)}
        folded = {name.strip().lower(): k for k, name in enumerate(self.columns)}
        placed: list[BadCell] = []
        for cell in cells:
            if cell.row is None or cell.row not in shown:
                placed.append(cell)
                continue
            k = exact.get(cell.column, folded.get(cell.column.strip().lower(), -1)) if cell.column else -1
            anchor = f"cell-{cell.row}-{k}" if k >= 0 else f"row-{cell.row}"
            located = BadCell(cell.index, cell.row, cell.column, cell.message, anchor)
            self.marks.setdefault((cell.row, k), []).append(located)
            placed.append(located)
        return placed

    @property
    def hidden(self) -> int:
        return self.total - len(self.rows)


def read_table(content: bytes, media: str, wanted: set[int]) -> FileTable | None:
    """The rows to show of a file sent as ``media`` (the rows numbered in ``wanted`` when it is long),
    or None when it cannot be shown as a table (FITS, not UTF-8, not a VOTable...)."""
    kind = _kind(content, media)
    try:
        if kind == "csv":
            return _csv(content, wanted)
        if kind == "votable":
            return _votable(content, wanted)
        if kind == "json":
            return _json(content, wanted)
    except (ValueError, csv.Error, msgspec.DecodeError):  # UnicodeDecodeError too
        return None
    return None


def _kind(content: bytes, media: str) -> str:
    if media == "text/csv":
        return "csv"
    if media == VOTABLE:
        return "votable"
    if media == "application/json":
        return "json"
    if media != UNKNOWN or content.startswith(b"SIMPLE  ="):
        return ""
    head = content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "votable" if head == b"<" else "json" if head in (b"[", b"{") else "csv"


class _Keep:
    """Which rows a preview keeps as it reads: all of a short list; of a longer one, the wanted rows
    (those with errors) or else the first ones."""

    def __init__(self, wanted: set[int]) -> None:
        self.wanted = wanted
        self.first: list[tuple[int, list[str]]] = []
        self.picked: list[tuple[int, list[str]]] = []
        self.total = 0

    def offer(self, number: int, cells: list[Any]) -> None:
        self.total += 1
        early, wanted = self.total <= SHOWN, number in self.wanted and len(self.picked) < SHOWN
        if early or wanted:
            row = (number, [_cell(c) for c in cells])
            if early:
                self.first.append(row)
            if wanted:
                self.picked.append(row)

    def table(self, label: str, columns: list[str]) -> FileTable:
        short = self.total <= SHOWN
        rows = self.first if short else self.picked if self.wanted else self.first[:FIRST]
        width = max([len(columns), *(len(cells) for _, cells in rows)])  # a row too long: its cells shown
        rows = [(number, cells + [""] * (width - len(cells))) for number, cells in rows]
        return FileTable(label, columns + [""] * (width - len(columns)), rows, self.total)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"


def _csv(content: bytes, wanted: set[int]) -> FileTable | None:
    lines = content.decode("utf-8-sig").splitlines(keepends=True)
    start = csv_start(lines)
    if start is None:
        return None
    reader = csv.reader(io.StringIO("".join(lines[start.header :])), delimiter=start.delimiter)
    header = [h.strip() for h in next(reader)]
    keep = _Keep(wanted)
    while True:
        first = reader.line_num + start.header + 1  # the record's first line in the file, as the API counts
        try:
            cells = next(reader)
        except StopIteration:
            break
        if any(c.strip() for c in cells):
            keep.offer(first, cells)
    return keep.table("Line", header)


def _votable(content: bytes, wanted: set[int]) -> FileTable | None:
    from astropy.io.votable import parse  # only for a VOTable's preview

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            document = parse(io.BytesIO(content), verify="ignore")
        except Exception:  # astropy's parser raises many kinds: a file it cannot read is not shown
            return None
        table = next(iter(document.iter_tables()), None)
        if table is None:
            return None
        columns = [str(f.name or f.ID or "") for f in table.fields]
        data = table.array
        keep = _Keep(wanted)
        for index in range(len(data)):
            row = data[index]
            mask = data.mask[index] if hasattr(data, "mask") else None
            cells = [
                "" if mask is not None and _masked(mask[k]) else _value(row[k]) for k in range(len(columns))
            ]
            keep.offer(index + 1, cells)
    return keep.table("Row", columns)


def _masked(flag: Any) -> bool:
    try:
        return bool(flag.all()) if hasattr(flag, "all") else bool(flag)
    except (TypeError, ValueError):
        return False


def _value(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _json(content: bytes, wanted: set[int]) -> FileTable | None:
    document = msgspec.json.decode(content)
    if isinstance(document, dict):
        document = document.get("targets")
    if not isinstance(document, list):
        return None
    named: dict[str, None] = {}  # every key, in the order they first come
    for item in document:
        if isinstance(item, dict):
            named.update(dict.fromkeys(item))
    columns = list(named)
    keep = _Keep(wanted)
    for index, item in enumerate(document):
        cells = [_json_cell(item.get(k)) for k in columns] if isinstance(item, dict) else [_json_cell(item)]
        keep.offer(index + 1, cells)
    return keep.table("Row", columns)


def _json_cell(value: Any) -> str:
    if value is None or isinstance(value, str):
        return value or ""
    return msgspec.json.encode(value).decode()
