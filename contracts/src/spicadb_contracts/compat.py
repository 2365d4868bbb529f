"""Backward compatibility of one event version: what may change between two JSON Schemas of it.

The rule follows msgspec's schema evolution guidance: a version may only gain fields with defaults. Old
consumers skip unknown fields and new consumers fill defaults, so that is safe in both directions; anything
else (a removed field, a changed type, a new required field) breaks some producer or consumer still running
the other side, and needs a new version instead. Annotations (title, description, default, examples) are
documentation and may change freely. ``$ref`` targets are inlined before comparing, so renaming a nested
Struct class is not a change but changing its fields is.

Bounds (maxLength, maxItems, maxProperties, maximum, their minimum counterparts, pattern, multipleOf) are
compared by direction. Loosening one (raising a maximum, lowering a minimum, removing a bound, changing a
pattern) is breaking: a consumer still enforcing the old bound would refuse the new producer's events.
Tightening one (adding a bound or making it stricter) is compatible for consumers, which only ever see a
subset of what they accepted, and is allowed on an existing version on one condition: the producers
refuse, at their edge, any input beyond the bound in the same change (a 422 naming the field), so that
no event they write afterwards breaks it. What the checker cannot see is an event already in a stream
that breaks the new bound (a consumer would dead-letter it, naming the field), so every tightening is
listed as a note (:func:`tightenings`) for the reviewer to confirm, against the newest committed version.
"""

from __future__ import annotations

import json
import re
from typing import Any

JsonObject = dict[str, Any]

_ANNOTATIONS = frozenset({"title", "description", "default", "examples", "$comment", "deprecated"})
# Metadata of the whole document, not of the payload's shape.
_DOCUMENT_KEYS = frozenset({"$schema", "$id", "$defs"})
# Keywords whose value maps names to subschemas; their keys are field names, never annotations.
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "dependentSchemas"})
_SCHEMA_LISTS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})
_SCHEMA_VALUES = frozenset(
    {"items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else"}
    | {"unevaluatedItems", "unevaluatedProperties"}
)
# Keywords whose list value is a set: reordering them changes nothing.
_UNORDERED = frozenset({"required", "enum", "type"})
# Bounds, by the direction that tightens them; an exact bound is tightened only by appearing.
_UPPER = frozenset({"maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum"})
_LOWER = frozenset({"minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum"})
_EXACT = frozenset({"pattern", "multipleOf"})
_BOUNDS = _UPPER | _LOWER | _EXACT
_DEFS_PREFIX = "#/$defs/"


def _resolve_ref(schema: JsonObject, defs: JsonObject, seen: frozenset[str]) -> JsonObject:
    name = schema["$ref"].removeprefix(_DEFS_PREFIX)
    siblings = {k: v for k, v in schema.items() if k != "$ref"}
    if name in seen or name not in defs:  # recursion (compare by name) or a reference we cannot follow
        return {"$ref": name, **_normalize(siblings, defs, seen)}
    return {**_normalize(defs[name], defs, seen | {name}), **_normalize(siblings, defs, seen)}


def _normalize(schema: Any, defs: JsonObject, seen: frozenset[str] = frozenset()) -> Any:
    """The schema's constraints only: references inlined, annotations dropped, set-like lists sorted."""
    if not isinstance(schema, dict):
        return schema  # boolean schemas
    if isinstance(schema.get("$ref"), str) and schema["$ref"].startswith(_DEFS_PREFIX):
        return _resolve_ref(schema, defs, seen)
    out: JsonObject = {}
    for key, value in schema.items():
        if key in _ANNOTATIONS or key in _DOCUMENT_KEYS or key.startswith("x-"):
            continue
        if key in _SCHEMA_MAPS:
            out[key] = {name: _normalize(sub, defs, seen) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS:
            out[key] = [_normalize(sub, defs, seen) for sub in value]
        elif key in _SCHEMA_VALUES:
            out[key] = _normalize(value, defs, seen)
        elif key in _UNORDERED and isinstance(value, list):
            out[key] = sorted(value, key=_canonical)
        else:
            out[key] = value
    return out


def normalize(document: JsonObject) -> JsonObject:
    """The payload object of a schema document (a root ``$ref`` is followed), reduced to constraints."""
    result: JsonObject = _normalize(document, document.get("$defs", {}))
    return result


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _field_changes(old: JsonObject, new: JsonObject) -> list[str]:
    old_props: JsonObject = old.get("properties", {})
    new_props: JsonObject = new.get("properties", {})
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    changes: list[str] = []
    for name, old_field in old_props.items():
        if name not in new_props:
            changes.append(f"field {name!r} removed")
        elif _canonical(old_field) != _canonical(new_props[name]):
            changes.append(
                f"field {name!r} changed type: {_canonical(old_field)} -> {_canonical(new_props[name])}"
            )
        elif name in new_required and name not in old_required:
            changes.append(f"field {name!r} became required (it lost its default)")
        # Gaining a default is compatible: msgspec still encodes the field (events do not use
        # omit_defaults), so consumers that require it keep receiving it.
    for name in new_props.keys() - old_props.keys():
        if name in new_required:
            changes.append(f"new required field {name!r} (give it a default)")
    return sorted(changes)


def _object_changes(old: JsonObject, new: JsonObject) -> list[str]:
    """Changes of the payload object itself (e.g. additionalProperties: false), not of a field."""
    keys = (old.keys() | new.keys()) - {"properties", "required"}
    return [
        f"payload keyword {key!r} changed: {_canonical(old.get(key))} -> {_canonical(new.get(key))}"
        for key in sorted(keys)
        if _canonical(old.get(key)) != _canonical(new.get(key))
    ]


Bounds = dict[str, JsonObject]


def _split(schema: Any, path: str, bounds: Bounds) -> Any:
    """The schema without its bounds; the bounds of every subschema into ``bounds`` by field path
    (``observations[].calibrators[]``, ``identifiers{}`` for a mapping's values)."""
    if not isinstance(schema, dict):
        return schema
    bounds[path] = {key: value for key, value in schema.items() if key in _BOUNDS}
    shape: JsonObject = {}
    for key, value in schema.items():
        if key in _BOUNDS:
            continue
        if key in _SCHEMA_MAPS:
            shape[key] = {
                name: _split(sub, f"{path}.{name}".lstrip("."), bounds) for name, sub in value.items()
            }
        elif key in _SCHEMA_LISTS:
            shape[key] = [_split(sub, f"{path}<{i}>", bounds) for i, sub in enumerate(value)]
        elif key in _SCHEMA_VALUES:
            suffix = {"items": "[]", "additionalProperties": "{}", "propertyNames": "{key}"}.get(
                key, f"<{key}>"
            )
            sub = _split(value, path + suffix, bounds)
            if sub != {}:  # an empty schema allows anything, as an absent one: {"maxLength": 32} of keys
                shape[key] = sub
        else:
            shape[key] = value
    return shape


def _readable(path: str) -> str:
    # a nullable field is anyOf [T, null]: the branch is noise in a message
    return re.sub(r"<\d+>", "", path) or "the payload"


def _bounds_at(bounds: Bounds, path: str) -> JsonObject | None:
    """The bounds of a path; none ({}) where only a subschema of bounds is missing (a mapping's keys)."""
    if path in bounds:
        return bounds[path]
    parent = re.sub(r"(\[\]|\{\}|\{key\}|<[a-zA-Z]+>)$", "", path)
    return {} if parent != path and parent in bounds else None


def _bound_changes(old: Bounds, new: Bounds) -> tuple[list[str], list[str]]:
    """(loosened bounds, tightened bounds) of the paths both schemas have."""
    loosened: list[str] = []
    tightened: list[str] = []
    for path in sorted(old.keys() | new.keys()):
        before, after = _bounds_at(old, path), _bounds_at(new, path)
        if before is None or after is None:  # a field only one side has: a field change, not a bound's
            continue
        for key in sorted(before.keys() | after.keys()):
            was, now = before.get(key), after.get(key)
            if was == now:
                continue
            where = f"{_readable(path)!r} {key}: {_canonical(was)} -> {_canonical(now)}"
            if was is None:
                tightened.append(where)
            elif now is None or key in _EXACT:
                loosened.append(where)
            elif (key in _UPPER) == (now < was):
                tightened.append(where)
            else:
                loosened.append(where)
    return loosened, tightened


def _parts(schema: JsonObject) -> tuple[JsonObject, Bounds]:
    bounds: Bounds = {}
    shape: JsonObject = _split(normalize(schema), "", bounds)
    return shape, bounds


def compare(old_schema: JsonObject, new_schema: JsonObject) -> list[str]:
    """Breaking changes from ``old_schema`` to ``new_schema`` of one event version; empty if compatible."""
    (old, old_bounds), (new, new_bounds) = _parts(old_schema), _parts(new_schema)
    loosened, _ = _bound_changes(old_bounds, new_bounds)
    return (
        _object_changes(old, new)
        + _field_changes(old, new)
        + [
            f"bound loosened on field {change} (a consumer enforcing the old bound refuses)"
            for change in loosened
        ]
    )


def tightenings(old_schema: JsonObject, new_schema: JsonObject) -> list[str]:
    """Bounds ``new_schema`` adds or tightens: compatible when the producers refuse such input (module doc)."""
    _, tightened = _bound_changes(_parts(old_schema)[1], _parts(new_schema)[1])
    return [f"bound tightened on field {change}" for change in tightened]
