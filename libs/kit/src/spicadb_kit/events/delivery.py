"""What a consumer works on: a fetched message decoded into its envelope and event, and the
counters of what became of the messages (read by the health report)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import msgspec
from nats.aio.msg import Msg

from spicadb_contracts import event_class

from .envelope import Envelope

__all__ = ["ConsumerStats", "Delivery", "Message", "decode_delivery"]


class Message(Protocol):
    """The parts of a message decoding needs: a NATS message, or one a dead letter kept."""

    @property
    def headers(self) -> dict[str, str] | None:
        """The message's headers (the event's envelope), None when it came without."""

    @property
    def data(self) -> bytes:
        """The message's payload (the encoded event)."""


@dataclass
class Delivery:
    """One fetched message, decoded, with how many times the server has delivered it."""

    msg: Msg
    envelope: Envelope
    event: Any
    deliveries: int

    @property
    def aggregate(self) -> tuple[str, str]:
        """The aggregate the event belongs to: (type, id), the key of its consumer position."""
        return (self.envelope.aggregate_type, self.envelope.subject)


@dataclass
class ConsumerStats:
    """Counters of one runner since it started."""

    applied: int = 0
    duplicates: int = 0
    naks: int = 0
    dead_lettered: int = 0
    replayed: int = 0
    resubscribes: int = 0
    last_batch_at: float | None = None
    last_error: str | None = None


def decode_delivery(msg: Message) -> tuple[Envelope, Any]:
    """The envelope from the headers and the event from the body, typed by the envelope's type."""
    envelope = Envelope.from_headers(msg.headers)
    try:
        payload_type: type[Any] = event_class(envelope.type)
    except KeyError:
        payload_type = msgspec.Raw  # an event this build does not know: keep it opaque
    return envelope, msgspec.json.decode(msg.data, type=payload_type)
