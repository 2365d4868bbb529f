"""Database rows to msgspec structs, one way for every service.

The SQL names each column as the struct's field (``e.kind AS obs_type``), and msgspec builds the struct
from the row: types checked, lists and nested structs made, nothing copied field by field by hand. A
column aliased with a dot (``e.seeing AS "conditions.seeing"``) goes into the nested struct named before
the dot. Values a query cannot give (a struct built in Python, a list read separately) are passed as
keywords and win over the row's columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import msgspec

__all__ = ["row_to", "rows_to"]

T = TypeVar("T")


def _nested(keys: Iterable[str]) -> list[tuple[str, str, str]]:
    """(column, struct field, nested field) of each dotted column."""
    nested = []
    for key in keys:
        field, dot, inner = key.partition(".")
        if dot:
            nested.append((key, field, inner))
    return nested


def _values(record: Mapping[str, Any], nested: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
    values = dict(record)
    for column, field, inner in nested:
        values.setdefault(field, {})[inner] = values.pop(column)
    return values


def row_to(kind: type[T], record: Mapping[str, Any], **values: Any) -> T:
    """One row (an ``asyncpg.Record`` or any mapping of column names) as a ``kind`` struct; ``values``
    are fields the row does not carry."""
    fields = _values(record, _nested(record.keys()))
    fields.update(values)
    return msgspec.convert(fields, kind)


def rows_to(kind: type[T], records: Sequence[Mapping[str, Any]]) -> list[T]:
    """Rows of one query (the same columns in each) as ``kind`` structs, in their order."""
    if not records:
        return []
    nested = _nested(records[0].keys())
    if nested:
        return [msgspec.convert(_values(r, nested), kind) for r in records]
    return [msgspec.convert(dict(r), kind) for r in records]
