"""Result columns typed from the cursor: PostgreSQL types to VOTable datatypes, pgSphere values to
STC-S (regions) or DALI points, timestamps to DALI timestamps; the published column's declaration
(unit, UCD, utype, description, and its datatype when it agrees with the database's) when the query
shows one."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from spicadb_kit.published import PublishedColumn

from ..adql import Translated
from ..results import ResultColumn

# PostgreSQL type name -> (VOTable datatype, arraysize, xtype)
_SCALARS: dict[str, tuple[str, str | None, str | None]] = {
    "int2": ("short", None, None),
    "int4": ("int", None, None),
    "int8": ("long", None, None),
    "oid": ("long", None, None),
    "float4": ("float", None, None),
    "float8": ("double", None, None),
    "numeric": ("double", None, None),
    "bool": ("boolean", None, None),
    "text": ("char", "*", None),
    "varchar": ("char", "*", None),
    "bpchar": ("char", "*", None),
    "name": ("char", "*", None),
    "uuid": ("char", "*", None),
    "timestamptz": ("char", "*", "timestamp"),
    "timestamp": ("char", "*", "timestamp"),
    "date": ("char", "*", "timestamp"),
    "spoint": ("double", "2", "point"),
    "scircle": ("char", "*", "adql:REGION"),
    "spoly": ("char", "*", "adql:REGION"),
    "sbox": ("char", "*", "adql:REGION"),
    "_int2": ("short", "*", None),
    "_int4": ("int", "*", None),
    "_int8": ("long", "*", None),
    "_float4": ("float", "*", None),
    "_float8": ("double", "*", None),
}
_NUMBERS = frozenset({"short", "int", "long", "float", "double", "unsignedByte"})
_STRINGS = frozenset({"char", "unicodeChar"})
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _degrees(radians: str) -> float:
    # pgSphere writes radians with 15 digits: 12 significant digits in degrees drop the noise
    value = math.degrees(float(radians))
    return float(f"{value:.12g}") + 0.0


def _angles(text: str) -> list[float]:
    return [_degrees(n) for n in _NUMBER.findall(text)]


def _fmt(value: float) -> str:
    return repr(value)


def point_values(text: str) -> list[float]:
    """A pgSphere spoint ``(lon , lat)`` in radians as [ra, dec] in degrees."""
    return _angles(text)[:2]


def stcs(kind: str, text: str) -> str:
    """A pgSphere value (its text output, radians) as an STC-S string in degrees."""
    values = _angles(text)
    if kind == "spoint":
        return "Position ICRS " + " ".join(_fmt(v) for v in values[:2])
    if kind == "scircle":
        return "Circle ICRS " + " ".join(_fmt(v) for v in values[:3])
    if kind == "sbox":  # two corners: STC-S wants the centre and the size
        lo_ra, lo_dec, hi_ra, hi_dec = values[:4]
        width = (hi_ra - lo_ra) % 360.0
        centre = (lo_ra + width / 2) % 360.0
        return f"Box ICRS {_fmt(centre)} {_fmt((lo_dec + hi_dec) / 2)} {_fmt(width)} {_fmt(hi_dec - lo_dec)}"
    return "Polygon ICRS " + " ".join(_fmt(v) for v in values)


def _timestamp(value: Any) -> str:
    """A DALI timestamp: ISO 8601 in UTC without an offset (milliseconds when there are some)."""
    if isinstance(value, datetime):
        zone = value.tzinfo
        if zone is not None and zone is not UTC:
            value, zone = value.astimezone(UTC), UTC
        text = str(value.isoformat(timespec="milliseconds" if value.microsecond else "seconds"))
        return text if zone is None else text[:-6]  # asyncpg's timestamptz is UTC: "+00:00" dropped
    if isinstance(value, date):
        return str(value.isoformat())
    return str(value)


def _converter(pgtype: str, datatype: str, xtype: str | None) -> Callable[[Any], Any] | None:
    if pgtype == "spoint":
        return point_values if xtype == "point" else (lambda v: stcs("spoint", v))
    if pgtype in ("scircle", "spoly", "sbox"):
        return lambda v: stcs(pgtype, v)
    if pgtype in ("timestamptz", "timestamp", "date"):
        return _timestamp
    if pgtype == "numeric":
        return float
    if pgtype in ("uuid",):
        return str
    if pgtype not in _SCALARS:
        return str
    return None


# how wide a number each VOTable datatype carries (a declared type must carry the database's values)
_WIDTH = {"unsignedByte": 1, "short": 2, "int": 3, "long": 4, "float": 5, "double": 6}


def _agrees(declared: PublishedColumn, datatype: str, pgtype: str) -> bool:
    """Whether the declared datatype can carry the database's values."""
    if declared.datatype in _NUMBERS and datatype in _NUMBERS:
        if datatype in ("float", "double"):
            return _WIDTH[declared.datatype] >= _WIDTH[datatype]
        return _WIDTH[declared.datatype] >= _WIDTH[datatype] or declared.datatype == "double"
    if declared.datatype in _STRINGS and datatype in _STRINGS:
        return True
    if declared.datatype in _STRINGS and pgtype == "spoint" and declared.xtype == "adql:REGION":
        return True
    return declared.datatype == datatype


def result_column(name: str, pgtype: Any, translated: Translated) -> ResultColumn:
    """The FIELD of an output column: its type from the cursor's ``pgtype`` (asyncpg's Type), its
    metadata from the published column it shows."""
    type_name = getattr(pgtype, "name", str(pgtype))
    datatype, arraysize, xtype = _SCALARS.get(type_name, ("char", "*", None))
    declared = translated.declaration(name)
    if declared is not None and _agrees(declared, datatype, type_name):
        datatype, arraysize, xtype = declared.datatype, declared.arraysize, declared.xtype
        if datatype in _STRINGS and arraysize is None:
            arraysize = "*"
    convert = _converter(type_name, datatype, xtype)
    if datatype in _STRINGS and convert is None and type_name not in ("text", "varchar", "bpchar", "name"):
        convert = str
    if declared is None:
        return ResultColumn(name, datatype, arraysize, xtype, convert=convert)
    return ResultColumn(
        name,
        datatype,
        arraysize,
        xtype,
        unit=declared.unit,
        ucd=declared.ucd,
        utype=declared.utype,
        description=declared.description or None,
        convert=convert,
    )


__all__ = ["point_values", "result_column", "stcs"]
