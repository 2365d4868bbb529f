"""Database rows to msgspec structs, one way for every service.

The SQL names each column as the struct's field (``e.kind AS obs_type``), and msgspec builds the struct
from the row: types checked, lists and nested structs made, nothing copied field by field by hand. A
column aliased with a dot (``e.seeing AS "conditions.seeing"``) goes into the nested struct named before
the dot. A column of JSON text is decoded by msgspec straight into its type (``decode``), faster than
a ``::json`` cast (PostgreSQL parses it, then the codec makes dicts that msgspec converts again). Values
a query cannot give (a struct built in Python, a list read separately) are passed as keywords and win
over the row's columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import msgspec

__all__ = ["row_to", "rows_to"]

T = TypeVar("T")
# column -> the decoder of its JSON text
_Decoders = Sequence[tuple[str, msgspec.json.Decoder[Any]]]


def _nested(keys: Iterable[str]) -> list[tuple[str, str, str]]:
    """(column, struct field, nested field) of each dotted column."""
    nested = []
    for key in keys:
        field, dot, inner = key.partition(".")
        if dot:
            nested.append((key, field, inner))
    return nested


def _decoders(decode: Mapping[str, Any] | None) -> _Decoders:
    return [(column, msgspec.json.Decoder(kind)) for column, kind in (decode or {}).items()]


def _values(
    record: Mapping[str, Any], nested: Sequence[tuple[str, str, str]], decoders: _Decoders
) -> dict[str, Any]:
    values = dict(record)
    for column, decoder in decoders:
        values[column] = decoder.decode(values[column])
    for column, field, inner in nested:
        values.setdefault(field, {})[inner] = values.pop(column)
    return values


def row_to(
    kind: type[T], record: Mapping[str, Any], *, decode: Mapping[str, Any] | None = None, **values: Any
) -> T:
    """One row (an ``asyncpg.Record`` or any mapping of column names) as a ``kind`` struct; ``decode``:
    column -> the type its JSON text decodes to; ``values``: fields the row does not carry."""
    fields = _values(record, _nested(record.keys()), _decoders(decode))
    fields.update(values)
    return msgspec.convert(fields, kind)


def rows_to(
    kind: type[T], records: Sequence[Mapping[str, Any]], *, decode: Mapping[str, Any] | None = None
) -> list[T]:
    """Rows of one query (the same columns in each) as ``kind`` structs, in their order; ``decode`` as in
    :func:`row_to`."""
    if not records:
        return []
    nested, decoders = _nested(records[0].keys()), _decoders(decode)
    if nested or decoders:
        return [msgspec.convert(_values(r, nested, decoders), kind) for r in records]
    return [msgspec.convert(dict(r), kind) for r in records]
