"""Aspro2-ready VOTable export of a programme's targets (``../shared/reference/vo-interop.md`` §9 and §10), on
the kit's streaming writer.

VOTable 1.4, one RESOURCE with COOSYS ICRS and the context PARAMs, one TABLE, TABLEDATA. **Positions are
written at J2000.0**: targets stored at another epoch are moved there by their proper motion, because Aspro2
takes every position as J2000 and applies the proper motion from there; the COOSYS says ``epoch="J2000.0"``.

After the columns Aspro2 reads come, per target, the observation requests (setups with mode and
configuration, visits, priority, progress) and the columns the programme's lists brought that no target
field holds (their FIELD as it came: datatype, unit, UCD, description), each set in a GROUP. Aspro2 reads
its columns by UCD and carries the others along untouched; TOPCAT shows them all.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple
from uuid import UUID

import msgspec

from spicadb_kit import votable
from spicadb_kit.votable import Coosys, Field, Group, Param, Resource

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
COOSYS_ID = "J2000"
_FIELDS_OUT = tuple(field for _, field, *_ in EXPORT_COLUMNS)
_BATCH = 2000  # targets whose positions are moved to J2000.0 at once (vectorised)

# the observation requests of each target, after Aspro2's columns (UCDs none of Aspro2's matchers take)
REQUEST_FIELDS: tuple[Field, ...] = (
    Field("SETUPS", "char", "instr.setup", description="Requested setups: name (mode; configuration), ..."),
    Field("MODES", "char", "instr.setup", description="Requested SPICA modes"),
    Field(
        "CONFIGURATIONS", "char", "instr.setup;instr.baseline", description="Requested CHARA configurations"
    ),
    Field("VISITS", "int", "meta.number;obs", description="Visits requested, all setups"),
    Field("PRIORITY", "int", "meta.code", description="Priority (1 first): best of the requests"),
    Field("PLANNED", "int", "meta.number;obs", description="Visits planned"),
    Field("OBSERVED", "int", "meta.number;obs", description="Visits observed"),
    Field("GOOD", "int", "meta.number;obs", description="Visits observed with good quality"),
    Field("PROGRESS", "char", "meta.code.status", description="not-observed, partial or done"),
)


class Request(NamedTuple):
    """One observation request of a target, as the exports write it."""

    setup: str
    mode: str
    configuration: Sequence[str]
    visits: int
    priority: int
    planned: int
    observed: int
    good: int


class ListColumn(msgspec.Struct, frozen=True):
    """A column of the programme's imported lists (a ``target_column`` row): its FIELD as it came, and the
    target field it fills (``maps_to``; None: kept as a property)."""

    name: str
    datatype: str
    arraysize: str | None = None
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    xtype: str | None = None
    description: str | None = None
    maps_to: str | None = None

    def field(self, name: str | None = None) -> Field:
        return Field(
            name or self.name,
            self.datatype,
            self.ucd,
            self.unit,
            arraysize=self.arraysize,
            utype=self.utype,
            xtype=self.xtype,
            description=self.description,
        )


def properties_of(target: object) -> Mapping[str, Any]:
    return getattr(target, "properties", None) or {}


def property_cells(columns: Sequence[ListColumn]) -> list[Callable[[object], str]]:
    """One TD writer per kept column: the kit's for its datatype, and a number kept as text (a list's
    odd cell) written as the text it is rather than refused."""

    def writer(column: ListColumn) -> Callable[[object], str]:
        write = votable.cell(column.datatype, column.arraysize)

        def cell(value: object) -> str:
            try:
                return write(value)
            except (TypeError, ValueError):
                return votable.escape(str(value))

        return cell

    return [writer(c) for c in columns]


_NO_REQUEST: list[Any] = [None, None, None, None, None, None, None, None, "not-observed"]


def request_cells(requests: Sequence[Request] | None, fallback_priority: int | None = None) -> list[Any]:
    """The REQUEST_FIELDS cells of a target."""
    if not requests:
        return (
            _NO_REQUEST
            if fallback_priority is None
            else [*_NO_REQUEST[:4], fallback_priority, *_NO_REQUEST[5:]]
        )
    visits = sum(r.visits for r in requests)
    observed = sum(r.observed for r in requests)
    done = all(r.good >= r.visits for r in requests)
    state = "not-observed" if observed == 0 else ("done" if done else "partial")
    return [
        ", ".join(f"{r.setup} ({r.mode}; {' '.join(r.configuration)})" for r in requests),
        " ".join(dict.fromkeys(r.mode for r in requests)),
        ", ".join(dict.fromkeys(" ".join(r.configuration) for r in requests)),
        visits,
        min(r.priority for r in requests),
        sum(r.planned for r in requests),
        observed,
        sum(r.good for r in requests),
        state,
    ]


def _context_params(context: ExportContext) -> list[Param]:
    params = [("INTERFEROMETER", context.interferometer), ("INSTRUMENT", context.instrument)]
    if context.configurations:
        params.append(("CONFIGURATIONS", ",".join(context.configurations)))
    if context.period:
        params.append(("PERIOD", context.period))
    return [Param(name, value, datatype="char") for name, value in params]


def _base_fields() -> list[Field]:
    return [
        Field(
            column,
            datatype,
            ucd,
            unit,
            ref=COOSYS_ID if field in ("ra", "dec") else None,
            description=description,
            id=column if column[0].isalpha() else "_" + column,
        )
        for column, field, datatype, unit, ucd, description in EXPORT_COLUMNS
    ]


def j2000(batch: Sequence[TargetIn]) -> tuple[list[float], list[float]]:
    """The batch's positions at J2000.0 (moved by their proper motion, vectorised)."""
    ra = [t.ra for t in batch]
    dec = [t.dec for t in batch]
    moving = [k for k, t in enumerate(batch) if t.epoch != 2000.0 and (t.pmra or t.pmdec)]
    if moving:
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
    return ra, dec


def batches(targets: Iterable[TargetIn], size: int = _BATCH) -> Iterator[list[TargetIn]]:
    batch: list[TargetIn] = []
    for t in targets:
        batch.append(t)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def iter_votable(
    targets: Iterable[TargetIn],
    context: ExportContext,
    nrows: int | None = None,
    *,
    columns: Sequence[ListColumn] = (),
    requests: Mapping[UUID, Sequence[Request]] | None = None,
) -> Iterator[bytes]:
    """The Aspro2 export in pieces, for a streamed response. ``columns``: the programme's list columns
    (those kept as properties are written after the requests); ``requests``: by target id."""
    kept = [c for c in columns if c.maps_to is None]
    base = _base_fields()
    taken = {f.name for f in base} | {f.name for f in REQUEST_FIELDS}
    # a kept column named like one of ours (a list's own NAME or RA) keeps its data under another name
    kept_fields = [c.field(c.name if c.name not in taken else f"{c.name}_list") for c in kept]
    fields = [*base, *REQUEST_FIELDS, *kept_fields]
    groups = [
        Group("requests", [f.name for f in REQUEST_FIELDS], description="Observation requests and progress")
    ]
    if kept_fields:
        groups.append(
            Group("properties", [f.name for f in kept_fields], description="Columns of the imported lists")
        )
    by_target = requests or {}
    others = operator.attrgetter(*_FIELDS_OUT[3:])
    names = [c.name for c in kept]

    def rows() -> Iterator[list[Any]]:
        for batch in batches(targets):
            ra, dec = j2000(batch)
            for t, r, d in zip(batch, ra, dec, strict=True):
                own = by_target.get(t.id) if isinstance(t, TargetOut) else None
                properties = properties_of(t)
                yield [
                    t.name,
                    r,
                    d,
                    *others(t),
                    *request_cells(own, getattr(t, "priority", None)),
                    *[properties.get(n) for n in names],
                ]

    yield from votable.stream(
        fields,
        rows(),
        resource=Resource(
            type=None,
            name=context.programme,
            description=f"SPICA-DB targets of {context.programme}: {context.title}",
            coosys=[Coosys(COOSYS_ID, "ICRS", epoch="J2000.0")],
            params=_context_params(context),
        ),
        table_name="targets",
        nrows=nrows,
        groups=groups,
        cells=[*[None] * (len(base) + len(REQUEST_FIELDS)), *property_cells(kept)],
    )


def write_votable(targets: Iterable[TargetOut], context: ExportContext, **extras: Any) -> bytes:
    """An Aspro2-ready VOTable of ``targets`` (positions at J2000.0, see the module docstring)."""
    items = list(targets)
    return b"".join(iter_votable(items, context, nrows=len(items), **extras))
