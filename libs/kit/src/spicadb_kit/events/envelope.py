"""The envelope: CloudEvents attributes carried as NATS headers (binary content mode).

The payload travels as the message body (msgspec JSON); the attributes travel as ``ce-*``
headers, so a consumer can route and deduplicate without decoding the body. ``ce-id`` is
also the ``Nats-Msg-Id`` (JetStream dedupe) and the inbox key (consumer idempotency).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

import msgspec

from spicadb_contracts import Event

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
MSG_ID_HEADER = "Nats-Msg-Id"

__all__ = ["CONTENT_TYPE", "MSG_ID_HEADER", "SPEC_VERSION", "Envelope", "EnvelopeError"]


class EnvelopeError(ValueError):
    """A message whose headers are not a SPICA-DB envelope."""


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """The CloudEvents attributes of one event, with the aggregate and version it belongs to."""

    id: uuid.UUID
    type: str
    source: str
    # CloudEvents "subject": the aggregate the event is about (a programme code, a night...)
    subject: str
    time: datetime
    aggregate_type: str
    aggregate_version: int
    datacontenttype: str = CONTENT_TYPE
    traceparent: str | None = None
    tracestate: str | None = None

    @classmethod
    def for_event(
        cls,
        event: Event,
        *,
        source: str,
        aggregate_id: str,
        aggregate_version: int,
        trace_headers: Mapping[str, str] | None = None,
    ) -> Envelope:
        """A new envelope (fresh id, time now) for ``event``, carrying the caller's trace context."""
        trace = trace_headers or {}
        return cls(
            id=uuid.uuid4(),
            type=event.event_type(),
            source=source,
            subject=aggregate_id,
            time=datetime.now(UTC),
            aggregate_type=event.aggregate,
            aggregate_version=aggregate_version,
            traceparent=trace.get("traceparent"),
            tracestate=trace.get("tracestate"),
        )

    def headers(self) -> dict[str, str]:
        """The NATS headers of the message: ``ce-*`` attributes, ``Nats-Msg-Id``, trace context."""
        headers = {
            "ce-specversion": SPEC_VERSION,
            "ce-id": str(self.id),
            "ce-type": self.type,
            "ce-source": self.source,
            "ce-subject": self.subject,
            "ce-time": self.time.isoformat().replace("+00:00", "Z"),
            "ce-datacontenttype": self.datacontenttype,
            # CloudEvents extension attributes: lower-case alphanumerics only
            "ce-aggregatetype": self.aggregate_type,
            "ce-aggregateversion": str(self.aggregate_version),
            MSG_ID_HEADER: str(self.id),
        }
        if self.traceparent:
            headers["traceparent"] = self.traceparent
        if self.tracestate:
            headers["tracestate"] = self.tracestate
        return headers

    @classmethod
    def from_headers(cls, headers: Mapping[str, str] | None) -> Envelope:
        """The envelope a message's headers carry; :class:`EnvelopeError` when they carry none."""
        if not headers:
            raise EnvelopeError("message has no headers")
        try:
            return cls(
                id=uuid.UUID(headers["ce-id"]),
                type=headers["ce-type"],
                source=headers["ce-source"],
                subject=headers["ce-subject"],
                time=datetime.fromisoformat(headers["ce-time"].replace("Z", "+00:00")),
                aggregate_type=headers["ce-aggregatetype"],
                aggregate_version=int(headers["ce-aggregateversion"]),
                datacontenttype=headers.get("ce-datacontenttype", CONTENT_TYPE),
                traceparent=headers.get("traceparent"),
                tracestate=headers.get("tracestate"),
            )
        except KeyError as exc:
            raise EnvelopeError(f"missing header {exc.args[0]}") from exc
        except ValueError as exc:
            raise EnvelopeError(f"malformed header: {exc}") from exc
