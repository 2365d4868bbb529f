"""The event bus: envelope, transactional outbox, relay, consumers, provisioning.

Producing: ``envelope`` (CloudEvents headers), ``outbox`` (events written with the state they
describe), ``relay`` (outbox to JetStream) with ``settle`` (which rows are parked), ``recovery``
(what an unclean NATS restart lost), ``backlog`` (readiness) and ``parked`` (operators' commands);
``bus`` (the NATS connection), ``provision`` (streams and durable consumers).
Consuming: ``registry`` (a consumer's handlers), ``runner`` (the fetch loop and its watchdog),
``dispatch`` (inbox and handlers: exactly once), ``ordering`` (per aggregate), ``deadletters``
(and their replay), ``delivery`` (a decoded message).
"""

from .bus import Bus
from .deadletters import request_replay
from .envelope import Envelope, EnvelopeError
from .outbox import Outbox
from .provision import provision
from .registry import EventConsumer
from .relay import OutboxRelay
from .runner import ConsumerRunner

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
