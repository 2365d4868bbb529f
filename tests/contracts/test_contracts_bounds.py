"""Every value an event carries is bounded, and the largest event of each type fits one NATS message.

The largest event is built from the types themselves (msgspec.inspect): every string at its maximum length
in the character that costs the most bytes in JSON given its pattern (a control character is written
``\\u0001``: 6 bytes; a character outside the BMP: 4; a quote in ASCII: 2), every list and mapping at its
maximum size, every number at its longest representation within its range. It is decoded back against
the payload type, so the bounds are the ones consumers enforce.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import msgspec
import msgspec.inspect as mi
import pytest

from spicadb_contracts import Event, registered_events
from spicadb_contracts.bounds import (
    EVENT_PAYLOAD_LIMIT,
    LOG_OBSERVATIONS,
    NATS_MAX_PAYLOAD,
    Comment,
    Identifier,
    Keyword,
)
from spicadb_contracts.nightlogs import NightLogIngested

# The candidates for a character, costliest first: control (6 bytes), astral (4), quote (2), letter (1).
_CHARACTERS = ("\x01", "\U0001f600", '"', "a")
# The longest JSON numbers: the candidates are tried against each field's range.
_FLOATS = (
    -1.2345678901234567e-300,
    -2.2250738585072014e-308,
    -19999.999999999996,
    -99.99999999999999,
    -89.99999999999999,
    1.2345678901234567e-300,
    99999.99999999999,
    2099.9999999999995,
    999.9999999999999,
    359.99999999999994,
    0.0,
)
_LONGEST_TIME = datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(-timedelta(hours=11, minutes=59)))


def _widest_char(pattern: str | None) -> str:
    for char in _CHARACTERS:
        if pattern is None or re.search(pattern, char * 3):
            return char
    raise AssertionError(f"no character matches {pattern!r}")


def _string(info: mi.StrType, path: str, distinct: int = 0) -> str:
    assert info.max_length is not None, f"{path}: a string without max_length"
    char = _widest_char(info.pattern)
    text = char * info.max_length
    if distinct:  # keys of a mapping: all different, still as long and as costly as possible
        suffix = format(distinct, "x")
        text = text[: info.max_length - len(suffix)] + suffix
    return text


def _number(info: mi.FloatType | mi.IntType, path: str) -> float | int:
    def fits(value: float) -> bool:
        low = info.ge if info.ge is not None else info.gt
        high = info.le if info.le is not None else info.lt
        return (low is None or value >= low) and (high is None or value <= high)

    if isinstance(info, mi.IntType):
        candidates: list[int] = [-(2**63), 2**63 - 1, -(10**15), 10**15]
        if info.le is not None:
            candidates.append(int(info.le))
        if info.ge is not None:
            candidates.append(int(info.ge))
        return max((c for c in candidates if fits(c)), key=lambda c: len(str(c)))
    assert info.ge is not None or info.gt is not None, f"{path}: a float without a range (use Finite)"
    return max((f for f in _FLOATS if fits(f) and math.isfinite(f)), key=lambda f: len(repr(f)))


def largest(info: mi.Type, path: str) -> Any:
    """The costliest value of a type, in JSON-able builtins."""
    if isinstance(info, mi.StrType):
        return _string(info, path)
    if isinstance(info, (mi.FloatType, mi.IntType)):
        return _number(info, path)
    if isinstance(info, mi.ListType):
        assert info.max_length is not None, f"{path}: a list without max_length"
        item = largest(info.item_type, f"{path}[]")
        return [item] * info.max_length
    if isinstance(info, mi.DictType):
        assert info.max_length is not None, f"{path}: a mapping without max_length"
        assert isinstance(info.key_type, mi.StrType)
        value = largest(info.value_type, f"{path}{{}}")
        return {_string(info.key_type, path, n + 1): value for n in range(info.max_length)}
    if isinstance(info, mi.StructType):
        return {f.encode_name: largest(f.type, f"{path}.{f.name}") for f in info.fields}
    if isinstance(info, mi.UnionType):
        options = [t for t in info.types if not isinstance(t, mi.NoneType)]
        values = [largest(t, path) for t in options]
        return max(values, key=lambda v: len(msgspec.json.encode(v)))
    if isinstance(info, mi.UUIDType):
        return str(UUID(int=2**128 - 1))
    if isinstance(info, mi.DateTimeType):
        return _LONGEST_TIME.isoformat()
    if isinstance(info, mi.DateType):
        return date(2026, 12, 31).isoformat()
    if isinstance(info, mi.BoolType):
        return False
    if isinstance(info, mi.LiteralType):
        return max(info.values, key=lambda v: len(msgspec.json.encode(v)))
    raise AssertionError(f"{path}: no largest value known for {info!r}")


def largest_event(cls: type[Event]) -> bytes:
    builtins = largest(mi.type_info(cls), cls.__name__)
    payload = msgspec.convert(builtins, cls)  # within the bounds consumers enforce
    return msgspec.json.encode(payload)


EVENTS = list(registered_events())
# Events whose lists are limited together by the domain, not each by its own bound (documented on the field).
JOINTLY_BOUNDED = {NightLogIngested}


@pytest.mark.parametrize("cls", EVENTS, ids=lambda c: c.event_type())
def test_largest_event_fits_one_nats_message(cls: type[Event]) -> None:
    if cls in JOINTLY_BOUNDED:
        pytest.skip("lists bounded together: see test_largest_log_ingested_fits")
    size = len(largest_event(cls))
    assert size <= EVENT_PAYLOAD_LIMIT, f"{cls.event_type()}: {size} bytes at its bounds"


def test_largest_log_ingested_fits() -> None:
    """A log adds and changes at most LOG_OBSERVATIONS observations together, and withdraws at most the
    previous version's: the largest event has 2 x LOG_OBSERVATIONS ids."""
    builtins = largest(mi.type_info(NightLogIngested), "NightLogIngested")
    builtins["changed"] = []
    size = len(msgspec.json.encode(msgspec.convert(builtins, NightLogIngested)))
    assert size <= EVENT_PAYLOAD_LIMIT, f"{size} bytes at its bounds"


def test_headers_leave_room() -> None:
    assert EVENT_PAYLOAD_LIMIT < NATS_MAX_PAYLOAD


def test_largest_value_obeys_the_bounds() -> None:
    """The builder is right about costs: the widest character is the costliest that is allowed."""
    assert len(msgspec.json.encode(largest(mi.type_info(Comment), "c"))) == 6 * 4000 + 2
    assert len(msgspec.json.encode(largest(mi.type_info(Identifier), "i"))) == 4 * 128 + 2
    assert len(msgspec.json.encode(largest(mi.type_info(Keyword), "k"))) == 2 * 32 + 2
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert("x" * 4001, Comment)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert("a\x01b", Identifier)
    assert LOG_OBSERVATIONS >= 10_000  # the ingestion benchmark's log


def _unbounded(info: mi.Type, path: str, seen: set[type]) -> list[str]:
    if isinstance(info, mi.StrType) and info.max_length is None:
        return [path]
    if isinstance(info, (mi.ListType, mi.DictType)):
        own = [path] if info.max_length is None else []
        inner = info.value_type if isinstance(info, mi.DictType) else info.item_type
        keys = _unbounded(info.key_type, f"{path}{{key}}", seen) if isinstance(info, mi.DictType) else []
        return own + keys + _unbounded(inner, f"{path}[]", seen)
    if isinstance(info, mi.FloatType) and info.ge is None and info.gt is None:
        return [f"{path} (not even finite)"]
    if isinstance(info, mi.UnionType):
        return [p for t in info.types for p in _unbounded(t, path, seen)]
    if isinstance(info, mi.StructType) and info.cls not in seen:
        seen.add(info.cls)
        return [p for f in info.fields for p in _unbounded(f.type, f"{path}.{f.name}", seen)]
    return []


@pytest.mark.parametrize("cls", EVENTS, ids=lambda c: c.event_type())
def test_every_field_is_bounded(cls: type[Event]) -> None:
    assert _unbounded(mi.type_info(cls), cls.__name__, set()) == []


def test_a_time_is_as_long_as_it_gets() -> None:
    assert len(_LONGEST_TIME.isoformat()) >= len(datetime.now(UTC).isoformat())
