"""Backward compatibility of one event version: what may change between two JSON Schemas of it.

The rule follows msgspec's schema evolution guidance: a version may only gain fields with defaults. Old
consumers skip unknown fields and new consumers fill defaults, so that is safe in both directions; anything
else (a removed field, a changed type, a new required field) breaks some producer or consumer still running
the other side, and needs a new version instead. Annotations (title, description, default, examples) are
documentation and may change freely. ``$ref`` targets are inlined before comparing, so renaming a nested
Struct class is not a change but changing its fields is.
"""

from __future__ import annotations

import json
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


def compare(old_schema: JsonObject, new_schema: JsonObject) -> list[str]:
    """Breaking changes from ``old_schema`` to ``new_schema`` of one event version; empty if compatible."""
    old, new = normalize(old_schema), normalize(new_schema)
    return _object_changes(old, new) + _field_changes(old, new)
