"""Events of the night-logs service: what was planned each night, what CHARA really observed, and
how good it was.

A night is named by the local date at its start (the boundary is local noon at the site). One
observation's events share its id as aggregate id, so ``observation.logged`` always reaches a
consumer before the ``observation.flagged`` that follows it.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec

from .base import Event, event


class PlannedObservation(msgspec.Struct, frozen=True, omit_defaults=True):
    sequence: int
    programme: str
    target: str
    mode: str
    configuration: list[str]
    start: datetime
    end: datetime
    calibrators: list[str] = msgspec.field(default_factory=list)
    # the programme's target id, when the scheduler planned from the programme's list
    target_id: UUID | None = None


@event(
    "nightlogs.night.scheduled",
    version=1,
    summary="A night's plan was posted by the SPICA scheduler; a new version replaces the previous one.",
)
class NightScheduled(Event, frozen=True):  # repeated for mypy, which does not inherit a Struct's frozen flag
    site: str
    night: date
    version: int
    observations: list[PlannedObservation]
    scheduled_by: str
    scheduled_at: datetime


@event(
    "nightlogs.observation.logged",
    version=1,
    summary="CHARA logged an observation (or a corrected log changed it), matched to a programme target "
    "when possible.",
)
class ObservationLogged(Event, frozen=True):
    observation_id: UUID
    site: str
    night: date
    log_version: int
    target_name: str
    mode: str
    stations: list[str]
    mjd_start: float
    mjd_end: float
    logged_at: datetime
    # the programme code and target id it matched; none when it matched nothing (kept and flagged)
    programme: str | None = None
    target_id: UUID | None = None
    ra: float | None = None
    dec: float | None = None
    # science or calibrator
    kind: str = "science"
    # true when a corrected log removed this observation
    withdrawn: bool = False


@event(
    "nightlogs.observation.flagged",
    version=1,
    summary="The quality level of an observation was set (good, usable, degraded, bad, unknown).",
)
class ObservationFlagged(Event, frozen=True):
    observation_id: UUID
    level: str
    previous_level: str
    reasons: list[str]
    comment: str
    flagged_by: str
    flagged_at: datetime
    programme: str | None = None
