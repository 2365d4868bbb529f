"""VOTable target lists, read and written the way Aspro2 wants them
(``../shared/reference/vo-interop.md`` §9 and §10).

Export: VOTable 1.4, one RESOURCE with COOSYS ICRS and the context PARAMs, one TABLE, TABLEDATA,
written by hand (astropy's writer spells the proper-motion unit ``mas.yr**-1``, which Aspro2
drops). **Positions are written at J2000.0**: targets stored at another epoch are moved there by
their proper motion, because Aspro2 takes every position as J2000 and applies the proper motion
from there; the COOSYS says ``epoch="J2000.0"``.

Import: columns are found as Aspro2 finds them, by UCD (``meta.id;meta.main``, ``pos.eq.ra``…),
then identifiers (HD, HIP, 2MASS, GAIA) by name, then, for columns without a recognised UCD, by
the CSV column names and aliases. A COOSYS epoch (e.g. Gaia's J2016.0) becomes the targets' epoch.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Iterable, Iterator
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import astropy.units as u
import numpy as np
from astropy.io.votable import parse

from ..models import TargetIn, TargetOut
from ..sky import propagate
from .common import Column, ExportContext, ParsedList, TargetListError, assemble
from .csvlist import ALIASES, _key

# ---------------------------------------------------------------------------------------------- export

# (column, field, datatype, unit, ucd, description)
EXPORT_COLUMNS: tuple[tuple[str, str, str, str | None, str, str], ...] = (
    ("NAME", "name", "char", None, "meta.id;meta.main", "Target name"),
    ("RA", "ra", "double", "deg", "pos.eq.ra;meta.main", "Right ascension (ICRS, J2000.0)"),
    ("DEC", "dec", "double", "deg", "pos.eq.dec;meta.main", "Declination (ICRS, J2000.0)"),
    ("PMRA", "pmra", "double", "mas/yr", "pos.pm;pos.eq.ra", "Proper motion in RA (mu_alpha*)"),
    ("PMDEC", "pmdec", "double", "mas/yr", "pos.pm;pos.eq.dec", "Proper motion in DEC"),
    ("PARALLAX", "parallax", "double", "mas", "pos.parallax.trig", "Parallax"),
    ("SYSVEL", "radial_velocity", "double", "km/s", "spect.dopplerVeloc.opt", "Radial velocity"),
    ("SPECTYP", "spectral_type", "char", None, "src.spType", "Spectral type"),
    ("OBJTYP", "object_type", "char", None, "src.class", "Object type"),
    ("FLUX_V", "mag_v", "double", "mag", "phot.mag;em.opt.V", "V magnitude"),
    ("FLUX_R", "mag_r", "double", "mag", "phot.mag;em.opt.R", "R magnitude"),
    ("FLUX_I", "mag_i", "double", "mag", "phot.mag;em.opt.I", "I magnitude"),
    ("FLUX_J", "mag_j", "double", "mag", "phot.mag;em.IR.J", "J magnitude"),
    ("FLUX_H", "mag_h", "double", "mag", "phot.mag;em.IR.H", "H magnitude"),
    ("FLUX_K", "mag_k", "double", "mag", "phot.mag;em.IR.K", "K magnitude"),
    ("HD", "hd", "char", None, "meta.id", "HD identifier"),
    ("HIP", "hip", "char", None, "meta.id", "HIP identifier"),
    ("2MASS", "tmass", "char", None, "meta.id", "2MASS identifier"),
    ("GAIA", "gaia", "char", None, "meta.id", "Gaia identifier"),
    ("NOTES", "notes", "char", None, "meta.note", "Notes"),
    ("GROUP", "work_package", "char", None, "meta.code.class;meta.id", "Work package (Aspro2 group)"),
)
_COOSYS_ID = "J2000"
_CHUNK = 2000  # rows per yielded piece
# XML 1.0 forbids most C0 controls even as character references
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    return escape(_CONTROL.sub("", value))


def _attr(value: str) -> str:
    return quoteattr(_CONTROL.sub("", value))


def _head(context: ExportContext, nrows: int | None) -> str:
    params = [("INTERFEROMETER", context.interferometer), ("INSTRUMENT", context.instrument)]
    if context.configurations:
        params.append(("CONFIGURATIONS", ",".join(context.configurations)))
    if context.period:
        params.append(("PERIOD", context.period))
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xsi:schemaLocation="http://www.ivoa.net/xml/VOTable/v1.3 http://www.ivoa.net/xml/VOTable/votable-1.4.xsd">',
        f" <RESOURCE name={_attr(context.programme)}>",
        f"  <DESCRIPTION>{_text(f'SPICA-DB targets of {context.programme}: {context.title}')}</DESCRIPTION>",
        f'  <COOSYS ID="{_COOSYS_ID}" system="ICRS" epoch="J2000.0"/>',
        *(
            f'  <PARAM name="{name}" datatype="char" arraysize="*" value={_attr(value)}/>'
            for name, value in params
        ),
        '  <TABLE name="targets"' + (f' nrows="{nrows}"' if nrows is not None else "") + ">",
    ]
    for column, field, datatype, unit, ucd, description in EXPORT_COLUMNS:
        attrs = (
            f'name="{column}" ID="{column if column[0].isalpha() else "_" + column}" datatype="{datatype}"'
        )
        if datatype == "char":
            attrs += ' arraysize="*"'
        if unit:
            attrs += f' unit="{unit}"'
        attrs += f' ucd="{ucd}"'
        if field in ("ra", "dec"):
            attrs += f' ref="{_COOSYS_ID}"'
        lines.append(f"   <FIELD {attrs}><DESCRIPTION>{description}</DESCRIPTION></FIELD>")
    lines.append("   <DATA><TABLEDATA>")
    return "\n".join(lines) + "\n"


_TAIL = "   </TABLEDATA></DATA>\n  </TABLE>\n </RESOURCE>\n</VOTABLE>\n"
_FIELDS_OUT = tuple(field for _, field, *_ in EXPORT_COLUMNS)


def _cell(value: Any) -> str:
    if value is None:
        return "<TD/>"
    if isinstance(value, float):
        return "<TD/>" if math.isnan(value) or math.isinf(value) else f"<TD>{value!r}</TD>"
    return f"<TD>{_text(str(value))}</TD>" if value != "" else "<TD/>"


def _format(batch: list[TargetIn]) -> str:
    ra = [t.ra for t in batch]
    dec = [t.dec for t in batch]
    moving = [k for k, t in enumerate(batch) if t.epoch != 2000.0 and (t.pmra or t.pmdec)]
    if moving:  # to J2000.0, vectorised over the batch
        m = [batch[k] for k in moving]
        ra_m, dec_m = propagate(
            [t.ra for t in m],
            [t.dec for t in m],
            [t.pmra for t in m],
            [t.pmdec for t in m],
            [t.epoch for t in m],
            2000.0,
        )
        for k, r, d in zip(moving, ra_m.tolist(), dec_m.tolist(), strict=True):
            ra[k], dec[k] = r, d
    rest = _FIELDS_OUT[3:]
    return "".join(
        f"    <TR>{_cell(t.name)}{_cell(r)}{_cell(d)}{''.join([_cell(getattr(t, f)) for f in rest])}</TR>\n"
        for t, r, d in zip(batch, ra, dec, strict=True)
    )


def _rows(targets: Iterable[TargetIn]) -> Iterator[str]:
    batch: list[TargetIn] = []
    for t in targets:
        batch.append(t)
        if len(batch) >= _CHUNK:
            yield _format(batch)
            batch = []
    if batch:
        yield _format(batch)


def iter_votable(
    targets: Iterable[TargetIn], context: ExportContext, nrows: int | None = None
) -> Iterator[bytes]:
    """The export of :func:`write_votable` in pieces, for a streamed response."""
    yield _head(context, nrows).encode("utf-8")
    for piece in _rows(targets):
        yield piece.encode("utf-8")
    yield _TAIL.encode("utf-8")


def write_votable(targets: Iterable[TargetOut], context: ExportContext) -> bytes:
    """An Aspro2-ready VOTable of ``targets`` (positions at J2000.0, see the module docstring)."""
    items = list(targets)
    return b"".join(iter_votable(items, context, nrows=len(items)))


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


def parse_votable(body: bytes) -> ParsedList:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            document = parse(io.BytesIO(body), verify="ignore")
    except Exception as exc:
        raise TargetListError(f"Not a readable VOTable: {exc}") from None
    table = next(iter(document.iter_tables()), None)
    if table is None:
        raise TargetListError("The VOTable has no TABLE.")
    coordinate_systems = list(document.iter_coosys())
    array = table.array
    names = array.dtype.names or ()
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
    used = set(chosen.values())
    ignored = [f.name or f.ID for k, f in enumerate(table.fields) if k not in used]
    columns: list[Column] = []
    default_epoch = None
    for field, k in sorted(chosen.items(), key=lambda fk: fk[1]):
        f = table.fields[k]
        source = f.name or f.ID
        values = _values(array[names[k]])
        if values is None:
            if field in ("name", "ra", "dec"):
                raise TargetListError(f"Column {source} holds arrays, not one {field} per row.")
            ignored.append(source)
            continue
        column = Column(source=source, field=field, values=values)
        if field in ("ra", "dec"):
            column.hours, column.scale = _position_units(field, f.unit, source)
            coosys = None
            if f.ref:
                coosys = next((c for c in coordinate_systems if f.ref == c.ID), None)
            elif len(coordinate_systems) == 1:
                coosys = coordinate_systems[0]
            epoch = _epoch_of(coosys)
            if epoch is not None:
                default_epoch = epoch
        else:
            column.scale = _scale(field, f.unit, source)
        columns.append(column)
    rows = list(range(1, len(array) + 1))
    return assemble("votable", columns, rows, ignored, default_epoch=default_epoch)
