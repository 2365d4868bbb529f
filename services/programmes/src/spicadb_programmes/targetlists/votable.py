"""VOTable target lists read the way Aspro2 reads them (``../shared/reference/vo-interop.md`` §9 and §10);
the export is in :mod:`.export_votable`.

Columns are found as Aspro2 finds them, by UCD (``meta.id;meta.main``, ``pos.eq.ra``…), then
identifiers (HD, HIP, 2MASS, GAIA) by name, then, for columns without a recognised UCD, by the CSV
column names and aliases. A COOSYS epoch (e.g. Gaia's J2016.0) becomes the targets' epoch.
"""

from __future__ import annotations

import functools
import io
import math
import re
import warnings
from typing import Any

import astropy.units as u
import astropy.units.cds  # noqa: F401  (VOTable 1.1-1.3 units; built here, not by the first list's import)
import numpy as np
from astropy.io.votable import parse
from astropy.io.votable.converters import Char, Double, Float, UnicodeChar
from astropy.io.votable.util import version_compare

from ..models import ImportNotice
from . import lenient
from .columns import Source, keep_columns, scrub
from .common import STRUCTURED, Column, ParsedList, RowError, TargetListError, assemble
from .csvlist import ALIASES, _key

# ---------------------------------------------------------------------------------------------- import

_MAGS = {f"em.opt.{b}": f"mag_{b}" for b in "vri"} | {f"em.ir.{b}": f"mag_{b}" for b in "jhk"}
_BY_NAME = {"hd": "hd", "hip": "hip", "2mass": "tmass", "tmass": "tmass", "gaia": "gaia"}
_PM_UNITS = {"mas/yr", "mas.yr-1", "mas.yr**-1", "mas/a", "mas.a-1", "mas.a**-1", "mas/year"}
_TARGET_UNITS: dict[str, tuple[u.UnitBase, set[str]]] = {
    "pmra": (u.mas / u.yr, _PM_UNITS),
    "pmdec": (u.mas / u.yr, _PM_UNITS),
    "parallax": (u.mas, {"mas"}),
    "radial_velocity": (u.km / u.s, {"km/s", "km.s-1", "km.s**-1"}),
    **{f"mag_{b}": (u.mag, {"mag"}) for b in "vrijhk"},
    "epoch": (u.yr, {"yr", "a", "year"}),
}
_SUPPORTED_SYSTEMS = {"icrs", "eq_fk5"}


def _unit_text(unit: Any) -> str:
    if unit is None:
        return ""
    return str(unit).replace(" ", "").strip('"').lower()


def _role(ucd: str, name: str) -> tuple[str, bool] | None:
    """(field, is-main) for a UCD Aspro2 understands."""
    low = ucd.strip().lower()
    atoms = [a.strip() for a in low.split(";") if a.strip()]
    if not atoms:
        return None
    main = "meta.main" in atoms or low.endswith("_main")
    head = atoms[0]
    if low in ("meta.id;meta.main", "meta.main", "id_main"):
        return "name", True
    if head == "pos.eq.ra" or low in ("pos_eq_ra_main", "pos_eq_ra"):
        return "ra", main
    if head == "pos.eq.dec" or low in ("pos_eq_dec_main", "pos_eq_dec"):
        return "dec", main
    if atoms[:2] == ["pos.pm", "pos.eq.ra"] or low == "pos_eq_pmra":
        return "pmra", main
    if atoms[:2] == ["pos.pm", "pos.eq.dec"] or low == "pos_eq_pmdec":
        return "pmdec", main
    if head == "pos.parallax.trig" or low in ("pos.parallax", "pos_parlx_trig"):
        return "parallax", main
    if head.startswith("spect.dopplerveloc") or low == "veloc_hc":
        return "radial_velocity", main
    if head == "src.sptype" or low == "spect_type_mk":
        return "spectral_type", main
    if low == "src.class":
        return "object_type", main
    if head == "phot.mag" and len(atoms) > 1 and atoms[1] in _MAGS:
        return _MAGS[atoms[1]], main
    if head == "meta.note":
        return "notes", main
    if low == "meta.code.class;meta.id":
        return "work_package", main
    if "meta.dataset" in atoms or "time.processing" in atoms:
        return None  # when the row was written (a "last update"), not the epoch of the position
    if head == "time.epoch" or (head == "meta.ref" and "time.epoch" in atoms):
        return "epoch", main
    if head == "meta.id" and _key(name) in _BY_NAME:
        return _BY_NAME[_key(name)], False
    return None


def _scale(field: str, unit: Any, source: str) -> float:
    """Factor from the column's unit to ours; 422 when the unit is of the wrong kind."""
    if field not in _TARGET_UNITS or unit is None:
        return 1.0
    target, spellings = _TARGET_UNITS[field]
    text = _unit_text(unit)
    if not text or text in spellings:
        return 1.0
    if isinstance(unit, u.UnitBase) and not isinstance(unit, u.UnrecognizedUnit):
        try:
            return float(unit.to(target))
        except u.UnitsError:
            pass
    raise TargetListError(f"Column {source} has unit {text!r}; {field} must be in {target.to_string()}.")


def _text_of(unit: Any) -> str | None:
    return None if unit is None else str(unit)


@functools.lru_cache(maxsize=512)
def _astropy_unit(text: str, unit_format: str) -> Any:
    """A FIELD's unit as astropy's VOTable reader makes it (parsed once per process: astropy builds a
    "did you mean" for each unit it cannot parse, such as h:m:s, on every reading)."""
    return u.Unit(text, format=unit_format, parse_strict="silent")


def _position_units(field: str, unit: Any, source: str) -> tuple[bool, float]:
    """(sexagesimal strings are hours?, factor of numbers to degrees) for an RA/DEC column."""
    text = _unit_text(unit)
    # sexagesimal RA is in hours unless the unit says degrees; DEC always in degrees
    hours = field == "ra" and not ("deg" in text or "d:m:s" in text or "dms" in text)
    if not text or "h:m:s" in text or "hms" in text or "d:m:s" in text or "dms" in text or text == "deg":
        return hours, 1.0
    if isinstance(unit, u.UnitBase) and not isinstance(unit, u.UnrecognizedUnit):
        try:
            return hours, float(unit.to(u.deg))
        except u.UnitsError:
            pass
    raise TargetListError(f"Column {source} has unit {text!r}; positions must be in deg, h:m:s or d:m:s.")


def _epoch_of(coosys: Any) -> float | None:
    if coosys is None:
        return None
    system = (coosys.system or "").lower()
    if system not in _SUPPORTED_SYSTEMS:
        raise TargetListError(
            f"Positions are given in the {coosys.system} system; SPICA-DB reads ICRS (or FK5 J2000) positions."
        )
    equinox = (coosys.equinox or "").strip().upper()
    if system == "eq_fk5" and equinox and equinox.lstrip("J") not in ("2000", "2000.0"):
        raise TargetListError(
            f"FK5 positions at equinox {coosys.equinox} are not supported; give them at J2000."
        )
    epoch = (coosys.epoch or "").strip().upper()
    if not epoch:
        return None
    try:
        value = float(epoch.lstrip("J"))
    except ValueError:
        return None
    return value if epoch.startswith("J") or epoch[0].isdigit() else None


def _values(column: np.ma.MaskedArray) -> Any:
    if column.ndim != 1:
        return None  # a vector-valued cell: not a target property
    if column.dtype.kind in "fiu":
        return column  # checked vectorised
    values = column.tolist()  # masked cells become None
    if column.dtype.kind == "S":
        values = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in values]
    return values


# ------------------------------------------------------------------------ the fast TABLEDATA reader
#
# astropy reads TABLEDATA cell by cell (~3 s for 100,000 rows of our export). A plain TABLEDATA
# table (bare <TR>, <TD> and <TD/>, text and entities in the cells) is read here instead: astropy
# reads the document without its rows (FIELDs, PARAMs, COOSYS, the columns' types), a regular
# expression splits the rows, and the cells become the very columns astropy makes of them (its own
# converters, or the same float() for double/float, the same strings for char/unicodeChar "*").
# Anything else (BINARY, BINARY2, FITS, several tables, CDATA, comments, attributes in the rows, a
# row of the wrong width, a cell astropy would refuse...) goes to astropy as a whole, as before.

_XML_SPACE = " \t\n\r"  # what astropy's parser strips off a cell's ends
_DECLARED_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["']([^"']*)["']""")
_NOT_XML = bytes(c for c in range(32) if chr(c) not in _XML_SPACE)  # controls XML refuses
_UNIT_ATTRIBUTE = re.compile(rb"""(<FIELD\b[^>]*?)\s+unit\s*=\s*(?:"[^"]*"|'[^']*')""")
_ENTITY = re.compile(r"&(?:(amp|lt|gt|quot|apos)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));|&")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


class _NotPlain(Exception):
    """The TABLEDATA is not the plain kind the fast reader reads."""


def _entity(match: re.Match[str]) -> str:
    named, decimal, hexadecimal = match.groups()
    if named:
        return _NAMED[named]
    if decimal is None and hexadecimal is None:
        raise _NotPlain  # a bare '&', or an entity expat does not know
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if not (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    ):
        raise _NotPlain  # not an XML character
    return chr(code)


def _unescaped(text: str) -> str:
    return _ENTITY.sub(_entity, text).strip(_XML_SPACE)


@functools.lru_cache(maxsize=16)
def _row_pattern(width: int) -> re.Pattern[str]:
    """A row of ``width`` cells (one group each), or (the last group) anything else but blanks."""
    cell = r"[ \t\n\r]*<TD(?:/>|>([^<]*)</TD>)"
    return re.compile("<TR>" + cell * width + r"[ \t\n\r]*</TR>|([^ \t\n\r])")


def _floats(cells: tuple[str, ...], fmt: str) -> np.ma.MaskedArray:
    """A double/float column as astropy's converter makes it: float(cell), masked when NaN or unreadable."""
    n = len(cells)
    empty = cells.count("")
    if empty == n:
        data = np.full(n, np.nan)
    else:
        try:
            if empty:
                data = np.array([float(v) if v else math.nan for v in cells])
            else:
                data = np.fromiter(map(float, cells), float, n)
        except ValueError:  # astropy reads an unreadable number as a masked one
            data = np.array([_float_or_nan(v) for v in cells], dtype=float)
    return np.ma.MaskedArray(data.astype(fmt, copy=False), mask=np.isnan(data))


def _float_or_nan(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _converted(cells: tuple[str, ...], converter: Any, config: dict[str, Any], dtype: np.dtype) -> Any:
    """Any other column, through astropy's own converter, as astropy reads each cell; a column of few
    distinct cells (flags, counts) has each parsed once (nine T/F columns of 3,000 rows: 0.017 s -> 0.004 s)."""
    parse_cell = converter.parse
    distinct = set(cells)
    if len(distinct) * 4 <= len(cells):
        parsed = {v: parse_cell(v.strip(_XML_SPACE), config, None) for v in distinct}
        pairs = list(map(parsed.__getitem__, cells))
    else:
        pairs = [parse_cell(v.strip(_XML_SPACE), config, None) for v in cells]
    data = np.array([value for value, _ in pairs], dtype=dtype)
    return np.ma.MaskedArray(data, mask=np.array([bool(mask) for _, mask in pairs], dtype=bool))


def _header(document: bytes) -> Any:
    """astropy's reading of a document (a TABLEDATA list without its rows); None when it cannot."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return parse(io.BytesIO(document), verify="ignore")
    except Exception:
        return None


# the slices of a large list (chunked) share their header: astropy reads it once (15 ms for 95 FIELDs);
# the readers only read the document it makes
_SHARED_HEADER_SIZE = 1 << 20
_shared_header = functools.lru_cache(maxsize=4)(_header)


def _read_tabledata(body: bytes) -> tuple[Any, Any, int, Any] | None:
    """(document, table, rows, values of column k for a field) of a VOTable whose one table is plain
    TABLEDATA; None for any other (astropy then reads it whole)."""
    start = body.find(b"<TABLEDATA>")
    if start < 0 or body.find(b"<TABLEDATA", start + 1) >= 0:
        return None
    start += len(b"<TABLEDATA>")
    end = body.find(b"</TABLEDATA>", start)
    declared = _DECLARED_ENCODING.match(body)
    if end < 0 or (declared and declared.group(1).strip().lower() not in (b"utf-8", b"utf8")):
        return None
    raw = body[start:end]
    if b"]]>" in raw or len(raw.translate(None, _NOT_XML)) != len(raw):
        return None
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not raw.isascii() and ("\ufffe" in content or "\uffff" in content):
        return None
    if "\r" in content:  # XML line ends
        content = content.replace("\r\n", "\n").replace("\r", "\n")
    # the FIELDs' units are read raw (lenient.field_unit_texts) and parsed where a field needs one:
    # astropy parses each, building a "did you mean" for those it cannot (h:m:s, log(cm.s**-2)), about
    # a third of the header's read (22 -> 15 ms, SPICA layout)
    header, unit_fields = _UNIT_ATTRIBUTE.subn(rb"\1", body[:start])
    header += body[end:]
    document = (_shared_header if len(header) <= _SHARED_HEADER_SIZE else _header)(header)
    if document is None:
        return None  # astropy says what is wrong
    tables = list(document.iter_tables())
    if len(tables) != 1:
        return None
    table = tables[0]
    fields = table.fields
    if unit_fields and len(lenient.field_unit_texts(body)) != len(fields):
        return None  # FIELDs this reader cannot pair with their units: astropy reads them
    config = getattr(table, "_config", None)
    array = table.array
    if (
        not fields
        or table.ref is not None
        or table.format != "tabledata"
        or len(table.all_fields) != len(fields)
        or len(array) != 0
        or not isinstance(config, dict)
        or any(array[name].ndim != 1 for name in array.dtype.names)
    ):
        return None
    rows = _row_pattern(len(fields)).findall(content)
    if not rows:
        return None
    columns = list(zip(*rows, strict=True))
    if any(columns.pop()):
        return None  # not rows of exactly one cell per FIELD
    try:
        if "&" in content:
            columns = [
                tuple([_unescaped(v) if "&" in v else v for v in cells]) if "&" in "".join(cells) else cells
                for cells in columns
            ]
        values: list[Any] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for k, f in enumerate(fields):
                converter, cells = f.converter, columns[k]
                kind = type(converter)
                if kind in (Char, UnicodeChar) and converter.arraysize == "*":
                    values.append(cells)  # astropy's strings, but for blanks at their ends
                elif kind in (Double, Float) and f.values.null is None:
                    values.append(_floats(cells, converter.format))
                else:
                    values.append(_values(_converted(cells, converter, config, array.dtype[k])))
    except Exception:
        return None  # a cell astropy refuses: it says which

    def column_values(k: int, field: str) -> Any:
        cells = values[k]
        if not isinstance(cells, tuple):
            return cells
        if field in ("ra", "dec"):  # the only checks that quote a cell as given: quote it as astropy has it
            return [v.strip(_XML_SPACE) for v in cells]
        return list(cells)  # the checks strip the cells themselves

    return document, table, len(rows), column_values


def _read_astropy(body: bytes) -> tuple[Any, Any, int, Any]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            document = parse(io.BytesIO(body), verify="ignore")
    except Exception as exc:
        raise TargetListError(f"Not a readable VOTable: {exc}") from None
    table = next(iter(document.iter_tables()), None)
    if table is None:
        raise TargetListError("The VOTable has no TABLE.")
    array = table.array
    names = array.dtype.names or ()
    return document, table, len(array), lambda k, field: _values(array[names[k]])


def parse_votable(body: bytes, *, fast: bool = True) -> ParsedList:
    """``fast``: read a plain TABLEDATA table with the fast reader (the same results as astropy's).
    Rows of the wrong width are read as TOPCAT and Aspro2 read them (:func:`lenient.even_rows`)."""
    lenient.refuse_references(body)
    notices: list[ImportNotice] = []
    read = _read_tabledata(body) if fast else None
    if read is None:
        evened = lenient.even_rows(body, notices)
        if evened is not None:
            body = evened
            read = _read_tabledata(body) if fast else None
    # the fast reader leaves the FIELDs' units to us (see _read_tabledata); astropy's readers parse them
    raw_units = lenient.field_unit_texts(body) if read is not None else None
    if read is None:
        read = lenient.read_fits(body) or _read_astropy(body)
    document, table, nrows, column_values = read
    unit_format = "vounit" if version_compare(document.version, "1.4") >= 0 else "cds"  # as astropy's

    def unit_of(k: int) -> Any:
        """FIELD k's unit as astropy reads it: a Unit, an UnrecognizedUnit, or None."""
        field = table.fields[k]
        if field.unit is not None or raw_units is None or raw_units[k] is None:
            return field.unit
        return _astropy_unit(raw_units[k], unit_format)

    coordinate_systems = list(document.iter_coosys())
    candidates: dict[str, list[tuple[bool, int]]] = {}
    unassigned: list[int] = []
    for k, f in enumerate(table.fields):
        role = _role(f.ucd or "", f.name or f.ID or "")
        if role is None:
            unassigned.append(k)
        else:
            candidates.setdefault(role[0], []).append((role[1], k))
    chosen: dict[str, int] = {
        field: max(c, key=lambda mc: (mc[0], -mc[1]))[1] for field, c in candidates.items()
    }
    for k in unassigned:  # tables without UCDs: by name, as in CSV
        field = ALIASES.get(_key(table.fields[k].name or table.fields[k].ID or ""))
        if field is not None and field not in chosen:
            chosen[field] = k
    missing = [f for f in ("name", "ra", "dec") if f not in chosen]
    if missing:
        what = {
            "name": "name (UCD meta.id;meta.main)",
            "ra": "RA (UCD pos.eq.ra)",
            "dec": "DEC (UCD pos.eq.dec)",
        }
        raise TargetListError(f"The VOTable has no {', '.join(what[m] for m in missing)} column.")
    field_of = {k: field for field, k in chosen.items()}
    units = lenient.field_units(body)
    columns: list[Column] = []
    sources: list[Source] = []
    default_epoch = None
    for k, f in enumerate(table.fields):
        source = f.name or f.ID
        field = field_of.get(k)
        values = column_values(k, field or "property")
        sources.append(
            Source(
                name=source,
                datatype=f.datatype or "char",
                values=values,
                core=field if values is not None else None,
                arraysize=f.arraysize,
                unit=units[source] if source in units else _text_of(unit_of(k)),
                ucd=f.ucd,
                utype=f.utype,
                xtype=f.xtype,
                description=f.description,
            )
        )
        if field is None:
            continue
        if values is None:
            if field in ("name", "ra", "dec"):
                raise TargetListError(f"Column {source} holds arrays, not one {field} per row.")
            continue
        column = Column(source=source, field=field, values=scrub(values, source, notices))
        if field in ("ra", "dec"):
            column.hours, column.scale = _position_units(field, unit_of(k), source)
            coosys = None
            if f.ref:
                coosys = next((c for c in coordinate_systems if f.ref == c.ID), None)
            elif len(coordinate_systems) == 1:
                coosys = coordinate_systems[0]
            epoch = _epoch_of(coosys)
            if epoch is not None:
                default_epoch = epoch
        else:
            column.scale = _scale(field, unit_of(k), source)
        columns.append(column)
    kept = keep_columns(nrows, sources, notices)
    columns += [
        Column(source=source, field=field, values=values, checked=field in STRUCTURED)
        for field, source, values in kept.fields
    ]
    rows = list(range(1, nrows + 1))
    parsed = assemble(
        "votable",
        columns,
        rows,
        kept.ignored,
        default_epoch=default_epoch,
        row_errors=[RowError(rows[i], column, message) for i, column, message in kept.errors],
        warnings=notices,
    )
    parsed.columns = kept.described
    parsed.properties = kept.properties
    parsed.work_package_titles = kept.work_package_titles
    return parsed


def parse_fits_table(body: bytes) -> ParsedList:
    """A FITS file's first binary table as a target list: read as the VOTable astropy makes of it
    (TTYPE names, TUNIT units, TNULL nulls), so every rule of :func:`parse_votable` applies."""
    from astropy.io.votable import from_table
    from astropy.table import Table

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = Table.read(io.BytesIO(body), format="fits")
            document = from_table(table)
            document.set_all_tables_format("binary2")
            out = io.BytesIO()
            document.to_xml(out)
    except Exception as exc:
        raise TargetListError(f"Not a readable FITS table: {exc}") from None
    parsed = parse_votable(out.getvalue(), fast=False)
    parsed.format = "fits"
    return parsed
