"""Every column of a target list is kept (issue 14): the known ones fill target fields, the others become
typed properties, each described once per programme (``target_column``) so that exports write them back.

Known beyond the Aspro2 columns (``votable._role`` and the CSV aliases) are the SPICA science database's
``TARGET_*`` columns and the catalogue names astronomers use, matched on the name without its
``TARGET_`` prefix, case and blanks aside:

- identifiers: Gaia DR2/DR3 (``Gaia_ID`` is DR3), CHARA, HD/HIP/2MASS; ``PROGNAME`` is the work package;
- magnitudes of any band with their errors (``Gmag``, ``BPmag_err``, ``e_Vmag``, ``FLUX_K``...);
- diameters with their errors and catalogue (``JSDC2_LDD``, ``JSDC2_UDD_V``, ``SB_LDD_err``, ``LDD``);
- Teff, log g, [Fe/H]; the PI's priority (``Flag_Priority_PI``), the science case (``Flag_Type``), the
  requested setups (``SPICA_SETUP``, ``CHARA_SETUP``), calibrators (``CAL_IDS``), ``Nobs``;
- ``TARGET_ID``, ``TARGET_Nobs_Done`` and ``TARGET_Completion_Rate`` are SPICA-DB's own: described, not
  stored (the export fills them from the target and its progress).

Placeholders ("TBD by PI", "-", "NaN", ...) read as null, reported once per column.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np

from spicadb_kit.tabular import PlaceholderReport

from ..models import Diameter, ImportNotice, Photometry, TargetColumnOut
from .common import TargetListError

# the target fields of the SPICA science database's columns, by name without "TARGET_"
_KNOWN: dict[str, str] = {
    "gaia_id": "gaia_dr3",
    "gaia_dr3_id": "gaia_dr3",
    "gaiadr3_id": "gaia_dr3",
    "gaia_dr3": "gaia_dr3",
    "gaiadr3": "gaia_dr3",
    "gaiadr2_id": "gaia_dr2",
    "gaia_dr2_id": "gaia_dr2",
    "gaia_dr2": "gaia_dr2",
    "gaiadr2": "gaia_dr2",
    "chara_id": "chara_id",
    "hd": "hd",
    "hip": "hip",
    "2mass": "tmass",
    "main_id": "name",
    "progname": "work_package",
    "flag_type": "science_case",
    "science_case": "science_case",
    "flag_priority_pi": "priority",
    "priority_pi": "priority",
    "priority": "priority",
    "spica_setup": "spica_setup",
    "chara_setup": "chara_setup",
    "cal_ids": "calibrator_ids",
    "calibrators": "calibrator_ids",
    "calibrator_ids": "calibrator_ids",
    "nobs": "observations_requested",
    "sptype": "spectral_type",
    "sp_type": "spectral_type",
    "otype": "object_type",
}
# SPICA-DB's own columns of the SPICA science database layout: the export writes them
OWNED: dict[str, str] = {
    "id": "id",
    "nobs_done": "observations_done",
    "completion_rate": "completion_rate",
}
_STELLAR = re.compile(r"^(?P<e>e_)?(?P<what>teff|logg|feh|fe_h|m_h)(?:_[a-z0-9]+?)??(?P<err>_err|_error)?$")
_STELLAR_FIELDS = {"teff": "teff", "logg": "logg", "feh": "feh", "fe_h": "feh", "m_h": "feh"}
_MAG = re.compile(
    r"^(?P<e>e_)?(?:(?:flux_(?P<flux>[a-z]{1,3}))|(?P<band>[a-z]{1,3})_?mag|phot_(?P<gaia>g|bp|rp)_mean_mag)"
    r"(?P<err>_err|_error)?$"
)
_DIAMETER = re.compile(
    r"^(?P<e>e_)?(?:(?P<cat>[a-z][a-z0-9]*)_)?(?P<kind>ldd|udd|ld|ud|diam|diameter)"
    r"(?:_(?P<band>[a-z]{1,2}))?(?P<err>_err|_error)?$"
)
_DIAMETER_KINDS = {"ldd": "LD", "ld": "LD", "udd": "UD", "ud": "UD", "diam": "D", "diameter": "D"}
_BLANKS = re.compile(r"[\s\-]+")


def column_key(name: str) -> tuple[str, bool]:
    """(the name lower case, blanks as '_', without a TARGET_ prefix; had it the prefix?)"""
    key = _BLANKS.sub("_", name.strip().strip('"').strip().lower())
    if key.startswith("target_") and len(key) > 7:
        return key[7:], True
    return key, False


@dataclass(frozen=True)
class Role:
    """What a column fills beyond the Aspro2 fields: ``field`` (a TargetIn field), or a part of a
    structured one (``magnitudes``/``diameters``, with its ``key``), or ``owned`` (SPICA-DB's own)."""

    maps_to: str
    field: str | None = None
    part: str | None = None  # "magnitudes" or "diameters"
    key: tuple[str | None, ...] = ()
    error: bool = False


def _ucd_allows(ucd: str, *atoms: str) -> bool:
    low = ucd.lower()
    return not low or any(a in low for a in atoms)


def magnitude_role(name: str, ucd: str) -> Role | None:
    key, _ = column_key(name)
    m = _MAG.match(key)
    if m is None or not _ucd_allows(ucd, "phot.mag", "phot.flux", "stat.error"):
        return None
    band = (m["flux"] or m["band"] or m["gaia"]).upper()
    error = bool(m["e"] or m["err"]) or ucd.lower().startswith("stat.error")
    return Role(
        f"magnitudes.{band}" + (".error" if error else ""), part="magnitudes", key=(band,), error=error
    )


def extra_role(name: str, ucd: str) -> Role | None:
    """The role of a column the Aspro2 rules left, or None: a property."""
    key, prefixed = column_key(name)
    if prefixed and key in OWNED:
        return Role(OWNED[key])
    low = ucd.lower()
    if key in _KNOWN:
        return Role(_KNOWN[key], field=_KNOWN[key])
    if (m := _STELLAR.match(key)) is not None and not (m["e"] or m["err"] or low.startswith("stat.error")):
        field = _STELLAR_FIELDS[m["what"]]
        return Role(field, field=field)
    if (role := magnitude_role(name, ucd)) is not None:
        return role
    m = _DIAMETER.match(key)
    if m is not None and _ucd_allows(ucd, "phys.angsize", "stat.error"):
        kind = _DIAMETER_KINDS[m["kind"]]
        catalogue = m["cat"].upper() if m["cat"] else None
        if catalogue is not None and len(catalogue) > 40:
            return None  # not a catalogue's name: kept as a property
        band = m["band"].upper() if m["band"] else None
        error = bool(m["e"] or m["err"]) or low.startswith("stat.error")
        path = ".".join(p for p in ("diameters", catalogue or "-", kind, band) if p)
        return Role(
            path + (".error" if error else ""), part="diameters", key=(catalogue, kind, band), error=error
        )
    return None


# --------------------------------------------------------------------------------------- cell values


def scrub(values: Any, source: str, notices: list[ImportNotice]) -> Any:
    """A column with its placeholders (spicadb_kit.tabular's, as the night logs read them) as None, and
    one notice for the column when it had any."""
    if not isinstance(values, list | tuple):
        return values
    report = PlaceholderReport()
    out = report.scrub(source, values if isinstance(values, list) else list(values))
    found = report.columns.get(source)
    if found is not None:
        notices.append(ImportNotice(found.message(), column=source))
    return out


def numbers(values: Any) -> list[float | None]:
    """A column as floats (None for null, NaN and what is not a number: those are reported by the caller)."""
    if isinstance(values, np.ndarray):
        data = np.ma.getdata(values)
        if data.dtype.kind not in "fiub":
            values = values.tolist()
        else:
            data = data.astype(float)
            null = np.ma.getmaskarray(values) | ~np.isfinite(data)
            return np.where(null, np.array(None), data.astype(object)).tolist()  # type: ignore[no-any-return]
    out: list[float | None] = []
    for v in values:
        if v is None or isinstance(v, bool):
            out.append(None)
            continue
        try:
            f = float(v)
        except (TypeError, ValueError):
            out.append(math.nan)  # marks "not a number"
            continue
        out.append(f if math.isfinite(f) else None)
    return out


_TEXT_CELLS = frozenset({str, type(None)})
_INT_TYPES = {"short", "int", "long", "unsignedByte"}
_FLOAT_TYPES = {"float", "double"}


def typed(values: Any, datatype: str) -> list[Any]:
    """A property column as JSON values: ints, floats, booleans or text; None for null (masked, NaN, empty)."""
    if isinstance(values, np.ndarray):
        kind = np.ma.getdata(values).dtype.kind
        if kind == "f":
            data = np.ma.getdata(values)
            null = np.ma.getmaskarray(values) | ~np.isfinite(data)
            if data.dtype.itemsize < 8:  # float32: its shortest decimal, as the list wrote it
                return [None if n else float(str(x)) for x, n in zip(data, null.tolist(), strict=True)]
            return np.where(null, np.array(None), data.astype(object)).tolist()  # type: ignore[no-any-return]
        out = values.tolist()  # masked cells become None
        if kind in "iub":
            return out  # type: ignore[no-any-return]
        values = out
    if set(map(type, values)) <= _TEXT_CELLS:  # a text column (the common case): no test per cell
        return [None if v is None else (v.strip() or None) for v in values]
    result: list[Any] = []
    for v in values:
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        if isinstance(v, str):
            v = v.strip() or None
        elif isinstance(v, float) and not math.isfinite(v):
            v = None
        elif isinstance(v, np.generic):
            v = v.item()
        result.append(v)
    return result


def infer_datatype(values: Sequence[Any]) -> tuple[str, list[Any]]:
    """A text column (CSV) as the VOTable datatype its cells fit, and the cells in that type."""
    present = [v for v in values if v is not None]
    if not present:
        return "char", list(values)
    try:
        ints = [None if v is None else int(v) for v in values]
        if all(re.fullmatch(r"[+-]?\d{1,18}", v.strip()) for v in present):
            return "long", ints
    except ValueError:
        pass
    try:
        floats = [None if v is None else float(v) for v in values]
        if all(f is None or math.isfinite(f) for f in floats):
            return "double", floats
    except ValueError:
        pass
    low = {v.strip().lower() for v in present}
    if low <= {"true", "false", "t", "f"}:
        return "boolean", [None if v is None else v.strip().lower() in ("true", "t") for v in values]
    return "char", list(values)


def described(
    name: str,
    datatype: str,
    maps_to: str | None,
    *,
    arraysize: str | None = None,
    unit: str | None = None,
    ucd: str | None = None,
    utype: str | None = None,
    xtype: str | None = None,
    description: str | None = None,
) -> TargetColumnOut:
    """A column's description; ``position`` is given when the programme stores it."""
    return TargetColumnOut(
        name=name,
        position=0,
        datatype=datatype,
        arraysize=arraysize,
        unit=unit or None,
        ucd=ucd or None,
        utype=utype or None,
        xtype=xtype or None,
        description=description or None,
        maps_to=maps_to,
    )


class Extras(msgspec.Struct):
    """What the extra columns give per row: magnitudes, diameters and properties (lists of len n)."""

    magnitudes: list[dict[str, Photometry]]
    diameters: list[list[Diameter]]
    properties: list[dict[str, Any]]
    errors: list[tuple[int, str, str]]  # (row index, column, message)


# the ranges of Photometry's and Diameter's fields, checked here (the structs are built, not converted)
_PART_LIMITS: dict[tuple[str | None, str], tuple[float, float, str]] = {
    ("magnitudes", "mag"): (-10.0, 40.0, "a magnitude between -10 and 40"),
    ("magnitudes", "error"): (0.0, 10.0, "a magnitude error between 0 and 10"),
    ("diameters", "value"): (0.0, 1.0e6, "a diameter between 0 and 1e6 mas"),
    ("diameters", "error"): (0.0, 1.0e6, "a diameter error between 0 and 1e6 mas"),
}
PROPERTY_TEXT = 4000  # models.PropertyValue
PROPERTY_NAME = 128  # models.PropertyName
MAX_PROPERTIES = 500  # models.Properties


def _in_range(
    role: Role, source: str, values: list[float | None], errors: list[tuple[int, str, str]]
) -> list[float | None]:
    """A part column with its NaN and out-of-range cells as None, each reported (row index, column, message)."""
    slot = "error" if role.error else ("mag" if role.part == "magnitudes" else "value")
    low, high, what = _PART_LIMITS[(role.part, slot)]
    bad = [i for i, v in enumerate(values) if v is not None and not low <= v <= high]  # NaN included
    if not bad:
        return values
    out = list(values)
    for i in bad:
        v = values[i]
        errors.append((i, source, "not a number" if v != v else f"{v:g} is not {what}"))
        out[i] = None
    return out


def _runs_whole(parts: list[tuple[Role, str, list[float | None]]], part: str) -> bool:
    """Whether each key's columns of ``part`` follow one another: then a row's entries are in key order
    (the order the cell-by-cell reading gives: by each entry's first cell present)."""
    keys = [role.key for role, _, _ in parts if role.part == part]
    runs = [k for i, k in enumerate(keys) if i == 0 or keys[i - 1] != k]
    return len(runs) == len(set(runs))


def _slot_columns(
    parts: list[tuple[Role, list[float | None]]], n: int
) -> tuple[list[float | None], list[float | None]]:
    """The (value or mag, error) cells of one key; of two columns of one slot the later wins where present."""
    slots: dict[bool, list[float | None]] = {}
    for role, values in parts:
        earlier = slots.get(role.error)
        slots[role.error] = (
            values
            if earlier is None
            else [e if v is None else v for e, v in zip(earlier, values, strict=True)]
        )
    empty: list[float | None] = [None] * n
    return slots.get(False, empty), slots.get(True, empty)


def _per_key(
    n: int, parts: list[tuple[Role, str, list[float | None]]], part: str
) -> list[tuple[tuple[str | None, ...], list[Any]]]:
    """Per key of ``part`` in column order: its struct per row (None where the row has none of its cells)."""
    by_key: dict[tuple[str | None, ...], list[tuple[Role, list[float | None]]]] = {}
    for role, _, values in parts:
        if role.part == part:
            by_key.setdefault(role.key, []).append((role, values))
    out: list[tuple[tuple[str | None, ...], list[Any]]] = []
    for key, columns in by_key.items():
        main, error = _slot_columns(columns, n)
        structs: list[Photometry | Diameter | None]
        if part == "magnitudes":
            structs = [
                None if m is None and e is None else Photometry(m, e)
                for m, e in zip(main, error, strict=True)
            ]
        else:
            catalogue, kind, band = key
            structs = [
                None if v is None and e is None else Diameter(kind, catalogue, band, v, e)  # type: ignore[arg-type]
                for v, e in zip(main, error, strict=True)
            ]
        out.append((key, structs))
    return out


def build_extras(
    n: int,
    parts: list[tuple[Role, str, list[float | None]]],
    properties: list[tuple[str, list[Any]]],
) -> Extras:
    """Per row: the magnitudes and diameters of the ``parts`` columns (as the structs TargetIn holds,
    their ranges checked here, each error naming its column), and the ``properties``. Column by column
    (a comprehension per column, not a loop per cell: 3,000 rows of the SPICA layout's 21 parts and
    39 properties went from 0.066 s to ~0.02 s)."""
    if not (_runs_whole(parts, "magnitudes") and _runs_whole(parts, "diameters")):
        return _build_extras_by_cell(n, parts, properties)
    errors: list[tuple[int, str, str]] = []
    parts = [(role, source, _in_range(role, source, values, errors)) for role, source, values in parts]
    bands = _per_key(n, parts, "magnitudes")
    discs = _per_key(n, parts, "diameters")
    names = [str(key[0]) for key, _ in bands]
    magnitudes: list[dict[str, Photometry]] = (
        [
            {b: p for b, p in zip(names, row, strict=True) if p is not None}
            for row in zip(*(s for _, s in bands), strict=True)
        ]
        if bands
        else [{} for _ in range(n)]
    )
    diameters: list[list[Diameter]] = (
        [[d for d in row if d is not None] for row in zip(*(s for _, s in discs), strict=True)]
        if discs
        else [[] for _ in range(n)]
    )
    return Extras(magnitudes, diameters, _property_rows(n, properties, errors), errors)


def _property_rows(
    n: int, properties: list[tuple[str, list[Any]]], errors: list[tuple[int, str, str]]
) -> list[dict[str, Any]]:
    """Per row: its property values (None left out); a text too long is reported (row index, column, message)."""
    if not properties:
        return [{} for _ in range(n)]
    for name, values in properties:
        kinds = set(map(type, values))
        if str not in kinds:
            continue
        if kinds <= _TEXT_CELLS and max(map(len, filter(None, values)), default=0) <= PROPERTY_TEXT:
            continue  # decided in C
        long = [i for i, v in enumerate(values) if type(v) is str and len(v) > PROPERTY_TEXT]
        errors.extend((i, name, f"at most {PROPERTY_TEXT} characters") for i in long)
    names = [name for name, _ in properties]
    return [
        {k: v for k, v in zip(names, cells, strict=True) if v is not None}
        if None in cells
        else dict(zip(names, cells, strict=True))
        for cells in zip(*(values for _, values in properties), strict=True)
    ]


def _build_extras_by_cell(
    n: int,
    parts: list[tuple[Role, str, list[float | None]]],
    properties: list[tuple[str, list[Any]]],
) -> Extras:
    """:func:`build_extras` cell by cell, for parts whose keys' columns interleave (an entry's place in a
    row then depends on which of its cells the row has)."""
    magnitudes: list[dict[str, dict[str, float]]] = [{} for _ in range(n)]
    diameters: list[dict[tuple[str | None, ...], dict[str, Any]]] = [{} for _ in range(n)]
    errors: list[tuple[int, str, str]] = []
    for role, source, values in parts:
        slot = "error" if role.error else ("mag" if role.part == "magnitudes" else "value")
        low, high, what = _PART_LIMITS[(role.part, slot)]
        for i, v in enumerate(values):
            if v is None:
                continue
            if v != v:  # NaN: not a number
                errors.append((i, source, "not a number"))
                continue
            if not low <= v <= high:
                errors.append((i, source, f"{v:g} is not {what}"))
                continue
            if role.part == "magnitudes":
                magnitudes[i].setdefault(str(role.key[0]), {})[slot] = v
            else:
                entry = diameters[i].get(role.key)
                if entry is None:
                    catalogue, kind, band = role.key
                    entry = diameters[i][role.key] = {"kind": kind, "catalogue": catalogue, "band": band}
                entry[slot] = v
    rows: list[dict[str, Any]]
    if properties:
        for name, kept in properties:
            for i, cell in enumerate(kept):
                if type(cell) is str and len(cell) > PROPERTY_TEXT:
                    errors.append((i, name, f"at most {PROPERTY_TEXT} characters"))
        names = [name for name, _ in properties]
        rows = [
            {k: v for k, v in zip(names, cells, strict=True) if v is not None}
            for cells in zip(*(kept for _, kept in properties), strict=True)
        ]
    else:
        rows = [{} for _ in range(n)]
    return Extras(
        magnitudes=[{band: Photometry(**slots) for band, slots in row.items()} for row in magnitudes],
        diameters=[[Diameter(**entry) for entry in row.values()] for row in diameters],
        properties=rows,
        errors=errors,
    )


# ------------------------------------------------------------------------------------ a whole list


@dataclass
class Source:
    """A column of the list as its format describes it; ``values`` the cells (a masked array, a list of
    text or of Python values, None for a vector-valued column), ``core`` the TargetIn field the format's
    own rules gave it (None: left to :func:`keep_columns`)."""

    name: str
    datatype: str
    values: Any
    core: str | None = None
    arraysize: str | None = None
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    xtype: str | None = None
    description: str | None = None


@dataclass
class Kept:
    """The columns :func:`keep_columns` adds to the format's own: TargetIn fields (field, source, values),
    the structured ones, the description of every column, and what went wrong per cell."""

    fields: list[tuple[str, str, Any]]
    described: list[TargetColumnOut]
    properties: list[str]
    errors: list[tuple[int, str, str]]
    work_package_titles: dict[str, str]
    ignored: list[str]


_CODE_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


def work_package_codes(values: list[Any]) -> tuple[list[Any], dict[str, str]]:
    """A programme name per row (TARGET_PROGNAME) as a work package code, and code -> name where they differ."""
    titles: dict[str, str] = {}
    out: list[Any] = []
    for v in values:
        if not isinstance(v, str) or not v.strip():
            out.append(v)
            continue
        code = _CODE_CHARACTERS.sub("-", v.strip()).strip("-._")[:40] or v
        if code != v.strip():
            titles[code] = v.strip()
        out.append(code)
    return out, titles


@functools.cache
def _exported() -> frozenset[tuple[str, str | None]]:
    """(name, UCD) of the request columns the Aspro2 export writes after the targets' own."""
    from .export_votable import REQUEST_FIELDS

    return frozenset((f.name, f.ucd) for f in REQUEST_FIELDS)


def keep_columns(n: int, sources: list[Source], notices: list[ImportNotice]) -> Kept:
    """Every column not taken by the format's own rules: a known field, a part of the magnitudes or
    diameters, SPICA-DB's own (described only), or a typed property."""
    taken = {s.core for s in sources if s.core is not None}
    fields: list[tuple[str, str, Any]] = []
    parts: list[tuple[Role, str, list[float | None]]] = []
    props: list[tuple[str, list[Any]]] = []
    out: list[TargetColumnOut] = []
    titles: dict[str, str] = {}
    ignored: list[str] = []
    for s in sources:
        if s.values is None:  # a vector in each cell: not a target's
            ignored.append(s.name)
            continue
        ucd = s.ucd or ""
        maps_to: str | None = s.core
        if s.core is None and (s.name, s.ucd) in _exported():
            ignored.append(s.name)  # what our own Aspro2 export adds from the requests: not the list's
            continue
        if s.core is None:
            role = extra_role(s.name, ucd)
            if role is not None and role.field is not None and role.field in taken:
                role = None  # a second column of a field: kept as it is
            values = scrub(s.values, s.name, notices)
            if role is None:
                props.append((s.name, typed(values, s.datatype)))
            elif role.field is not None:
                taken.add(role.field)
                if role.field == "work_package":
                    values, titles = work_package_codes(list(values))
                fields.append((role.field, s.name, values))
            elif role.part is not None:
                parts.append((role, s.name, numbers(values)))
            maps_to = None if role is None else role.maps_to
        if any(c.name == s.name for c in out):
            continue  # a second FIELD of that name: described once
        out.append(
            described(
                s.name,
                s.datatype,
                maps_to,
                arraysize=s.arraysize,
                unit=s.unit,
                ucd=s.ucd,
                utype=s.utype,
                xtype=s.xtype,
                description=s.description,
            )
        )
    long_names = [name for name, _ in props if len(name) > PROPERTY_NAME]
    if long_names:
        raise TargetListError(
            f"Column name {long_names[0][:60]!r}... is longer than {PROPERTY_NAME} characters."
        )
    if len(props) > MAX_PROPERTIES:
        raise TargetListError(
            f"{len(props)} columns besides the target fields; at most {MAX_PROPERTIES} are kept."
        )
    extras = build_extras(n, parts, props)
    if any(extras.magnitudes):
        fields.append(("magnitudes", "magnitudes", extras.magnitudes))
    if any(extras.diameters):
        fields.append(("diameters", "diameters", extras.diameters))
    if props:
        fields.append(("properties", "properties", extras.properties))
    return Kept(fields, out, [name for name, _ in props], extras.errors, titles, ignored)
