"""Events of the platform probe: a minimal producer and consumer that exercise the
event path end to end (tests, `make bench`, and a smoke check of a deployment)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from .base import Event, event
from .bounds import FEW_ITEMS, Comment, Finite, Identifier


@event("probe.ping.recorded", version=1, summary="A probe ping was recorded by the producer.")
class PingRecorded(Event, frozen=True):  # repeated for mypy, which does not inherit a Struct's frozen flag
    ping_id: Identifier
    sequence: int
    recorded_at: datetime
    note: Comment = ""
    weight: Finite = 1.0
    tags: Annotated[list[Identifier], Meta(max_length=FEW_ITEMS)] = msgspec.field(default_factory=list)
