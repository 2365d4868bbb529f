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


class ProjectedBaseline(msgspec.Struct, frozen=True):
    """One station pair at the start and the end of an observation: (u, v) in metres from the CHARA
    equatorial station coordinates (chara-spica.md), length in metres, position angle in degrees
    east of north."""

    stations: str
    u_start: float
    v_start: float
    u_end: float
    v_end: float
    length_start: float
    length_end: float
    angle_start: float
    angle_end: float


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
    # what the log says of the conditions (None: not recorded): seeing in arcsec, tau0 in
    # milliseconds at 500 nm, wind in m/s, temperature in degrees Celsius
    seeing: float | None = None
    tau0: float | None = None
    wind: float | None = None
    airmass: float | None = None
    temperature: float | None = None
    comments: str = ""
    raw_files: list[str] = msgspec.field(default_factory=list)
    baselines: list[ProjectedBaseline] = msgspec.field(default_factory=list)
    # the plan entry it matched (None: unplanned) and how the target was recognised:
    # "plan", "name", "position" or "none" (kept and flagged, never dropped)
    planned_sequence: int | None = None
    matched_by: str = "none"
    # the SPICA mode's wavelength range (m) and resolving power, from the modes table
    em_min: float | None = None
    em_max: float | None = None
    resolving_power: float | None = None


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


@event(
    "nightlogs.log.ingested",
    version=1,
    summary="A CHARA night log was ingested: a new version of the night's log, with what it added, "
    "changed and withdrew compared with the previous version.",
)
class NightLogIngested(Event, frozen=True):
    site: str
    night: date
    version: int
    lines: int
    added: list[UUID]
    changed: list[UUID]
    withdrawn: list[UUID]
    unmatched: int
    ingested_by: str
    ingested_at: datetime
