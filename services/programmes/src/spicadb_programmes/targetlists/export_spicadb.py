"""The SPICA science database layout written back (``format=spicadb``), so the team's own tools keep working.

The columns are the ``TARGET_*`` columns the programme's lists brought, in their order and with their FIELD
as it came (name, datatype, unit, UCD, description), then the layout's columns no list brought, then the
columns other lists brought and SPICA-DB keeps as properties. A column that fills a target field is written
from the field in its original representation (a sexagesimal TARGET_RA stays sexagesimal, with the digits
that give the stored value back; a number in the list's unit); a property as it was kept. SPICA-DB fills its
own columns: TARGET_ID (the target's id), TARGET_Nobs (the visits requested), TARGET_Nobs_Done (the good
ones) and TARGET_Completion_Rate, from the progress of the target's observation requests. Positions are
written at J2000.0 (the layout's COOSYS), as in the Aspro2 export.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any
from uuid import UUID

import astropy.units as u

from spicadb_kit import votable
from spicadb_kit.votable import Coosys, Resource

from ..models import TargetIn, TargetOut
from .common import ExportContext
from .export_votable import ListColumn, Request, batches, j2000, properties_of, property_cells
from .votable import _position_units, _scale

COOSYS_ID = "ICRS"
_STRINGS = frozenset({"char", "unicodeChar"})


def _column(
    name: str, datatype: str, unit: str | None, ucd: str, description: str, maps_to: str
) -> ListColumn:
    return ListColumn(name, datatype, unit=unit, ucd=ucd, description=description, maps_to=maps_to)


# the layout's own columns, for the targets whose lists did not bring them (the order of the database export)
LAYOUT: tuple[ListColumn, ...] = (
    _column("TARGET_ID", "char", None, "meta.id", "SPICA-DB target identifier", "id"),
    _column("TARGET_MAIN_ID", "char", None, "meta.id;meta.main", "Main identifier (Simbad)", "name"),
    _column("TARGET_RA", "char", "h:m:s", "pos.eq.ra;meta.main", "Right ascension (ICRS, J2000)", "ra"),
    _column("TARGET_DEC", "char", "d:m:s", "pos.eq.dec;meta.main", "Declination (ICRS, J2000)", "dec"),
    _column("TARGET_PMRA", "double", "mas/yr", "pos.pm;pos.eq.ra", "Proper motion in RA (mu_alpha*)", "pmra"),
    _column("TARGET_PMDEC", "double", "mas/yr", "pos.pm;pos.eq.dec", "Proper motion in DEC", "pmdec"),
    _column("TARGET_PLX", "double", "mas", "pos.parallax.trig", "Parallax", "parallax"),
    _column("TARGET_RV", "double", "km/s", "spect.dopplerVeloc.opt", "Radial velocity", "radial_velocity"),
    _column("TARGET_Gaia_ID", "char", None, "meta.id", "Gaia DR3 source identifier", "gaia_dr3"),
    _column("TARGET_HD", "char", None, "meta.id", "HD identifier", "hd"),
    _column("TARGET_HIP", "char", None, "meta.id", "HIP identifier", "hip"),
    _column("TARGET_2MASS", "char", None, "meta.id", "2MASS identifier", "tmass"),
    _column("TARGET_OTYPE", "char", None, "src.class", "Simbad object type", "object_type"),
    _column("TARGET_SpType", "char", None, "src.spType", "Spectral type", "spectral_type"),
    _column("TARGET_PROGNAME", "char", None, "meta.id;obs.proposal", "Work package", "work_package"),
    _column("TARGET_Flag_Priority_PI", "int", None, "meta.code", "Priority given by the PI", "priority"),
    _column("TARGET_SPICA_SETUP", "char", None, "instr.setup", "Requested SPICA mode(s)", "spica_setup"),
    _column(
        "TARGET_CHARA_SETUP",
        "char",
        None,
        "instr.setup;instr.baseline",
        "Requested CHARA configuration",
        "chara_setup",
    ),
    _column(
        "TARGET_CAL_IDS", "char", None, "meta.id;meta.ref", "Calibrators chosen by the PI", "calibrator_ids"
    ),
    _column(
        "TARGET_Nobs",
        "int",
        None,
        "meta.number;obs",
        "Number of observations requested",
        "observations_requested",
    ),
    _column(
        "TARGET_Nobs_Done", "int", None, "meta.number;obs", "Number of observations done", "observations_done"
    ),
    _column(
        "TARGET_Completion_Rate",
        "double",
        "%",
        "meta.number;arith.ratio",
        "Completion rate of the observations",
        "completion_rate",
    ),
    *(
        _column(
            f"TARGET_{b}mag", "double", "mag", f"phot.mag;em.{w}.{b}", f"{b} magnitude", f"mag_{b.lower()}"
        )
        for b, w in (("V", "opt"), ("R", "opt"), ("I", "opt"), ("J", "IR"), ("H", "IR"), ("K", "IR"))
    ),
    _column("TARGET_Comment", "char", None, "meta.note", "Comment", "notes"),
)


def layout(columns: Sequence[ListColumn]) -> list[ListColumn]:
    """The columns of the export: the lists' TARGET_* columns in their order, the layout's others, then
    the properties other lists brought (their mapped columns are the TARGET_* ones already)."""
    own = [c for c in columns if c.name.upper().startswith("TARGET_")]
    names = {c.name.upper() for c in own}
    covered = {c.maps_to for c in own if c.maps_to}
    # a field written by the list's own column is not written twice (a magnitude by its band too)
    covered |= {f"mag_{m.split('.')[1].lower()}" for c in own if (m := c.maps_to or "").count(".") == 1}
    rest = [c for c in LAYOUT if c.name.upper() not in names and c.maps_to not in covered]
    others = [c for c in columns if c.maps_to is None and not c.name.upper().startswith("TARGET_")]
    return [*own, *rest, *others]


# ------------------------------------------------------------------------------------------------ values


def sexagesimal(degrees: float, *, hours: bool) -> str:
    """'05 14 32.272' (hours) or '+38 47 01.28' (degrees), as the SPICA science database writes them:
    3 decimals of seconds of time, 2 of arc, more when the value needs them to come back within 1e-9
    degree (a list's own digits come back as they were)."""
    value = (degrees % 360.0) / 15.0 if hours else abs(degrees)
    sign = "" if hours else ("-" if degrees < 0 else "+")
    for decimals in range(3 if hours else 2, 9):
        scale = 10**decimals
        ticks = round(value * 3600 * scale)  # whole units of the last decimal: no 60.00 seconds
        if abs(ticks / scale / 3600 - value) * (15.0 if hours else 1.0) <= 1e-9:
            break
    whole, rest = divmod(ticks, 3600 * scale)
    minutes, seconds = divmod(rest, 60 * scale)
    if hours:
        whole %= 24
    width = 3 + decimals
    return f"{sign}{whole:02d} {minutes:02d} {seconds / scale:0{width}.{decimals}f}"


def _unit_factor(column: ListColumn, field: str) -> float:
    """Our value times this is the value in the column's unit (the reader divided by it)."""
    if not column.unit:
        return 1.0
    try:
        unit = u.Unit(column.unit, format="vounit", parse_strict="silent")
        if field in ("ra", "dec"):
            return 1.0 / _position_units(field, unit, column.name)[1]
        return 1.0 / _scale(field, unit, column.name)
    except Exception:  # a unit the reader took as it is: so is the value
        return 1.0


def _structured(target: TargetIn, path: str) -> Any:
    """A magnitude (``magnitudes.G``, ``magnitudes.G.error``) or a diameter (``diameters.JSDC2.LD``,
    ``diameters.-.UD.V.error``) of the target."""
    parts = path.split(".")
    error = parts[-1] == "error"
    if error:
        parts = parts[:-1]
    if parts[0] == "magnitudes" and len(parts) == 2:
        photometry = (getattr(target, "magnitudes", None) or {}).get(parts[1])
        return None if photometry is None else (photometry.error if error else photometry.mag)
    if parts[0] == "diameters" and len(parts) >= 3:
        catalogue = None if parts[1] == "-" else parts[1]
        band = parts[3] if len(parts) > 3 else None
        for d in getattr(target, "diameters", None) or ():
            same_catalogue = (d.catalogue or "").upper() == (catalogue or "")
            if same_catalogue and d.kind == parts[2] and (d.band or None) == band:
                return d.error if error else d.value
    return None


class _Progress:
    """A target's requested and good visits and its completion, from its requests."""

    def __init__(self, target: TargetIn, requests: Sequence[Request] | None) -> None:
        if requests:
            self.requested: int | None = sum(r.visits for r in requests)
            self.done = sum(min(r.good, r.visits) for r in requests)
        else:
            self.requested = getattr(target, "observations_requested", None)
            self.done = 0
        self.rate = None if not self.requested else 100.0 * self.done / self.requested


def _reader(column: ListColumn) -> Callable[[TargetIn, float, float, _Progress], Any]:
    """The value of ``column`` for a target (with its J2000 position and progress), as the column writes it."""
    field = column.maps_to
    text = column.datatype in _STRINGS
    if field is None:
        name = column.name
        return lambda t, ra, dec, p: properties_of(t).get(name)
    if field == "id":
        return lambda t, ra, dec, p: str(t.id) if isinstance(t, TargetOut) else None
    if field == "observations_requested":
        return lambda t, ra, dec, p: p.requested
    if field == "observations_done":
        return lambda t, ra, dec, p: p.done
    if field == "completion_rate":
        percent = (column.unit or "").strip() == "%"
        return lambda t, ra, dec, p: None if p.rate is None else round(p.rate if percent else p.rate / 100, 4)
    if field in ("ra", "dec"):
        unit = (column.unit or "").lower()
        if text and "deg" not in unit:  # sexagesimal, as the reader read it (RA in hours)
            hours = field == "ra" and "d:m:s" not in unit and "dms" not in unit
            return lambda t, ra, dec, p: sexagesimal(ra if field == "ra" else dec, hours=hours)
        factor = _unit_factor(column, field)
        return lambda t, ra, dec, p: (ra if field == "ra" else dec) * factor
    if "." in field:
        return lambda t, ra, dec, p: _structured(t, field)
    factor = _unit_factor(column, field)
    if factor != 1.0:
        return lambda t, ra, dec, p: None if (v := getattr(t, field, None)) is None else v * factor
    return lambda t, ra, dec, p: getattr(t, field, None)


def _text_cell(value: object) -> str:
    """A number in a text column (TARGET_Nobs_Done declared char) as its shortest text."""
    if isinstance(value, float):
        return "" if math.isnan(value) else (str(int(value)) if value.is_integer() else repr(value))
    return votable.cell("char")(value)


def iter_spicadb(
    targets: Iterable[TargetIn],
    context: ExportContext,
    columns: Sequence[ListColumn],
    requests: Mapping[UUID, Sequence[Request]] | None = None,
    nrows: int | None = None,
) -> Iterator[bytes]:
    """The targets in the SPICA science database layout, in pieces for a streamed response."""
    chosen = layout(columns)
    fields = [
        c.field()._replace(ref=COOSYS_ID if c.maps_to in ("ra", "dec") else None, id=None) for c in chosen
    ]
    readers = [_reader(c) for c in chosen]
    writers = property_cells(chosen)
    cells = [_text_cell if c.datatype in _STRINGS else w for c, w in zip(chosen, writers, strict=True)]
    by_target = requests or {}

    def rows() -> Iterator[list[Any]]:
        for batch in batches(targets):
            ra, dec = j2000(batch)
            for t, r, d in zip(batch, ra, dec, strict=True):
                progress = _Progress(t, by_target.get(t.id) if isinstance(t, TargetOut) else None)
                yield [read(t, r, d, progress) for read in readers]

    yield from votable.stream(
        fields,
        rows(),
        resource=Resource(
            type=None,
            name="SPICA_targets",
            description=f"Targets of the SPICA science database: {context.programme} ({context.title})",
            coosys=[Coosys(COOSYS_ID, "ICRS", epoch="J2000")],
        ),
        table_name="SPICA_targets",
        nrows=nrows,
        cells=cells,
    )


def write_spicadb(
    targets: Iterable[TargetOut],
    context: ExportContext,
    columns: Sequence[ListColumn],
    requests: Mapping[UUID, Sequence[Request]] | None = None,
) -> bytes:
    """:func:`iter_spicadb` in one piece."""
    items = list(targets)
    return b"".join(iter_spicadb(items, context, columns, requests, nrows=len(items)))
