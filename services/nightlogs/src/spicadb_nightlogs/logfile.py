"""CHARA night logs in: the CSV the CHARA log writes (vo-interop.md 12) and an equivalent JSON document.

``parse_log(body, content_type, night, ...)`` reads a whole log and checks every cell of every line,
so that one 422 lists every error with its line and column (``lines[N].COLUMN``, the column as the
file names it). Lines are numbered as a reader counts them: in a CSV the file's line number (the
header is line 1), in JSON the index in the ``lines`` array.

Columns (CSV header names, case-insensitive, ``-`` = ``_``; JSON keys the same in lower case):

- required: ``UT-DATE`` (the UT date of ``MJD``), ``STAR``, ``COMBINER``, ``TYPE`` (OBJ, CAL1, CAL2, CHK,
  UNKNO), ``MJD`` (start, UTC), ``FILTER`` (the SPICA mode; JSON also ``mode``), ``SCOPES`` (stations as
  ``S1-E1-W1-W2-E2-S2``, blank- or comma-separated; JSON also a list, or ``stations``);
- optional: ``PI``, ``PROGRAM``, ``B1``, ``B2``, ``B3``, ``T0_OBS``, ``T0_500nm`` (= ``tau0``, ms),
  ``MJD_END``, ``RA``, ``DEC`` (ICRS degrees at the night), ``SEEING`` (arcsec), ``WIND`` (m/s),
  ``AIRMASS``, ``TEMPERATURE`` (deg C), ``COMMENTS``, ``RAW_FILES`` (blank- or ``;``-separated in CSV).

Cells mean what they mean in a target list (``spicadb_kit.tabular``): a blank, ``NaN`` or a placeholder
(``-``, ``n/a``, ``TBD``...) in a number cell is null, an infinity is refused; ``RA`` and ``DEC`` are
degrees or sexagesimal (``RA`` in hours), and an ``RA`` of 360 is 0; ``#`` lines before the header are
skipped.

Any other column is refused. Lines whose COMBINER is not SPICA are another instrument's: their date
and time are checked, then they are skipped (counted, not stored). A SPICA line without ``MJD_END``
lasts until the next line of the log starts, at most the default exposure, never past the night.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import msgspec

from spicadb_astro import chara, nights, spica
from spicadb_contracts import bounds
from spicadb_kit import tabular
from spicadb_kit.problems import UNSUPPORTED_MEDIA_TYPE, ProblemType

from .domain import LINE_TYPES, SPICA_COMBINERS, name_key
from .problems import EMPTY_LOG, INVALID_LOG, INVALID_LOG_HEADER, MALFORMED_LOG, TOO_MANY_OBSERVATIONS


class LogError(Exception):
    """The document as a whole cannot be read (not CSV/JSON, empty, unknown columns...)."""

    def __init__(
        self,
        message: str,
        *,
        kind: ProblemType = MALFORMED_LOG,
        errors: list[CellError] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind  # the problem the service answers
        self.errors = errors or []


@dataclass(frozen=True)
class CellError:
    where: str  # "lines[12].MJD", "header.FOO"
    message: str


class LogLine(msgspec.Struct, kw_only=True):
    """One SPICA line of a log, checked and normalised."""

    line: int
    ut_date: date
    star: str
    pi: str = ""
    program: str = ""
    combiner: str
    type: str
    kind: str
    mjd_start: float
    mjd_end: float | None = None
    mode: str
    stations: list[str]
    ra: float | None = None
    dec: float | None = None
    seeing: float | None = None
    tau0: float | None = None
    t0_obs: float | None = None
    wind: float | None = None
    airmass: float | None = None
    temperature: float | None = None
    b1: float | None = None
    b2: float | None = None
    b3: float | None = None
    comments: str = ""
    raw_files: list[str] = msgspec.field(default_factory=list)


@dataclass
class ParsedLog:
    format: str
    lines: list[LogLine]
    # lines of other combiners (checked, not kept)
    skipped: list[int] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    total: int = 0


# what a cell's parser raises: the kit's, so that cells mean what they mean in the target lists
_Bad = tabular.CellError


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise _Bad(f"expected text, not {value!r}")


# blank, NaN and placeholders ("-", "n/a", "TBD"...) are null, an infinity is refused
_number = tabular.number


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _bounded(limit: int, *, one_line: bool = True) -> Callable[[Any], str]:
    """Text of at most ``limit`` characters (the bound of the event field it goes to), one line of
    printable characters unless ``one_line`` is false (comments)."""

    def check(value: Any) -> str:
        text = _text(value)
        if len(text) > limit:
            raise _Bad(f"{len(text)} characters: at most {limit} characters")
        if one_line and _CONTROL.search(text):
            raise _Bad("a control character (line break, tab, escape...): one line of printable text")
        return text

    return check


_name = _bounded(bounds.NAME_LENGTH)
_file_name = _bounded(bounds.FILENAME_LENGTH)
_comment = _bounded(bounds.COMMENT_LENGTH, one_line=False)


def _required(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        result = parse(value)
        if result is None or result == "":
            raise _Bad("required")
        return result

    return check


_DATE = re.compile(r"^(\d{4})[-/]?(\d{2})[-/]?(\d{2})$")


def _date(value: Any) -> date | None:
    text = _text(value)
    if not text:
        return None
    found = _DATE.match(text)
    if not found:
        raise _Bad(f"{text!r} is not a date (YYYY-MM-DD)")
    try:
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        raise _Bad(f"{text!r} is not a date of the calendar") from None


def _type(value: Any) -> str:
    text = _text(value).upper()
    if text not in LINE_TYPES:
        raise _Bad(f"{text!r} is not a line type: one of {', '.join(LINE_TYPES)}")
    return text


def _mode(value: Any) -> str:
    text = _text(value)
    try:
        return spica.mode(text).name
    except KeyError:
        raise _Bad(f"{text!r} is not a SPICA mode: one of {', '.join(spica.MODES)}") from None


def _stations(value: Any) -> list[str]:
    names = [_text(v) for v in value] if isinstance(value, list) else re.split(r"[\s,;\-]+", _text(value))
    try:
        return chara.normalise_configuration([n for n in names if n])
    except ValueError as exc:
        raise _Bad(str(exc)) from None


def _files(value: Any) -> list[str]:
    if isinstance(value, list):
        files = [_file_name(v) for v in value if _text(v)]
    else:
        files = [_file_name(f) for f in re.split(r"[\s;]+", _text(value)) if f]
    if len(files) > bounds.RAW_FILES:
        raise _Bad(f"{len(files)} raw files: at most {bounds.RAW_FILES} per observation")
    return files


# degrees, or sexagesimal text (RA in hours, DEC in degrees); RA 360 is 0
_ra = tabular.right_ascension
_dec = tabular.declination


# canonical column -> (LogLine field, parser)
COLUMNS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "UT_DATE": ("ut_date", _required(_date)),
    "STAR": ("star", _required(_name)),
    "PI": ("pi", _name),
    "PROGRAM": ("program", _name),
    "COMBINER": ("combiner", _required(_name)),
    "TYPE": ("type", _type),
    "MJD": ("mjd_start", _required(_number)),
    "MJD_END": ("mjd_end", _number),
    "FILTER": ("mode", _mode),
    "SCOPES": ("stations", _stations),
    "B1": ("b1", _number),
    "B2": ("b2", _number),
    "B3": ("b3", _number),
    "T0_OBS": ("t0_obs", _number),
    "TAU0": ("tau0", _number),
    "RA": ("ra", _ra),
    "DEC": ("dec", _dec),
    "SEEING": ("seeing", _number),
    "WIND": ("wind", _number),
    "AIRMASS": ("airmass", _number),
    "TEMPERATURE": ("temperature", _number),
    "COMMENTS": ("comments", _comment),
    "RAW_FILES": ("raw_files", _files),
}
ALIASES = {
    **{c: c for c in COLUMNS},
    "T0_500NM": "TAU0",
    "MODE": "FILTER",
    "STATIONS": "SCOPES",
    "MJD_START": "MJD",
    "COMMENT": "COMMENTS",
    "DATE": "UT_DATE",
}
REQUIRED = ("UT_DATE", "STAR", "COMBINER", "TYPE", "MJD", "FILTER", "SCOPES")
# checked on every line, SPICA or not
ALWAYS = ("UT_DATE", "STAR", "COMBINER", "MJD", "MJD_END")


def _column(name: str) -> str | None:
    return ALIASES.get(re.sub(r"[\s\-]+", "_", name.strip().strip('"').strip()).upper())


Day = date  # the type, under a name Night's field ``date`` does not hide in its class body


@dataclass(frozen=True)
class Night:
    """The night a log belongs to: its date and bounds as MJDs (local noon to local noon)."""

    date: Day
    start_mjd: float
    end_mjd: float
    start: datetime
    end: datetime

    @classmethod
    def of(cls, night: Day) -> Night:
        start, end = nights.night_bounds(night)
        return cls(night, nights.mjd(start), nights.mjd(end), start, end)


def _check_line(
    number: int, cells: dict[str, tuple[str, Any]], night: Night, errors: list[CellError]
) -> tuple[dict[str, Any] | None, bool]:
    """(the line's fields or None when it has errors, whether it is a SPICA line)."""
    values: dict[str, Any] = {}
    bad = False
    try:
        combiner = _text(cells.get("COMBINER", ("", ""))[1]).upper() if "COMBINER" in cells else ""
    except _Bad:  # not text (a JSON object, a list): reported below with the line's other cells
        combiner = ""
    is_spica = combiner in SPICA_COMBINERS
    for column in COLUMNS if is_spica else ALWAYS:
        source, raw = cells.get(column, (column.replace("UT_DATE", "UT-DATE"), None))
        attribute, parse = COLUMNS[column]
        try:
            values[attribute] = parse(raw)
        except _Bad as exc:
            errors.append(CellError(f"lines[{number}].{source}", str(exc)))
            bad = True
    if bad:
        return None, is_spica
    start = values["mjd_start"]
    mjd_source = cells.get("MJD", ("MJD", None))[0]
    if not night.start_mjd <= start < night.end_mjd:
        errors.append(
            CellError(
                f"lines[{number}].{mjd_source}",
                f"MJD {start} ({nights.datetime_of_mjd(start):%Y-%m-%dT%H:%M:%SZ}) is outside the night "
                f"{night.date} at CHARA (local noon to local noon: {night.start:%Y-%m-%dT%H:%M}Z to "
                f"{night.end:%Y-%m-%dT%H:%M}Z)",
            )
        )
        bad = True
    ut_date = nights.datetime_of_mjd(start).date()
    if values["ut_date"] != ut_date:
        errors.append(
            CellError(
                f"lines[{number}].{cells.get('UT_DATE', ('UT-DATE', None))[0]}",
                f"{values['ut_date']} is not the UT date of MJD {start} ({ut_date})",
            )
        )
        bad = True
    end = values.get("mjd_end")
    if end is not None and not start < end <= night.end_mjd:
        errors.append(
            CellError(
                f"lines[{number}].{cells.get('MJD_END', ('MJD_END', None))[0]}",
                f"MJD_END {end} must be after MJD {start} and within the night (before {night.end_mjd:.6f})",
            )
        )
        bad = True
    return (None if bad else values), is_spica


def _finish(
    fmt: str, rows: list[tuple[int, dict[str, tuple[str, Any]]]], night: Night, errors: list[CellError],
    default_exposure_days: float, total: int,
) -> ParsedLog:  # fmt: skip
    if not rows and not errors:
        raise LogError(f"The {fmt} log has no lines.", kind=EMPTY_LOG)
    kept: list[LogLine] = []
    skipped: list[int] = []
    seen: dict[tuple[str, int, str], int] = {}
    for number, cells in rows:
        values, is_spica = _check_line(number, cells, night, errors)
        if values is None:
            continue
        if not is_spica:
            skipped.append(number)
            continue
        key = (name_key(values["star"]), round(values["mjd_start"] * 86400.0), values["mode"])
        if key in seen:
            errors.append(
                CellError(
                    f"lines[{number}].{cells['MJD'][0]}",
                    f"duplicates line {seen[key]}: the same star, start (to the second) and mode",
                )
            )
            continue
        seen[key] = number
        values["kind"] = LINE_TYPES[values["type"]]
        values["combiner"] = values["combiner"].upper()
        kept.append(LogLine(line=number, **values))
    if not errors:
        _fill_ends(kept, night, default_exposure_days)
    return ParsedLog(fmt, kept, skipped, errors, total)


def _fill_ends(lines: list[LogLine], night: Night, default_exposure_days: float) -> None:
    """A line without an end lasts until the next start (a later one), at most the default exposure."""
    if not lines:  # a log of other instruments only
        return
    starts = sorted({line.mjd_start for line in lines})
    following = dict(zip(starts, [*starts[1:], math.inf], strict=True))
    for line in lines:
        if line.mjd_end is None:
            line.mjd_end = min(
                following[line.mjd_start], line.mjd_start + default_exposure_days, night.end_mjd
            )


def parse_csv(body: bytes, night: Night, default_exposure_days: float) -> ParsedLog:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LogError(f"The CSV log is not UTF-8 text (byte {exc.start}).") from None
    if "\x00" in text:
        raise LogError("The CSV log holds a NUL byte: it is not text.")
    lines = text.splitlines()
    start = tabular.csv_start(lines)  # after the blank and comment lines; its delimiter
    if start is None:
        raise LogError(
            "The CSV log is empty: a header line (UT-DATE, STAR, ...) is required.", kind=EMPTY_LOG
        )
    first, delimiter = start.header, start.delimiter
    reader = csv.reader(io.StringIO("\n".join(lines[first:])), delimiter=delimiter, strict=True)
    columns: list[tuple[str, str]] = []
    try:
        header = next(reader)
        unknown: list[CellError] = []
        for raw in header:
            column = _column(raw)
            if column is None or column in {c for _, c in columns}:
                reason = "is not a column of a CHARA log" if column is None else "appears twice"
                unknown.append(CellError(f"header.{raw.strip()}", f"{raw.strip()!r} {reason}"))
            columns.append((raw.strip(), column or ""))
        missing = [c for c in REQUIRED if c not in {c for _, c in columns}]
        for column in missing:
            unknown.append(
                CellError(f"header.{column.replace('UT_DATE', 'UT-DATE')}", "required column missing")
            )
        if unknown:
            raise LogError(
                "The CSV header names unknown, repeated or missing columns; known columns: "
                + ", ".join(c.replace("UT_DATE", "UT-DATE") for c in COLUMNS),
                kind=INVALID_LOG_HEADER,
                errors=unknown,
            )
        numbers: list[int] = []
        cell_rows: list[list[str]] = []
        errors: list[CellError] = []
        total = 0
        for cells in reader:
            number = first + reader.line_num
            if not cells or all(not c.strip() for c in cells):
                continue
            total += 1
            if len(cells) != len(columns):
                errors.append(
                    CellError(f"lines[{number}]", f"{len(cells)} cells where the header names {len(columns)}")
                )
                continue
            numbers.append(number)
            cell_rows.append(cells)
    except csv.Error as exc:
        number = first + reader.line_num
        if "field larger than field limit" in str(exc):  # far beyond any cell's bound: name it
            raise _oversized(lines[number - 1], number, delimiter, columns) from None
        raise LogError(f"The CSV log is malformed at line {number}: {exc}") from None
    if not errors:
        fast = _fast_csv(columns, numbers, cell_rows, night, default_exposure_days, total)
        if fast is not None:
            return fast
    rows = [
        (number, {c: (source, v) for (source, c), v in zip(columns, cells, strict=True)})
        for number, cells in zip(numbers, cell_rows, strict=True)
    ]
    return _finish("CSV", rows, night, errors, default_exposure_days, total)


def _oversized(text: str, number: int, delimiter: str, columns: list[tuple[str, str]]) -> LogError:
    """The 422 of a cell longer than the csv module reads (128 KiB): its line and, when the cell is on
    that physical line, its column."""
    limit = csv.field_size_limit()
    cell, length, quoted = 0, 0, False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            cell, length = cell + 1, 0
            continue
        length += 1
        if length > limit:
            break
    where = f"lines[{number}]"
    if length > limit and cell < len(columns):
        where += f".{columns[cell][0]}"
    return LogError(
        f"A cell of line {number} is longer than {limit} characters: no cell of a log may be.",
        kind=INVALID_LOG,
        errors=[
            CellError(where, f"more than {limit} characters (comments: at most {bounds.COMMENT_LENGTH})")
        ],
    )


# the columns whose cells are numbers, and the range a value must be in (RA, DEC)
_NUMBERS = {
    "MJD": None, "MJD_END": None, "B1": None, "B2": None, "B3": None, "T0_OBS": None, "TAU0": None,
    "RA": (0.0, 360.0), "DEC": (-90.0, 90.0), "SEEING": None, "WIND": None, "AIRMASS": None,
    "TEMPERATURE": None,
}  # fmt: skip
_REQUIRED_CELLS = frozenset(("UT_DATE", "STAR", "COMBINER", "MJD"))


class _Slow(Exception):
    """A cell or line the happy path does not vouch for: the line-by-line check words it."""


def _fast_column(column: str, cells: list[str]) -> list[Any]:
    """The values of a column of CSV cells as :data:`COLUMNS` parses them, all at once: numbers through
    ``float`` in one ``map``, other cells parsed once per distinct text. _Slow on anything doubtful."""
    if column in _NUMBERS:
        try:
            values: list[Any] = list(map(float, cells))
        except ValueError:  # blanks, placeholders, sexagesimal positions: as the line check reads them
            try:
                values = [COLUMNS[column][1](cell) for cell in cells]
            except _Bad:
                raise _Slow from None
        else:
            if not all(map(math.isfinite, values)):  # NaN is null (an infinity: the line check words it)
                values = [None if v != v else v for v in values]
        if column == "RA" and 360.0 in values:  # the line check reads it as 0
            values = [0.0 if v == 360.0 else v for v in values]
        present = [v for v in values if v is not None]
        if len(present) != len(values) and column in _REQUIRED_CELLS:
            raise _Slow
        if not all(map(math.isfinite, present)):
            raise _Slow
        bounds = _NUMBERS[column]
        if bounds is not None and present:
            low, high = bounds
            if min(present) < low or max(present) > high or (column == "RA" and max(present) >= high):
                raise _Slow
        return values
    parse = COLUMNS[column][1]
    try:
        parsed = {cell: parse(cell) for cell in set(cells)}
    except _Bad:
        raise _Slow from None
    if any(isinstance(v, list) for v in parsed.values()):
        return [list(parsed[cell]) for cell in cells]  # one list per line, as the line-by-line check
    return [parsed[cell] for cell in cells]


def _ut_date(mjd: float, days: dict[int, date]) -> date:
    """The UT date of an MJD (that of :func:`nights.datetime_of_mjd`), one datetime per day of the log."""
    day = math.floor(mjd)
    if not 1e-6 < mjd - day < 1.0 - 1e-6:  # near midnight: to the microsecond, as the line check rounds
        return nights.datetime_of_mjd(mjd).date()
    found = days.get(day)
    if found is None:
        found = days[day] = nights.datetime_of_mjd(day + 0.5).date()
    return found


def _fast_csv(
    header: list[tuple[str, str]], numbers: list[int], lines: list[list[str]], night: Night,
    default_exposure_days: float, total: int,
) -> ParsedLog | None:  # fmt: skip
    """What :func:`_finish` makes of a CSV log without errors, column by column rather than cell by cell
    (about ten times faster); None as soon as a cell or a line is not right: then _finish checks the log
    line by line and words every error."""
    if not lines:
        return None
    by_column = {
        column: list(cells) for (_, column), cells in zip(header, zip(*lines, strict=True), strict=True)
    }
    combiners = [c.strip().upper() for c in by_column["COMBINER"]]
    spica = [c in SPICA_COMBINERS for c in combiners]
    every = all(spica)
    kept = range(len(lines)) if every else [i for i, s in enumerate(spica) if s]
    values: dict[str, list[Any]] = {}
    try:
        for column, cells in by_column.items():
            if column in ALWAYS:
                values[column] = _fast_column(column, cells)
            elif kept:
                values[column] = _fast_column(column, cells if every else [cells[i] for i in kept])
    except _Slow:
        return None
    # the checks of a line against the night (every line, SPICA or not)
    starts, ends, ut_dates = values["MJD"], values.get("MJD_END"), values["UT_DATE"]
    if min(starts) < night.start_mjd or max(starts) >= night.end_mjd:
        return None
    days: dict[int, date] = {}
    if any(d != _ut_date(m, days) for d, m in zip(ut_dates, starts, strict=True)):
        return None
    if ends is not None and any(
        e is not None and not m < e <= night.end_mjd for m, e in zip(starts, ends, strict=True)
    ):
        return None
    if not kept:
        return ParsedLog("CSV", [], list(numbers), [], total)
    # the kept lines: SPICA's, no two the same observation
    if not every:
        for column in ALWAYS:
            if column in values:
                values[column] = [values[column][i] for i in kept]
    stars, modes = values["STAR"], values["FILTER"]
    keys = {star: name_key(star) for star in set(stars)}
    seconds = [round(m * 86400.0) for m in values["MJD"]]
    if len(set(zip(map(keys.__getitem__, stars), seconds, modes, strict=True))) != len(stars):
        return None
    fields = {COLUMNS[column][0]: column_values for column, column_values in values.items()}
    fields["combiner"] = [c.upper() for c in fields["combiner"]]
    fields["kind"] = [LINE_TYPES[t] for t in fields["type"]]
    fields["line"] = numbers if every else [numbers[i] for i in kept]
    names = list(fields)
    parsed = [LogLine(**dict(zip(names, line, strict=True))) for line in zip(*fields.values(), strict=True)]
    _fill_ends(parsed, night, default_exposure_days)
    skipped = [] if every else [n for n, s in zip(numbers, spica, strict=True) if not s]
    return ParsedLog("CSV", parsed, skipped, [], total)


def parse_json(body: bytes, night: Night, default_exposure_days: float) -> ParsedLog:
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise LogError(f"The JSON log is malformed: {exc}") from None
    items = document.get("lines") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise LogError('The JSON log is a list of lines or {"lines": [...]}.', kind=INVALID_LOG)
    rows: list[tuple[int, dict[str, tuple[str, Any]]]] = []
    errors: list[CellError] = []
    for number, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(CellError(f"lines[{number}]", "a line is an object"))
            continue
        cells: dict[str, tuple[str, Any]] = {}
        for key, value in item.items():
            column = _column(str(key))
            if column is None or column in cells:
                reason = "is not a field of a CHARA log line" if column is None else "is given twice"
                errors.append(CellError(f"lines[{number}].{key}", f"{key!r} {reason}"))
                continue
            cells[column] = (str(key), value)
        for column in REQUIRED:
            if column not in cells:
                cells[column] = (column.lower(), None)
        rows.append((number, cells))
    return _finish("JSON", rows, night, errors, default_exposure_days, len(items))


MEDIA_TYPES = {"text/csv": "csv", "application/csv": "csv", "application/json": "json"}


def parse_log(
    body: bytes, content_type: str | None, night: Night, default_exposure_seconds: float
) -> ParsedLog:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    fmt = MEDIA_TYPES.get(media)
    if fmt is None:
        raise LogError(
            f"Cannot read a night log sent as {media or 'nothing'!r}: send CSV (text/csv) or JSON "
            "(application/json).",
            kind=UNSUPPORTED_MEDIA_TYPE,
        )
    if not body.strip():
        raise LogError("The night log is empty.", kind=EMPTY_LOG)
    days = default_exposure_seconds / 86400.0
    parsed = parse_json(body, night, days) if fmt == "json" else parse_csv(body, night, days)
    if len(parsed.lines) > bounds.LOG_OBSERVATIONS:  # log.ingested lists every one of them
        raise LogError(
            f"The log holds {len(parsed.lines)} SPICA observations: at most {bounds.LOG_OBSERVATIONS} per "
            "night log.",
            kind=TOO_MANY_OBSERVATIONS,
        )
    return parsed


def night_epoch(night: Night) -> float:
    """The Julian year of the middle of the night (where targets are moved by their proper motion)."""
    middle = night.start + (night.end - night.start) / 2
    return 2000.0 + (middle - datetime(2000, 1, 1, 12, tzinfo=middle.tzinfo)) / timedelta(days=365.25)
