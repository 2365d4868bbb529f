"""What every target-list reader shares: the result types, the document-level error, and the cell
checks that turn a file's columns into :class:`TargetIn` rows with per-cell errors."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np

from spicadb_astro import targets as rules
from spicadb_kit import tabular
from spicadb_kit.errors import Problem
from spicadb_kit.tabular import CellError

from ..models import ImportNotice, TargetColumnOut, TargetIn
from ..problems import INVALID_TARGET_LIST


class RowError(msgspec.Struct, frozen=True):
    """One bad cell (or row): the 1-based data row, the column as named in the file ("" for the row)."""

    row: int
    column: str
    message: str


class ParsedList(msgspec.Struct):
    format: str
    targets: list[TargetIn]
    rows: list[int]
    errors: list[RowError]
    ignored_columns: list[str] = []
    # read leniently: short and long rows, placeholders (issue 14)
    warnings: list[ImportNotice] = []
    # every column of the list as its FIELD described it, with the field it fills
    columns: list[TargetColumnOut] = []
    # the names of the kept properties
    properties: list[str] = []
    # work package code -> its name in the list, when the code was made from it (TARGET_PROGNAME)
    work_package_titles: dict[str, str] = {}


class TargetListError(Problem):
    """The document as a whole cannot be read as a target list (an unknown media type is the kit's 415)."""

    kind = INVALID_TARGET_LIST


class ExportContext(msgspec.Struct):
    programme: str
    title: str
    configurations: list[str] = []
    period: str | None = None
    instrument: str = "SPICA"
    interferometer: str = "CHARA"


# field -> (low, high, what): the ranges of spicadb_astro.targets, the rules of every write path
FLOAT_LIMITS: dict[str, tuple[float, float, str]] = {
    field: (limit.low, limit.high, limit.what)
    for field, limit in rules.LIMITS.items()
    if field not in ("ra", "dec")
} | {
    "teff": (500.0, 100000.0, "an effective temperature between 500 and 100000 K"),
    "logg": (-2.0, 10.0, "a log g between -2 and 10"),
    "feh": (-10.0, 3.0, "an [Fe/H] between -10 and 3"),
}
INT_LIMITS: dict[str, tuple[int, int, str]] = {
    "priority": (0, 100, "a priority from 0 to 100"),
    "observations_requested": (0, 100000, "a number of observations from 0 to 100000"),
}
# built from several columns (columns.build_extras), checked by msgspec as TargetIn's types
STRUCTURED = frozenset({"magnitudes", "diameters", "properties"})
STRING_LIMITS: dict[str, int] = {
    "spectral_type": rules.LABEL_LENGTH,
    "object_type": rules.LABEL_LENGTH,
    "hd": rules.LABEL_LENGTH,
    "hip": rules.LABEL_LENGTH,
    "tmass": rules.LABEL_LENGTH,
    "gaia": rules.LABEL_LENGTH,
    "notes": rules.NOTES_LENGTH,
    "gaia_dr2": rules.LABEL_LENGTH,
    "gaia_dr3": rules.LABEL_LENGTH,
    "chara_id": rules.LABEL_LENGTH,
    "science_case": rules.NAME_LENGTH,
    "spica_setup": 200,
    "chara_setup": 200,
    "calibrator_ids": 4000,
}
# one line of text: no control character (notes may hold line breaks)
ONE_LINE = frozenset({"name", *STRING_LIMITS} - {"notes"})
FIELDS: tuple[str, ...] = tuple(TargetIn.__struct_fields__)
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
# keys of TargetOut that are not TargetIn's: harmless in a re-imported export
EXPORT_ONLY = frozenset({"id", "created_at", "updated_at", "progress"})


@dataclass
class Column:
    """A source column mapped to a TargetIn field. ``hours``: sexagesimal RA strings are hours
    (degrees otherwise); ``scale``: factor from the file's unit to ours for numbers."""

    source: str
    field: str
    values: Sequence[Any]
    hours: bool = True
    scale: float = 1.0
    # built and checked by columns.keep_columns (the structs TargetIn holds): not converted again
    checked: bool = False


# the cells' meaning, shared with the night logs: placeholders and NaN are null, sexagesimal positions
_number = tabular.number


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is str:
        return value.strip() or None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, bool | np.bool_):
        raise CellError(f"expected text, not {value!r}")
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if not isinstance(value, str):
        raise CellError(f"expected text, not {type(value).__name__}")
    s = value.strip()
    return s or None


def _ra(value: Any, column: Column) -> float | None:
    return tabular.right_ascension(value, hours=column.hours, scale=column.scale)


_dec = tabular.declination


def check_cell(field: str, value: Any, column: Column) -> Any:
    """The cell as TargetIn wants it (None when empty), or CellError saying what is wrong."""
    if field == "ra":
        return _ra(value, column)
    if field == "dec":
        return _dec(value)
    if field in STRUCTURED:
        return value  # msgspec checks it (assemble)
    if field in INT_LIMITS:
        v = _number(value)
        if v is None:
            return None
        lo_i, hi_i, what_i = INT_LIMITS[field]
        if not v.is_integer() or not lo_i <= v <= hi_i:
            raise CellError(f"{v:g} is not {what_i}")
        return int(v)
    if field in FLOAT_LIMITS:
        v = _number(value)
        if v is None:
            return None
        v *= column.scale
        lo, hi, what = FLOAT_LIMITS[field]
        if not lo <= v <= hi:
            raise CellError(f"{v:g} is not {what}")
        return v
    text = _text(value)
    if text is None:
        return None
    if field == "name":
        text = " ".join(text.split())
        if (problem := rules.name_problem(text)) is not None:
            raise CellError(problem)
        return text
    if field == "work_package":
        if not CODE.match(text):
            raise CellError(
                f"{text!r} is not a work package code (letters, digits, '.', '_', '-'; at most 40)"
            )
        return text
    limit = STRING_LIMITS[field]
    if len(text) > limit:
        raise CellError(f"at most {limit} characters")
    if field in ONE_LINE and rules.has_control(text):
        raise CellError("a control character is not allowed")
    return text


def _numeric(column: Column) -> tuple[list[Any], list[tuple[int, str]]] | None:
    """check_cell over a whole numeric (masked) array at once: the same results, much faster."""
    values = column.values
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "fiu":
        return None
    if column.field in INT_LIMITS and values.dtype.kind in "iu":
        lo_i, hi_i, what_i = INT_LIMITS[column.field]
        ints = np.ma.getdata(values).astype(np.int64)
        null = np.ma.getmaskarray(values)
        wrong = ~null & ~((ints >= lo_i) & (ints <= hi_i))
        problems = [(int(i), f"{ints[i]} is not {what_i}") for i in np.flatnonzero(wrong)]
        return np.where(null, None, ints.astype(object)).tolist(), problems
    if column.field not in FLOAT_LIMITS and column.field not in ("ra", "dec"):
        return None
    data = np.ma.getdata(values).astype(float) * column.scale
    null = np.ma.getmaskarray(values) | np.isnan(data)
    if column.field == "ra":
        data = np.where(data == 360.0, 0.0, data)
        lo, hi, what = 0.0, np.nextafter(360.0, 0.0), "in [0, 360) degrees"
    elif column.field == "dec":
        lo, hi, what = -90.0, 90.0, "in [-90, 90] degrees"
    else:
        lo, hi, what = FLOAT_LIMITS[column.field]
    wrong = ~null & ~((data >= lo) & (data <= hi))
    problems = [(int(i), f"{data[i]:g} is not {what}") for i in np.flatnonzero(wrong)]
    out = np.where(null, None, data.astype(object)).tolist()
    return out, problems


_NUMBERS = frozenset({float, int, type(None)})
_TEXTS = frozenset({str, type(None)})
# a column of each TargetIn field, as msgspec validates it
_COLUMN_TYPES: dict[str, Any] = {f.name: list[f.type] for f in msgspec.structs.fields(TargetIn)}  # type: ignore[name-defined]
_EPOCH_DEFAULT = next(f.default for f in msgspec.structs.fields(TargetIn) if f.name == "epoch")


def _recheck(column: Column, values: Sequence[Any], out: list[Any], indices: Any) -> list[tuple[int, str]]:
    """check_cell on the few cells a vectorised check left open: their values, or what is wrong."""
    problems = []
    for i in indices:
        i = int(i)
        try:
            out[i] = check_cell(column.field, values[i], column)
        except CellError as exc:
            out[i] = None
            problems.append((i, str(exc)))
    return problems


def _floats(column: Column, values: list[Any]) -> tuple[list[Any], list[tuple[int, str]]] | None:
    """check_cell over a list of Python numbers (JSON) at once: the same results, much faster."""
    field = column.field
    if column.scale != 1.0 or (field not in FLOAT_LIMITS and field not in ("ra", "dec")):
        return None
    kinds = set(map(type, values))
    if not kinds <= _NUMBERS:
        return None
    try:
        data = np.array(values, dtype=float)  # None -> NaN
    except (OverflowError, TypeError, ValueError):
        return None
    null = np.isnan(data)
    with np.errstate(invalid="ignore"):
        if field == "ra":
            settled = null | ((data >= 0.0) & (data < 360.0))
        elif field == "dec":
            settled = null | ((data >= -90.0) & (data <= 90.0))
        else:
            lo, hi, _ = FLOAT_LIMITS[field]
            settled = null | ((data >= lo) & (data <= hi))
    if int not in kinds and int(np.count_nonzero(null)) == values.count(None):
        out = values.copy()  # floats as they are and None for the missing: what check_cell gives
    else:
        out = [None if v is None or v != v else float(v) for v in values]
    # out of range, infinite, or RA 360 (read as 0): check_cell says what it is
    return out, _recheck(column, values, out, np.flatnonzero(~settled))


_SEXAGESIMAL_SEPARATORS = str.maketrans({":": " ", "h": " ", "d": " ", "m": " ", "s": " "})


def _sexagesimals(column: Column, values: list[Any]) -> tuple[list[Any], list[tuple[int, str]]] | None:
    """check_cell over a column of 'hh mm ss.s' / '+dd mm ss.s' strings at once (the SPICA science
    database writes its positions so); the cells of another shape are checked one by one."""
    field = column.field
    if field not in ("ra", "dec") or not values or not set(map(type, values)) <= _TEXTS:
        return None
    parts = [None if v is None else v.translate(_SEXAGESIMAL_SEPARATORS).split() for v in values]
    regular = [p is not None and len(p) == 3 for p in parts]
    if not any(regular):
        return None
    try:
        numbers = np.array(
            [p if ok else ("nan", "nan", "nan") for p, ok in zip(parts, regular, strict=True)], dtype=float
        )
    except ValueError:
        return None
    negative = np.array([ok and p[0].startswith("-") for p, ok in zip(parts, regular, strict=True)])  # type: ignore[index]
    whole, minutes, seconds = np.abs(numbers[:, 0]), numbers[:, 1], numbers[:, 2]
    value = whole + minutes / 60.0 + seconds / 3600.0
    with np.errstate(invalid="ignore"):
        settled = np.array(regular) & (minutes >= 0) & (minutes < 60) & (seconds >= 0) & (seconds < 60)
        if field == "ra":
            settled &= ~negative & (value < 24.0) if column.hours else ~negative & (value < 360.0)
            value = value * 15.0 if column.hours else value
        else:
            value = np.where(negative, -value, value)
            settled &= (value >= -90.0) & (value <= 90.0)
    out: list[Any] = np.where(settled, value.astype(object), np.array(None)).tolist()
    return out, _recheck(column, values, out, np.flatnonzero(~settled))


def _texts(column: Column, values: list[Any]) -> tuple[list[Any], list[tuple[int, str]]] | None:
    """check_cell over a list of strings at once: the same results, much faster."""
    field = column.field
    if field not in STRING_LIMITS and field not in ("name", "work_package"):
        return None
    if not set(map(type, values)) <= _TEXTS:
        return None
    missing = None in values
    if field == "name":
        if missing:
            out = [None if v is None else (" ".join(v.split()) or None) for v in values]
        else:
            out = [" ".join(v.split()) or None for v in values]
    elif missing:
        out = [None if v is None else (v.strip() or None) for v in values]
    else:
        out = [v.strip() or None for v in values]
    if field == "work_package":
        wrong = {v for v in set(out) if v is not None and not CODE.match(v)}
        if not wrong:
            return out, []
        return out, _recheck(column, values, out, [i for i, v in enumerate(out) if v in wrong])
    limit = rules.NAME_LENGTH if field == "name" else STRING_LIMITS[field]
    present = list(filter(None, out))
    # one search over the whole column: a control character in none of the cells is the common case
    control = field in ONE_LINE and rules.has_control("".join(present))
    if not control and max(map(len, present), default=0) <= limit:
        return out, []
    bad = [
        i
        for i, v in enumerate(out)
        if v is not None and (len(v) > limit or (control and rules.has_control(v)))
    ]
    return out, _recheck(column, values, out, bad)


def _checked(column: Column) -> tuple[list[Any], list[tuple[int, str]]]:
    """(the cells as TargetIn wants them, [(index, message)] of the bad ones), as check_cell gives them."""
    if column.field in STRUCTURED:
        return list(column.values), []  # checked by msgspec with the rows
    fast = _numeric(column)
    if fast is not None:
        return fast
    cells = column.values
    if isinstance(cells, np.ndarray):
        cells = cells.tolist()  # masked cells become None
    elif not isinstance(cells, list):
        cells = list(cells)
    fast = _floats(column, cells) or _sexagesimals(column, cells) or _texts(column, cells)
    if fast is not None:
        return fast
    out: list[Any] = [None] * len(cells)
    problems = []
    for i, value in enumerate(cells):
        try:
            out[i] = check_cell(column.field, value, column)
        except CellError as exc:
            problems.append((i, str(exc)))
    return out, problems


_REQUIRED = {
    "name": "a name is required",
    "ra": "a right ascension is required",
    "dec": "a declination is required",
}


@functools.lru_cache(maxsize=64)
def _maker(names: tuple[str, ...]) -> Callable[..., TargetIn]:
    """``lambda name, ra, ...: TargetIn(name=name, ra=ra, ...)``: TargetIn's __init__ takes keywords
    only, and a dict per row costs more than the rest of the conversion. ``names`` are TargetIn's."""
    assert set(names) <= _COLUMN_TYPES.keys()
    keywords = ", ".join(f"{name}={name}" for name in names)
    make: Callable[..., TargetIn] = eval(
        f"lambda {', '.join(names)}: TargetIn({keywords})", {"TargetIn": TargetIn}
    )
    return make


def _convert_rows(
    parsed: list[tuple[str, list[Any]]], keep: list[int], default_epoch: float | None, checked: frozenset[str]
) -> list[TargetIn] | None:
    """The kept rows as TargetIn, every column validated against TargetIn's own types by msgspec
    (as msgspec.convert per row would); None when a cell breaks a rule (see assemble)."""
    names: list[str] = []
    columns: list[list[Any]] = []
    everything = len(keep) == len(parsed[0][1])
    for field, values in parsed:
        cells = values if everything else [values[i] for i in keep]
        if field == "epoch":
            if None in cells:
                fill = _EPOCH_DEFAULT if default_epoch is None else default_epoch
                cells = [fill if v is None else v for v in cells]
        elif cells.count(None) == len(cells):
            continue  # None is every optional field's default
        names.append(field)
        columns.append(cells)
    if default_epoch is not None and "epoch" not in names:
        names.append("epoch")
        columns.append([default_epoch] * len(keep))
    try:
        for k, (name, cells) in enumerate(zip(names, columns, strict=True)):
            if name in checked:
                continue
            converted = msgspec.convert(cells, _COLUMN_TYPES[name])
            if name in STRUCTURED:
                columns[k] = converted  # structs, not the dicts they were read as
    except msgspec.ValidationError:
        return None
    return list(map(_maker(tuple(names)), *columns))


def assemble(
    fmt: str,
    columns: list[Column],
    row_numbers: list[int],
    ignored: list[str],
    *,
    default_epoch: float | None = None,
    row_errors: list[RowError] | None = None,
    warnings: list[ImportNotice] | None = None,
) -> ParsedList:
    """Check every cell of every row, and keep the rows without errors as TargetIn, in file order."""
    n = len(row_numbers)
    if n == 0:
        raise TargetListError(f"The {fmt} target list has no data rows.")
    errors: list[tuple[int, int, RowError]] = []  # (row, column index) for ordering
    bad: set[int] = set()
    for k, e in enumerate(row_errors or []):
        errors.append((e.row, -1 - k, e))
        bad.add(e.row)
    parsed: list[tuple[str, list[Any]]] = []
    source_of: dict[str, str] = {}
    for c_index, column in enumerate(columns):
        source_of[column.field] = column.source
        out, problems = _checked(column)
        failed: set[int] = set()
        for i, message in problems:
            errors.append((row_numbers[i], c_index, RowError(row_numbers[i], column.source, message)))
            bad.add(row_numbers[i])
            failed.add(i)
        if column.field in _REQUIRED and None in out:
            for i, v in enumerate(out):
                if v is None and i not in failed:
                    error = RowError(row_numbers[i], column.source, _REQUIRED[column.field])
                    errors.append((row_numbers[i], c_index, error))
                    bad.add(row_numbers[i])
        parsed.append((column.field, out))
    keep = [i for i in range(n) if row_numbers[i] not in bad] if bad else list(range(n))
    checked = frozenset(c.field for c in columns if c.checked)
    targets = _convert_rows(parsed, keep, default_epoch, checked) if keep else []
    rows = [row_numbers[i] for i in keep]
    if targets is None:  # a rule the cell checks missed: row by row, to say which rows
        targets, rows = [], []
        for i in keep:
            row = row_numbers[i]
            item = {field: values[i] for field, values in parsed if values[i] is not None}
            if default_epoch is not None and "epoch" not in item:
                item["epoch"] = default_epoch
            try:
                targets.append(msgspec.convert(item, TargetIn))
            except msgspec.ValidationError as exc:
                message, _, path = str(exc).partition(" - at `$.")
                field = path.rstrip("`").split(".")[0].split("[")[0]
                errors.append((row, len(columns), RowError(row, source_of.get(field, field), message)))
                continue
            rows.append(row)
    errors.sort(key=lambda e: (e[0], e[1]))
    return ParsedList(
        format=fmt,
        targets=targets,
        rows=rows,
        errors=[e[2] for e in errors],
        ignored_columns=ignored,
        warnings=list(warnings or []),
    )
