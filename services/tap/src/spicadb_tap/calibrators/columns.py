"""Which FIELD of a calibrator VOTable fills which column of catalogues.calibrators, and how a row's cells
become the table's values.

Columns are found by the names JSDC (VizieR II/346), SearchCal and GetStar give them first (``LDD``,
``UDDK``/``UD_K``, ``Vmag``/``V``, ``RAJ2000``...), then by UCD (UCD1+ as JSDC writes them,
``phot.mag;em.opt.V``, or SearchCal's UCD1-like ids, ``PHOT_JHN_V``). Units are checked once per column
(a magnitude in ``mag``, a diameter in ``mas`` or ``arcsec``...); a wrong kind of unit refuses the file
before anything is written. A cell that cannot be read makes its row bad (:class:`BadRow`, with the
row's number and the FIELD's name); a row without a position is bad too.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import astropy.units as u

from spicadb_kit.tabular import CellError, declination, is_placeholder, number, right_ascension, sexagesimal

from .table import COLUMNS
from .votable import Field, Header

__all__ = ["COPY_COLUMNS", "FILE_COLUMNS", "BadRow", "CatalogueError", "RowMapper", "Source", "map_columns"]

# the table's columns a file fills, then the two the import sets
FILE_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.name not in ("source", "import_id"))
COPY_COLUMNS: tuple[str, ...] = (*FILE_COLUMNS, "source", "import_id")
_INDEX = {name: i for i, name in enumerate(FILE_COLUMNS)}

_OPTICAL = "BVRI"
_BANDS = "BVRIJHK"


class CatalogueError(ValueError):
    """The file cannot be imported at all (message for the user)."""


@dataclass(frozen=True)
class BadRow:
    """A row that cannot be imported: its number in the table (1 = the first row) and why."""

    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.message}"


# --------------------------------------------------------------------------------------- the columns


@dataclass(frozen=True)
class _Want:
    """How a table column is found in a file: by names (case-insensitive), then by UCD."""

    column: str
    names: tuple[str, ...]
    ucds: tuple[str, ...] = ()
    kind: str = "double"  # double | text | int | bool | ra | dec
    unit: u.UnitBase | None = None


def _ucd_band(band: str) -> str:
    return f"em.opt.{band}" if band in _OPTICAL else f"em.ir.{band}"


_MAS_YR = u.mas / u.yr
_WANTS: tuple[_Want, ...] = (
    _Want("name", ("name", "simbad", "main_id", "simbadname"), ("meta.id;meta.main", "id_main"), "text"),
    _Want(
        "ra",
        ("raj2000", "ra", "ra_icrs", "_raj2000", "radeg"),
        ("pos.eq.ra;meta.main", "pos_eq_ra_main"),
        "ra",
    ),
    _Want(
        "dec",
        ("dej2000", "dec", "de_icrs", "_dej2000", "dedeg"),
        ("pos.eq.dec;meta.main", "pos_eq_dec_main"),
        "dec",
    ),
    _Want("pmra", ("pmra",), ("pos.pm;pos.eq.ra", "pos_eq_pmra"), unit=_MAS_YR),
    _Want("pmdec", ("pmde", "pmdec"), ("pos.pm;pos.eq.dec", "pos_eq_pmdec"), unit=_MAS_YR),
    _Want("parallax", ("plx", "parallax"), ("pos.parallax.trig", "pos_parlx_trig"), unit=u.mas),
    _Want("e_parallax", ("e_plx", "e_parallax"), ("stat.error;pos.parallax.trig",), unit=u.mas),
    *(
        _Want(f"{b.lower()}mag", (f"{b}mag", b), (f"phot.mag;{_ucd_band(b)}", f"phot_jhn_{b}"), unit=u.mag)
        for b in _BANDS
    ),
    _Want("gmag", ("gmag", "g", "phot_g_mean_mag"), unit=u.mag),
    _Want("ldd", ("ldd", "ld_diam"), ("phys.angdiam", "ld_diam"), unit=u.mas),
    _Want("e_ldd", ("e_ldd", "ld_diam_error"), ("stat.error;phys.angdiam",), unit=u.mas),
    *(
        _Want(
            f"udd{b.lower()}",
            (f"udd{b}", f"ud_{b}", f"uddiam{b}"),
            (f"phys.angdiam;{_ucd_band(b)}",),
            unit=u.mas,
        )
        for b in _BANDS
    ),
    _Want("diam_vk", ("diam_vk",), unit=u.mas),
    _Want("e_diam_vk", ("e_diam_vk",), unit=u.mas),
    _Want("sptype", ("sptype", "sp_type", "spectral_type"), ("src.sptype", "spect_type_mk"), "text"),
    _Want("calflag", ("calflag", "cal_flag"), kind="int"),
    _Want("diamflag", ("diamflag", "diam_flag"), kind="bool"),
    _Want("bad_calibrator", ("badcal", "bad_calibrator", "badcalibrator"), kind="bool"),
    _Want("hd", ("hd",), ("id_hd",), "text"),
    _Want("hip", ("hip",), ("id_hip",), "text"),
    _Want("tyc", ("tyc", "tycho"), kind="text"),
    _Want("tmass", ("2mass", "tmass", "_2mass"), ("id_2mass",), "text"),
)


def _find(want: _Want, fields: Sequence[Field]) -> Field | None:
    by_name = {f.name.lower(): f for f in reversed(fields)}  # the first of equal names wins
    for name in want.names:
        found = by_name.get(name.lower())
        if found is not None:
            return found
    for ucd in want.ucds:
        for f in fields:
            if f.ucd.strip().lower() == ucd:
                return f
    return None


# --------------------------------------------------------------------------------------------- cells

Convert = Callable[[str], Any]


def _double(scale: float) -> Convert:
    def convert(text: str) -> float | None:
        try:
            v = float(text)
        except ValueError:
            read = number(text)  # placeholders are null; anything else a CellError
            if read is None:
                return None
            v = read
        if v != v:  # NaN: VOTable's null
            return None
        if v in (math.inf, -math.inf):
            raise CellError("not a finite number")
        return v * scale if scale != 1.0 else v

    return convert


def _int(text: str) -> int | None:
    try:
        value = int(text)
    except ValueError:
        v = number(text)
        if v is None:
            return None
        if not v.is_integer():
            raise CellError(f"not an integer: {text.strip()!r}") from None
        value = int(v)
    if not -(2**31) <= value < 2**31:
        raise CellError(f"integer {value} out of range")
    return value


_TRUE = frozenset({"t", "true", "1", "y", "yes"})
_FALSE = frozenset({"f", "false", "0", "n", "no"})


def _bool(text: str) -> bool | None:
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE or low in ("", "?"):
        return None if low in ("", "?") else False
    raise CellError(f"not a boolean: {text.strip()!r}")


def _text(text: str) -> str | None:
    s = text.replace("\0", "").strip()  # PostgreSQL's text holds no NUL
    return None if not s or is_placeholder(s) else s


def _split_sexagesimal(text: str) -> tuple[float, bool] | None:
    """(value in its leading unit, negative) of 'hh mm ss.ss' as SearchCal and VizieR write it; None for
    any other spelling."""
    parts = text.split()
    if len(parts) != 3:
        return None
    try:
        a, m, sec = float(parts[0]), float(parts[1]), float(parts[2])
    except ValueError:
        return None
    if 0.0 <= m < 60.0 and 0.0 <= sec < 60.0 and a == a:
        return abs(a) + m / 60.0 + sec / 3600.0, parts[0].startswith("-")
    return None


def _ra_sexagesimal(hours: bool) -> Convert:
    def convert(text: str) -> float | None:
        split = _split_sexagesimal(text)
        if split is None:
            try:
                return right_ascension(float(text))
            except ValueError:
                if is_placeholder(text):
                    return None
            # colons, 'h m s', degree signs: the kit's reader
            split = sexagesimal(text, "a right ascension")
        v, negative = split
        if negative:
            raise CellError(f"a right ascension cannot be negative: {text.strip()!r}")
        if hours:
            if v >= 24.0:
                raise CellError(f"right ascension {text.strip()!r} is not below 24h")
            v *= 15.0
        return _ra_range(v)

    return convert


def _dec_sexagesimal(text: str) -> float | None:
    split = _split_sexagesimal(text)
    if split is None:
        try:
            v = float(text)
        except ValueError:
            if is_placeholder(text):
                return None
            split = sexagesimal(text, "a declination")
    if split is not None:
        v = -split[0] if split[1] else split[0]
    if v != v:
        return None
    if not -90.0 <= v <= 90.0:
        raise CellError(f"declination {v:g} deg is outside [-90, 90]")
    return v


def _ra_range(v: float) -> float:
    if v == 360.0:
        return 0.0
    if not 0.0 <= v < 360.0:
        raise CellError(f"right ascension {v:g} deg is outside [0, 360)")
    return v


def _ra_degrees(scale: float) -> Convert:
    def convert(text: str) -> float | None:
        return right_ascension(text, hours=False, scale=scale)

    return convert


def _dec(scale: float) -> Convert:
    def convert(text: str) -> float | None:
        try:
            v = float(text) * scale
        except ValueError:
            return declination(text)
        if v != v:
            return None
        if not -90.0 <= v <= 90.0:
            raise CellError(f"declination {v:g} deg is outside [-90, 90]")
        return v

    return convert


# --------------------------------------------------------------------------------------------- units


def _unit_text(field: Field) -> str:
    return field.unit.strip().strip('"').strip()


def _scale(want: _Want, field: Field) -> float:
    """The factor from a FIELD's unit to the column's; CatalogueError for a unit of another kind."""
    text = _unit_text(field)
    if want.unit is None or not text:
        return 1.0
    for fmt in ("vounit", "cds", None):
        unit = u.Unit(text, format=fmt, parse_strict="silent")
        if not isinstance(unit, u.UnrecognizedUnit):
            try:
                return float(unit.to(want.unit))
            except u.UnitsError:
                break
    raise CatalogueError(
        f"FIELD {field.name} ({want.column}) has unit {text!r}: expected {want.unit.to_string()} or a unit convertible to it"
    )


def _position(want: _Want, field: Field) -> Convert:
    text = _unit_text(field).lower()
    sexa = field.datatype in ("char", "unicodeChar") or ":" in text or text in ("hms", "dms")
    if want.kind == "ra":
        if "h:m:s" in text or text == "hms" or (sexa and not text):
            return _ra_sexagesimal(hours=True)
        if "d:m:s" in text or text == "dms":
            return _ra_sexagesimal(hours=False)
    elif sexa and (":" in text or not text):
        return _dec_sexagesimal
    factor = 1.0
    if text and text != "deg" and ":" not in text:
        unit = u.Unit(text, parse_strict="silent")
        try:
            factor = float(unit.to(u.deg))
        except (u.UnitsError, ValueError, AttributeError):  # another kind, or not a unit at all
            raise CatalogueError(
                f"FIELD {field.name} ({want.column}) has unit {text!r}: positions must be in deg, h:m:s or d:m:s"
            ) from None
    return _ra_degrees(factor) if want.kind == "ra" else _dec(factor)


def _converter(want: _Want, field: Field) -> Convert:
    if want.kind in ("ra", "dec"):
        return _position(want, field)
    if want.kind == "text":
        return _text
    if want.kind == "int":
        return _int
    if want.kind == "bool":
        return _bool
    return _double(_scale(want, field))


def _julian_2000(text: str) -> bool:
    """Whether an equinox or epoch ("J2000", "J2000.", "2000.0"; empty: the default) is J2000."""
    value = text.strip().upper().removeprefix("J")
    try:
        return not value or float(value) == 2000.0
    except ValueError:  # "B1950", a typo
        return False


def _check_coosys(header: Header, ra: Field) -> None:
    """ICRS, or FK5 J2000 (SearchCal's; the same within its precision), at epoch J2000."""
    systems = [c for c in header.coosys if not ra.ref or c.id == ra.ref] or list(header.coosys)
    for coosys in systems[:1]:
        system = coosys.system.strip().lower()
        if system not in ("icrs", "eq_fk5") or (system == "eq_fk5" and not _julian_2000(coosys.equinox)):
            raise CatalogueError(
                f"positions are in {coosys.system} {coosys.equinox}: the catalogue holds ICRS (or FK5 J2000)"
            )
        if not _julian_2000(coosys.epoch):
            raise CatalogueError(
                f"positions are at epoch {coosys.epoch}: the catalogue holds epoch J2000 positions"
            )


# ------------------------------------------------------------------------------------------- mapper


@dataclass(frozen=True)
class Source:
    """Which FIELD fills a column (shown by the command)."""

    column: str
    field: str


class RowMapper:
    """Turns rows of cells into rows of :data:`COPY_COLUMNS` values, a batch at a time: a column's cells
    are converted together (a plain ``float`` over a list, for most), and a cell that fails names its row."""

    def __init__(
        self, plan: list[tuple[int, int, str, Convert, float | None]], tycho: tuple[int, int, int] | None
    ) -> None:
        self._plan = plan
        self._tycho = tycho
        self.sources = [Source(FILE_COLUMNS[column], name) for column, _, name, _, _ in plan]

    def batch(
        self, rows: Sequence[Sequence[str | None]], first: int, tail: Sequence[Any]
    ) -> tuple[list[tuple[Any, ...]], list[BadRow]]:
        """The values of ``rows`` (numbered from ``first``) with ``tail`` (source, import id) appended, and
        the rows that cannot be imported (left out), in their order."""
        width = len(FILE_COLUMNS)
        empty: list[Any] = [None] * len(rows)
        columns: list[Any] = [empty] * width
        bad: dict[int, BadRow] = {}
        by_field = list(zip(*rows, strict=True))  # the rows' cells, FIELD by FIELD
        for column, index, name, convert, scale in self._plan:
            cells = by_field[index]
            values = _doubles(cells, scale) if scale is not None else _converted(cells, convert)
            if values is None:  # a cell to look at: which row, and why
                values = []
                for offset, text in enumerate(cells):
                    try:
                        values.append(convert(text) if text else None)
                    except (CellError, ValueError) as exc:
                        values.append(None)
                        if offset not in bad:
                            bad[offset] = BadRow(first + offset, name, getattr(exc, "message", str(exc)))
            columns[column] = values
        self._complete(columns, rows, first, bad)
        tails = [itertools.repeat(value) for value in tail]
        out = list(zip(*columns, *tails, strict=False))
        if bad:
            out = [row for offset, row in enumerate(out) if offset not in bad]
        return out, [bad[k] for k in sorted(bad)]

    def _complete(
        self, columns: list[Any], rows: Sequence[Sequence[str | None]], first: int, bad: dict[int, BadRow]
    ) -> None:
        """Positions required; the Tycho identifier from its parts; a name for rows without one; the
        bad-calibrator flag false unless the file says so."""
        ra, dec = columns[_RA], columns[_DEC]
        if None in ra or None in dec:
            for offset, (r, d) in enumerate(zip(ra, dec, strict=True)):
                if (r is None or d is None) and offset not in bad:
                    bad[offset] = BadRow(
                        first + offset, None, "no position (right ascension and declination are required)"
                    )
        if self._tycho is not None:
            parts = [[row[i] for i in self._tycho] for row in rows]
            tyc = list(columns[_TYC])
            for offset, p in enumerate(parts):
                if tyc[offset] is None and all(x and x.strip() for x in p):
                    tyc[offset] = "-".join(x.strip() for x in p if x)
            columns[_TYC] = tyc
        names = columns[_NAME]
        if None in names:
            named = list(names)
            for offset, n in enumerate(named):
                if n is None and offset not in bad:
                    named[offset] = _name_of(columns, offset)
            columns[_NAME] = named
        flags = columns[_BAD]
        columns[_BAD] = [b is True for b in flags] if True in flags else [False] * len(flags)


def _converted(cells: Sequence[str | None], convert: Convert) -> list[Any] | None:
    """A column's cells converted (empty cells null); None when one fails (looked at cell by cell)."""
    if convert is _text:  # few distinct texts (spectral types, flags): each read once
        known = {t: _text(t) for t in set(cells) if t}
        return [known[t] if t else None for t in cells]
    try:
        return [convert(t) if t else None for t in cells]
    except (CellError, ValueError):
        return None


def _doubles(cells: Sequence[str | None], scale: float) -> list[float | None] | None:
    """Numbers of a column's cells, NaN and empty cells null; None when a cell needs a closer look
    (a placeholder, a typo, an infinity)."""
    try:
        values = [None if not t or (v := float(t)) != v else v for t in cells]
    except ValueError:
        return None
    if math.inf in values or -math.inf in values:
        return None
    if scale != 1.0:
        return [None if v is None else v * scale for v in values]
    return values


_BAD = _INDEX["bad_calibrator"]
_RA = _INDEX["ra"]
_NAME = _INDEX["name"]
_TYC = _INDEX["tyc"]
_DEC = _INDEX["dec"]


def _name_of(columns: list[Any], offset: int) -> str:
    """A name when the file gives none, as SearchCal builds one: HD, HIP, TYC, 2MASS, or the position."""
    for column, prefix in (
        (_INDEX["hd"], "HD "),
        (_INDEX["hip"], "HIP "),
        (_TYC, "TYC "),
        (_INDEX["tmass"], "2MASS J"),
    ):
        value = columns[column][offset]
        if value:
            return f"{prefix}{value}"
    return f"{columns[_RA][offset]:.6f} {columns[_DEC][offset]:+.6f}"


def map_columns(header: Header) -> RowMapper:
    """The mapper of a file's table; CatalogueError when it lacks a position or has wrong units."""
    fields = [f for f in header.fields if not f.name.endswith((".origin", ".confidence"))]
    plan: list[tuple[int, int, str, Convert, float | None]] = []
    used: set[int] = set()
    for want in _WANTS:
        field = _find(want, [f for f in fields if f.index not in used])
        if field is None:
            continue
        used.add(field.index)
        convert = _converter(want, field)
        scale = _scale(want, field) if want.kind == "double" else None
        plan.append((_INDEX[want.column], field.index, field.name, convert, scale))
    columns = {FILE_COLUMNS[c] for c, _, _, _, _ in plan}
    if not {"ra", "dec"} <= columns:
        raise CatalogueError(
            "the table has no position: a right ascension and a declination are required "
            "(RAJ2000/DEJ2000, or FIELDs with UCD pos.eq.ra;meta.main and pos.eq.dec;meta.main)"
        )
    ra_index = next(i for c, i, _, _, _ in plan if c == _RA)
    _check_coosys(header, next(f for f in fields if f.index == ra_index))
    tycho = _tycho_parts(fields)
    return RowMapper(plan, tycho)


def _tycho_parts(fields: Sequence[Field]) -> tuple[int, int, int] | None:
    """SearchCal splits the Tycho identifier in TYC1, TYC2, TYC3."""
    by_name = {f.name.lower(): f.index for f in fields}
    parts = [by_name.get(f"tyc{i}") for i in (1, 2, 3)]
    if any(p is None for p in parts):
        return None
    return (parts[0], parts[1], parts[2])  # type: ignore[return-value]
