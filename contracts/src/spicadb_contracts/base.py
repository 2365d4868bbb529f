"""The base of every SPICA-DB event payload and the registry of declared events.

An event is a msgspec Struct decorated with :func:`event`, which gives it a name
(``<producer>.<aggregate>.<what happened>``), a version, and registers it. The
version is part of the CloudEvents type and of the NATS subject, so a consumer
always knows which shape it is decoding. Evolve a version only compatibly (new
fields with defaults); anything else is a new version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import ClassVar, TypeVar

import msgspec

TYPE_PREFIX = "org.jmmc.spicadb"
SUBJECT_PREFIX = "spicadb"


class Event(msgspec.Struct, kw_only=True, frozen=True):
    """Base class of event payloads. Subclasses are declared with :func:`event`."""

    event_name: ClassVar[str]
    event_version: ClassVar[int]
    producer: ClassVar[str]
    aggregate: ClassVar[str]
    summary: ClassVar[str]

    @classmethod
    def event_type(cls) -> str:
        """CloudEvents ``type``: reverse-DNS prefix, name and version."""
        return f"{TYPE_PREFIX}.{cls.event_name}.v{cls.event_version}"

    @classmethod
    def subject(cls) -> str:
        """NATS subject the event is published on (one per event type and version)."""
        return f"{SUBJECT_PREFIX}.{cls.event_name}.v{cls.event_version}"


E = TypeVar("E", bound=type[Event])

_REGISTRY: dict[str, type[Event]] = {}


def event(name: str, *, version: int, summary: str) -> Callable[[E], E]:
    """Declare an event payload: ``name`` is ``<producer>.<aggregate>.<what happened>``."""
    parts = name.split(".")
    if len(parts) < 3 or not all(p.replace("_", "").isalnum() and p.islower() for p in parts):
        raise ValueError(f"event name {name!r} must be <producer>.<aggregate>.<what_happened>, lower case")
    if version < 1:
        raise ValueError("event versions start at 1")

    def register(cls: E) -> E:
        cls.event_name = name
        cls.event_version = version
        cls.producer = parts[0]
        cls.aggregate = parts[1]
        cls.summary = summary
        key = cls.event_type()
        if key in _REGISTRY and _REGISTRY[key] is not cls:
            raise ValueError(f"event {key} declared twice")
        _REGISTRY[key] = cls
        return cls

    return register


def registered_events() -> Iterator[type[Event]]:
    """Every declared event, sorted by type (importing :mod:`spicadb_contracts` loads them all)."""
    for key in sorted(_REGISTRY):
        yield _REGISTRY[key]


def event_class(event_type: str) -> type[Event]:
    """The payload class of a CloudEvents type, or KeyError."""
    return _REGISTRY[event_type]
