"""Aspro2-ready VOTable export of a programme's targets (``../shared/reference/vo-interop.md`` §9 and §10).

VOTable 1.4, one RESOURCE with COOSYS ICRS and the context PARAMs, one TABLE, TABLEDATA, written by
hand (astropy's writer spells the proper-motion unit ``mas.yr**-1``, which Aspro2 drops). **Positions
are written at J2000.0**: targets stored at another epoch are moved there by their proper motion,
because Aspro2 takes every position as J2000 and applies the proper motion from there; the COOSYS says
``epoch="J2000.0"``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ..models import TargetIn, TargetOut
from ..sky import propagate
from .common import ExportContext

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
