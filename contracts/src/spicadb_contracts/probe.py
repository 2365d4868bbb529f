"""Events of the platform probe: a minimal producer and consumer that exercise the
event path end to end (tests, `make bench`, and a smoke check of a deployment)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from .base import Event, event


@event("probe.ping.recorded", version=1, summary="A probe ping was recorded by the producer.")
class PingRecorded(Event, frozen=True):  # repeated for mypy, which does not inherit a Struct's frozen flag
    ping_id: str
    sequence: int
    recorded_at: datetime
    note: str = ""
    weight: float = 1.0
    tags: list[str] = msgspec.field(default_factory=list)
