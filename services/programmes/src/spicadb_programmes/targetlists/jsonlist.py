"""JSON target lists: an array of TargetIn-shaped objects, or ``{"targets": [...]}`` (our export).

Every key of every object is checked (not only the first wrong one): unknown keys are row errors,
except the read-only keys of our own export (id, created_at, updated_at, progress), which are
listed in ``ignored_columns`` so that an export re-imports as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import repeat
from typing import Any

import msgspec

from ..models import TargetColumnOut, TargetOut
from .columns import described
from .common import EXPORT_ONLY, FIELDS, Column, ParsedList, RowError, TargetListError, assemble

_KNOWN = frozenset(FIELDS) | EXPORT_ONLY


class TargetExport(msgspec.Struct):
    """A JSON target list, as exported (and imported again)."""

    targets: list[TargetOut]


def parse_json(body: bytes) -> ParsedList:
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise TargetListError(f"The JSON target list is not valid JSON: {exc}.") from None
    if isinstance(document, dict):
        if "targets" not in document:
            raise TargetListError(
                'A JSON target list is an array of targets or an object {"targets": [...]}.'
            )
        document = document["targets"]
    if not isinstance(document, list):
        raise TargetListError('A JSON target list is an array of targets or an object {"targets": [...]}.')
    objects = [item for item in document if isinstance(item, dict)]
    if len(objects) == len(document):
        row_numbers = list(range(1, len(document) + 1))
        row_errors = []
    else:
        row_numbers = [i + 1 for i, item in enumerate(document) if isinstance(item, dict)]
        row_errors = [
            RowError(i + 1, "", f"expected an object, not {type(item).__name__}")
            for i, item in enumerate(document)
            if not isinstance(item, dict)
        ]
    if not objects and document:
        raise TargetListError("The JSON target list holds no objects.")
    keys: set[str] = set().union(*objects)
    unknown = keys - _KNOWN
    if unknown:
        for row, item in zip(row_numbers, objects, strict=True):
            row_errors.extend(RowError(row, key, f"unknown field {key!r}") for key in item if key in unknown)
    ignored = keys & EXPORT_ONLY
    # missing names and positions are per-row errors in JSON
    seen = keys | {"name", "ra", "dec"}
    columns = [
        # numbers arrive typed: RA given as a string is read like CSV (degrees, or sexagesimal hours)
        Column(source=f, field=f, values=list(map(dict.get, objects, repeat(f))))
        for f in FIELDS
        if f in seen
    ]
    parsed = assemble("json", columns, row_numbers, sorted(ignored), row_errors=row_errors)
    parsed.columns = _described(objects)
    parsed.properties = [c.name for c in parsed.columns]
    return parsed


_JSON_TYPES = {bool: "boolean", int: "long", float: "double", str: "char"}


def _described(objects: list[dict[str, Any]]) -> list[TargetColumnOut]:
    """The targets' property names as columns of the programme (datatype from the JSON values: boolean,
    long, double, char), in order of first appearance; the target fields are no list's columns."""
    kinds: dict[str, set[str]] = {}
    for item in objects:
        properties = item.get("properties")
        if isinstance(properties, dict):
            for name, value in properties.items():
                kinds.setdefault(name, set()).add(_JSON_TYPES.get(type(value), "char"))
    out = []
    for name, seen in kinds.items():
        datatype = seen.pop() if len(seen) == 1 else "double" if seen == {"long", "double"} else "char"
        out.append(described(name, datatype, None))
    return out


def write_json(targets: Iterable[TargetOut]) -> bytes:
    """``{"targets": [TargetOut, ...]}``, positions at each target's own epoch."""
    return msgspec.json.encode(TargetExport(targets=list(targets)))
