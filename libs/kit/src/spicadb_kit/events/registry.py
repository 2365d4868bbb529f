"""The consumer registry: what a consumer takes from the bus and which handler applies each event.

An :class:`EventConsumer` pairs a consumer's declaration (``spec.ConsumerDecl``) with its handlers,
one per event type and version; the runner (``runner.py``) fetches and applies, this module only
records who handles what, and refuses at startup a declaration that could never make progress.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from spicadb_contracts import Event, registered_events

from ..spec import ConsumerDecl, Ordering
from .envelope import Envelope

__all__ = ["BatchHandler", "EventConsumer", "Handler", "left_out_events"]

Handler = Callable[[asyncpg.Connection, Envelope, Any], Awaitable[None]]
# a handler of many events of one type at once (one INSERT for the lot): what keeps a consumer fast
BatchHandler = Callable[[asyncpg.Connection, list[tuple[Envelope, Any]]], Awaitable[None]]
H = TypeVar("H", bound=Handler)
B = TypeVar("B", bound=BatchHandler)


def _subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` one token, ``>`` one or more trailing tokens."""
    tokens, wanted = subject.split("."), pattern.split(".")
    for k, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > k
        if k >= len(tokens) or token not in ("*", tokens[k]):
            return False
    return len(wanted) == len(tokens)


def left_out_events(decl: ConsumerDecl) -> list[str]:
    """The event types (``name.vN``) of the aggregates a consumer receives that its filter leaves out:
    they share the aggregates' version counters, so a strictly ordered consumer would wait for them
    for ever. Empty for a consumer that is not strictly ordered."""
    if decl.ordering is not Ordering.STRICT:
        return []
    events = list(registered_events())
    taken = {e for e in events if any(_subject_matches(f, e.subject()) for f in decl.filter_subjects)}
    aggregates = {(e.producer, e.aggregate) for e in taken}
    return sorted(
        f"{e.event_name}.v{e.event_version}"
        for e in events
        if (e.producer, e.aggregate) in aggregates and e not in taken
    )


class EventConsumer:
    """A consumer's declaration and its handlers, one per event type it understands."""

    def __init__(self, decl: ConsumerDecl) -> None:
        left_out = left_out_events(decl)
        if left_out:  # refused at startup rather than found stuck 300 s after the first gap
            raise ValueError(
                f"consumer {decl.durable} is strictly ordered but its filter leaves out "
                f"{', '.join(left_out)}, which share the version counters of the aggregates it "
                "receives: take those events too, or declare ordering=Ordering.LATEST (newest "
                "version wins) or Ordering.NONE"
            )
        self.decl = decl
        self.handlers: dict[str, Handler] = {}
        self.batch_handlers: dict[str, BatchHandler] = {}

    @property
    def name(self) -> str:
        """The durable consumer's name: the key of its inbox, positions and dead letters."""
        return str(self.decl.durable)

    @property
    def ordering(self) -> Ordering:
        """How events of one aggregate are applied (strict, newest wins, or in no order)."""
        return self.decl.ordering

    def on(self, event_type: type[Event]) -> Callable[[H], H]:
        """Register ``handler(conn, envelope, event)`` for one event type (and version)."""

        def register(handler: H) -> H:
            self.handlers[event_type.event_type()] = handler
            return handler

        return register

    def on_batch(self, event_type: type[Event]) -> Callable[[B], B]:
        """Register ``handler(conn, [(envelope, event), ...])`` for runs of consecutive events of one
        type in a fetched batch (in stream order, all in the batch's transaction)."""

        def register(handler: B) -> B:
            self.batch_handlers[event_type.event_type()] = handler
            return handler

        return register
