"""The event bus: envelope, transactional outbox, relay, consumer runner, provisioning."""

from .bus import Bus
from .consumer import ConsumerRunner, EventConsumer, request_replay
from .envelope import Envelope, EnvelopeError
from .outbox import Outbox
from .provision import provision
from .relay import OutboxRelay

__all__ = [
    "Bus",
    "ConsumerRunner",
    "Envelope",
    "EnvelopeError",
    "EventConsumer",
    "Outbox",
    "OutboxRelay",
    "provision",
    "request_replay",
]
