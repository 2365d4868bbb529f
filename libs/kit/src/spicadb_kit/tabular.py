"""Tables as astronomers write them (night logs, target lists): one meaning for every cell.

Both tabular readers of the platform (the CHARA night logs and the programmes' target lists) read
their CSV and their cells through this module, so that a blank, ``NaN``, ``TBD`` or ``05:14:32.27``
means the same thing whichever service reads it:

- the CSV preamble: blank lines and ``#`` comment lines before the header are skipped;
- the delimiter: a comma, or a semicolon, or a tab when the header line has no comma;
- placeholders (``""``, ``-``, ``NaN``, ``n/a``, ``?``, ``unknown``, anything starting with ``TBD``...)
  are null; :class:`PlaceholderReport` counts them per column, so a reader reports them once per column;
- numbers: a placeholder or NaN is null, an infinity is refused;
- positions: decimal degrees, or sexagesimal text (hours for a right ascension, degrees for a
  declination) with blanks, colons, ``h m s``, ``d``, ``°``, primes or quotes between the parts;
  a right ascension of exactly 360 degrees is 0;
- :class:`CellError` says what is wrong with a cell and, once located, names its row and column.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "PLACEHOLDERS",
    "CellError",
    "CsvStart",
    "PlaceholderReport",
    "Placeholders",
    "csv_start",
    "declination",
    "is_placeholder",
    "number",
    "right_ascension",
    "sexagesimal",
    "sniff_delimiter",
]

# cells that say "no value", compared stripped and lower case; anything starting with "tbd" too
PLACEHOLDERS = frozenset(
    {"", "-", "--", "---", "nan", "null", "none", "n/a", "na", "?", "tbd", "tbc", "unknown"}
)
LONGEST_PLACEHOLDER = max(map(len, PLACEHOLDERS))


def is_placeholder(text: str) -> bool:
    """Whether a text cell says "no value" ("", "-", "NaN", "TBD by PI"...)."""
    low = text.strip().lower()
    return low in PLACEHOLDERS or low.startswith("tbd")


class CellError(ValueError):
    """What is wrong with one cell; ``row`` and ``column`` (as the file names it) once located."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.row = row
        self.column = column

    def at(self, row: int, column: str | None = None) -> CellError:
        """The same error, located at ``row`` (and ``column``; None for the row as a whole)."""
        return CellError(self.message, row=row, column=column)

    def where(self, rows: str = "lines") -> str:
        """``lines[12].MJD`` (``lines[12]`` for a row): the row and column, as problem details name them."""
        place = f"{rows}[{self.row}]"
        return place if self.column is None else f"{place}.{self.column}"


# ----------------------------------------------------------------------------------------------- CSV


@dataclass(frozen=True)
class CsvStart:
    """Where a CSV table starts: the index of its header line, and the delimiter the header uses."""

    header: int
    delimiter: str


def _preamble(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def sniff_delimiter(header: str) -> str:
    """A comma; a semicolon or a tab when the header line has no comma (spreadsheets of some locales)."""
    if "," in header:
        return ","
    return ";" if ";" in header else "\t" if "\t" in header else ","


def csv_start(lines: Sequence[str]) -> CsvStart | None:
    """The header line after the preamble (blank and ``#`` lines), or None when there is none."""
    for index, line in enumerate(lines):
        if not _preamble(line):
            return CsvStart(index, sniff_delimiter(line))
    return None


# ----------------------------------------------------------------------------------------------- cells


def number(value: Any) -> float | None:
    """A cell as a finite float; None for a placeholder, a blank or NaN; CellError otherwise."""
    if value is None:
        return None
    if type(value) is bytes:
        value = value.decode("utf-8", "replace")
    if type(value) is str:  # the common case (CSV): keep it fast
        text = value.strip()
        try:
            v = float(text)
        except ValueError:
            if is_placeholder(text):
                return None
            raise CellError(f"not a number: {text!r}") from None
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        v = float(value)
    elif isinstance(value, str):  # a subclass (numpy's str_)
        return number(str(value))
    else:
        raise CellError(f"not a number: {value!r}")
    if math.isnan(v):
        return None
    if math.isinf(v):
        raise CellError("not a finite number")
    return v


_SEXAGESIMAL_SEPARATORS = re.compile(r"[\s:hdmsHDMS°'\"\u2032\u2033]+")


def sexagesimal(text: str, what: str) -> tuple[float, bool]:
    """(the value in its leading unit, whether negative) of '05 14 32.27', '05:14:32.27',
    '5h14m32.27s', '-08°12'05.9"'; ``what`` names the quantity in the error."""
    s = text.strip()
    negative = s.startswith("-")
    if s[:1] in "+-":
        s = s[1:]
    parts = [p for p in _SEXAGESIMAL_SEPARATORS.split(s) if p]
    if not 1 <= len(parts) <= 3:
        raise CellError(f"cannot read {text!r} as {what}")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise CellError(f"cannot read {text!r} as {what}") from None
    if not all(map(math.isfinite, values)):
        raise CellError("not a finite number")
    if any(n < 0 for n in values) or any(n >= 60 for n in values[1:]):
        raise CellError(f"cannot read {text!r} as {what}: minutes and seconds must be below 60")
    return values[0] + sum(n / 60.0**i for i, n in enumerate(values[1:], 1)), negative


def _text_of(value: Any) -> str | None:
    if type(value) is bytes:
        return value.decode("utf-8", "replace")
    return value if type(value) is str else None


def right_ascension(value: Any, *, hours: bool = True, scale: float = 1.0) -> float | None:
    """A right ascension in degrees [0, 360): a number (degrees, times ``scale``) or sexagesimal text
    (hours, or degrees when ``hours`` is false); None for a placeholder; 360 degrees is 0."""
    text = _text_of(value)
    try:
        v = number(value)
    except CellError:
        if text is None:
            raise
        v, negative = sexagesimal(text, "a right ascension")
        if negative:
            raise CellError(f"a right ascension cannot be negative: {text.strip()!r}") from None
        if hours:
            if v >= 24.0:
                raise CellError(f"right ascension {text.strip()!r} is not below 24h") from None
            v *= 15.0
    else:
        if v is None:
            return None
        v *= scale
    if v == 360.0:
        v = 0.0
    if not 0.0 <= v < 360.0:
        raise CellError(f"right ascension {v:g} deg is outside [0, 360)")
    return v


def declination(value: Any) -> float | None:
    """A declination in degrees [-90, 90]: a number or sexagesimal text; None for a placeholder."""
    text = _text_of(value)
    try:
        v = number(value)
    except CellError:
        if text is None:
            raise
        v, negative = sexagesimal(text, "a declination")
        v = -v if negative else v
    if v is None:
        return None
    if not -90.0 <= v <= 90.0:
        raise CellError(f"declination {v:g} deg is outside [-90, 90]")
    return v


# -------------------------------------------------------------------------------------- placeholders


@dataclass
class Placeholders:
    """The placeholder cells of one column: how many, and their distinct texts (stripped)."""

    count: int = 0
    texts: set[str] = field(default_factory=set)

    def message(self, shown: int = 5) -> str:
        """``3 cells read as null ('TBD by PI', '-')``: what a reader tells about the column."""
        words = ", ".join(repr(t) for t in sorted(self.texts)[:shown])
        return f"{self.count} cell{'s' if self.count != 1 else ''} read as null ({words})"


@dataclass
class PlaceholderReport:
    """Placeholders read as null, per column, to be reported once per column and not per cell.
    Blank cells are null too but not reported: a blank is how a table says nothing."""

    columns: dict[str, Placeholders] = field(default_factory=dict)

    def scrub(self, column: str, values: list[Any]) -> list[Any]:
        """``values`` with their placeholder texts as None (the list itself when it has none), the
        placeholders counted for ``column``. Cells that are not text are kept as they are."""
        distinct = set(values)
        distinct.discard(None)
        texts = [v for v in distinct if type(v) is str]
        if not texts:
            return values
        if min(map(len, texts)) > LONGEST_PLACEHOLDER and "tbd" not in "\0".join(texts).lower():
            return values  # the common case, decided in C
        blank = {v for v in texts if not v.strip()}
        found = {v for v in texts if v not in blank and is_placeholder(v)}
        if not found and not blank:
            return values
        if found:
            entry = self.columns.setdefault(column, Placeholders())
            entry.count += sum(1 for v in values if v in found)
            entry.texts.update(v.strip() for v in found)
        drop = found | blank
        return [None if v in drop else v for v in values]

    def note(self, column: str, text: str) -> None:
        """Count one placeholder cell of ``column`` (a reader that scrubs cell by cell)."""
        entry = self.columns.setdefault(column, Placeholders())
        entry.count += 1
        entry.texts.add(text.strip())
