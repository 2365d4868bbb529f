"""CSV target lists: a header row, then one target per line.

Columns are matched case-insensitively by TargetIn field names or common aliases (RAJ2000,
DEJ2000, V, sp_type, main_id…). RA/DEC are decimal degrees, or sexagesimal strings: hours for RA
('05 14 32.27', '05:14:32.27'), degrees for DEC ('-08 12 05.9'). UTF-8, a BOM tolerated; the
delimiter is a comma, or a semicolon/tab when the header has no comma. Text cells that a spreadsheet
would run as a formula are written behind a single quote, which the reader takes off again.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from spicadb_kit.tabular import csv_start

from ..models import ImportNotice, TargetIn, TargetOut
from .columns import Source, infer_datatype, keep_columns, scrub
from .common import FIELDS, STRUCTURED, Column, ParsedList, RowError, TargetListError, assemble

ALIASES: dict[str, str] = {
    **{f: f for f in FIELDS},
    # names
    "main_id": "name",
    "star": "name",
    "target": "name",
    "target_name": "name",
    "object": "name",
    "object_name": "name",
    "identifier": "name",
    # positions
    "raj2000": "ra",
    "ra_j2000": "ra",
    "ra_d": "ra",
    "ra_deg": "ra",
    "radeg": "ra",
    "ra_icrs": "ra",
    "right_ascension": "ra",
    "dej2000": "dec",
    "decj2000": "dec",
    "dec_j2000": "dec",
    "dec_d": "dec",
    "dec_deg": "dec",
    "decdeg": "dec",
    "dedeg": "dec",
    "de_icrs": "dec",
    "declination": "dec",
    "de": "dec",
    # motions
    "pm_ra": "pmra",
    "pmra_cosdec": "pmra",
    "pm_dec": "pmdec",
    "pmde": "pmdec",
    "plx": "parallax",
    "plx_value": "parallax",
    "rv": "radial_velocity",
    "rv_value": "radial_velocity",
    "sysvel": "radial_velocity",
    # photometry
    **{b: f"mag_{b}" for b in "vrijhk"},
    **{f"{b}mag": f"mag_{b}" for b in "vrijhk"},
    **{f"flux_{b}": f"mag_{b}" for b in "vrijhk"},
    # classification
    "sp_type": "spectral_type",
    "sptype": "spectral_type",
    "spectyp": "spectral_type",
    "otype": "object_type",
    "objtyp": "object_type",
    "main_type": "object_type",
    # identifiers and the rest
    "2mass": "tmass",
    "gaia_dr3": "gaia",
    "note": "notes",
    "comment": "notes",
    "comments": "notes",
    "wp": "work_package",
    "group": "work_package",
}
_NORMALISE = re.compile(r"[\s\-]+")


def _key(header: str) -> str:
    return _NORMALISE.sub("_", header.strip().strip('"').strip().lower())


def parse_csv(body: bytes) -> ParsedList:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TargetListError(f"The CSV target list is not UTF-8 text (byte {exc.start}).") from None
    lines = text.splitlines(keepends=True)
    start = csv_start(lines)  # after the blank and comment lines; its delimiter
    if start is None:
        raise TargetListError("The CSV target list is empty: a header row (name, ra, dec, …) is required.")
    skipped, delimiter = start.header, start.delimiter
    reader = csv.reader(io.StringIO("".join(lines[skipped:])), delimiter=delimiter)
    header = next(reader)
    fields: dict[int, tuple[str, str]] = {}  # cell index -> (header, field)
    taken: set[str] = set()
    others: dict[int, str] = {}  # cell index -> header of a column kept by keep_columns
    ignored: list[str] = []
    for k, raw in enumerate(header):
        field = ALIASES.get(_key(raw))
        if field in STRUCTURED:  # built from columns of their own (Gmag, JSDC2_LDD...), not read as text
            ignored.append(raw.strip())
            continue
        if field is None or field in taken:
            if raw.strip() and raw.strip() not in others.values():
                others[k] = raw.strip()
            continue
        taken.add(field)
        fields[k] = (raw.strip(), field)
    missing = [f for f in ("name", "ra", "dec") if f not in taken]
    if missing:
        raise TargetListError(
            f"The CSV header has no {', '.join(missing)} column "
            f"(found: {', '.join(h.strip() for h in header) or 'nothing'}); "
            "name, ra and dec are required (aliases: main_id, RAJ2000, DEJ2000, …)."
        )
    values: dict[int, list[str | None]] = {k: [] for k in (*fields, *others)}
    row_numbers: list[int] = []
    row_errors: list[RowError] = []
    line = skipped + 1  # the header's line
    width = len(header)
    try:
        while True:
            first = reader.line_num + skipped + 1  # the record's first line in the file
            try:
                cells = next(reader)
            except StopIteration:
                break
            if not any(c.strip() for c in cells):
                continue
            line = first
            row_numbers.append(line)
            if len(cells) > width and any(c.strip() for c in cells[width:]):
                row_errors.append(
                    RowError(line, "", f"{len(cells)} cells but the header has {width} columns")
                )
            for k in values:
                values[k].append(_uncell(cells[k]) if k < len(cells) else None)
    except csv.Error as exc:
        raise TargetListError(f"The CSV target list is malformed near line {line + 1}: {exc}.") from None
    columns = [Column(source=h, field=f, values=values[k]) for k, (h, f) in fields.items()]
    notices: list[ImportNotice] = []
    for column in columns:
        column.values = scrub(column.values, column.source, notices)
    sources = [
        Source(h, infer_datatype([v for v in values[k] if v is not None][:100])[0], values[k], core=f)
        for k, (h, f) in fields.items()
    ]
    for k, h in others.items():
        datatype, typed_values = infer_datatype(scrub(values[k], h, notices))
        sources.append(Source(name=h, datatype=datatype, values=typed_values))
    order = {h.strip(): k for k, h in enumerate(header)}
    sources.sort(key=lambda source: order.get(source.name, len(order)))
    kept = keep_columns(len(row_numbers), sources, notices)
    columns += [
        Column(source=source, field=field, values=cells, checked=field in STRUCTURED)
        for field, source, cells in kept.fields
    ]
    row_errors += [RowError(row_numbers[i], column, message) for i, column, message in kept.errors]
    parsed = assemble(
        "csv", columns, row_numbers, ignored + kept.ignored, row_errors=row_errors, warnings=notices
    )
    parsed.columns = kept.described
    parsed.properties = kept.properties
    parsed.work_package_titles = kept.work_package_titles
    return parsed


# a text cell starting with one of these is a formula to a spreadsheet (OWASP, CSV injection)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float | int):
        return repr(value)  # numbers are data, a negative one too
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _uncell(text: str) -> str:
    """A cell as written by :func:`_cell`: the quote that neutralised a formula is not data."""
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_START) else text


_STRUCTURED = ("magnitudes", "diameters", "properties")
_PLAIN = tuple(f for f in FIELDS if f not in _STRUCTURED)
_OWN_BANDS = frozenset("VRIJHK")  # mag_v..mag_k are columns of their own
_DIAMETER_KINDS = {"LD": "LDD", "UD": "UDD", "D": "DIAM"}


def _diameter_column(d: Any) -> str:
    parts = [d.catalogue, _DIAMETER_KINDS.get(d.kind, d.kind), d.band]
    return "_".join(p for p in parts if p)


def _extra_columns(targets: list[Any], properties: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """The magnitude, diameter and property columns the targets need, in order of first appearance."""
    bands: dict[str, None] = {}
    diameters: dict[str, None] = {}
    names: dict[str, None] = dict.fromkeys(properties)
    for t in targets:
        bands.update(dict.fromkeys(getattr(t, "magnitudes", None) or ()))
        diameters.update(dict.fromkeys(_diameter_column(d) for d in getattr(t, "diameters", None) or ()))
        names.update(dict.fromkeys(getattr(t, "properties", None) or ()))
    return list(bands), list(diameters), list(names)


def _extra_cells(t: Any, bands: list[str], diameters: list[str], names: list[str]) -> list[str]:
    magnitudes = getattr(t, "magnitudes", None) or {}
    cells: list[str] = []
    for band in bands:
        photometry = magnitudes.get(band)
        if band not in _OWN_BANDS:
            cells.append(_cell(photometry.mag if photometry else None))
        cells.append(_cell(photometry.error if photometry else None))
    found = {_diameter_column(d): d for d in getattr(t, "diameters", None) or ()}
    for column in diameters:
        d = found.get(column)
        cells += [_cell(d.value if d else None), _cell(d.error if d else None)]
    properties = getattr(t, "properties", None) or {}
    cells += [_cell(properties.get(n)) for n in names]
    return cells


def iter_csv(targets: Iterable[TargetOut | TargetIn], properties: Sequence[str] = ()) -> Iterator[bytes]:
    """UTF-8 CSV in pieces: a header of TargetIn field names, then each band's magnitude and error
    (``Gmag``, ``e_Gmag``), each diameter and error (``JSDC2_LDD``, ``JSDC2_LDD_err``), then the
    properties (``properties`` first, in that order); decimal degrees at each target's own epoch."""
    items = list(targets)
    bands, diameters, names = _extra_columns(items, properties)
    header = list(_PLAIN)
    for band in bands:
        header += ([] if band in _OWN_BANDS else [f"{band}mag"]) + [f"e_{band}mag"]
    for column in diameters:
        header += [column, f"{column}_err"]
    header += names
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for k, t in enumerate(items, 1):
        writer.writerow([_cell(getattr(t, f)) for f in _PLAIN] + _extra_cells(t, bands, diameters, names))
        if k % 2000 == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


def write_csv(targets: Iterable[TargetOut | TargetIn], properties: Sequence[str] = ()) -> bytes:
    """:func:`iter_csv` in one piece."""
    return b"".join(iter_csv(targets, properties))
