"""Events of the night-logs service: what was planned each night, what CHARA really observed, and
how good it was.

A night is named by the local date at its start (the boundary is local noon at the site). One
observation's events share its id as aggregate id, so ``observation.logged`` always reaches a
consumer before the ``observation.flagged`` that follows it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from .base import Event, event
from .bounds import (
    BASELINES,
    CALIBRATORS,
    FEW_ITEMS,
    LOG_OBSERVATIONS,
    PLANNED_OBSERVATIONS,
    RAW_FILES,
    STATIONS,
    Comment,
    Count,
    Declination,
    FileName,
    Finite,
    Identifier,
    Keyword,
    Mjd,
    Name,
    Ordinal,
    RightAscension,
)


class PlannedObservation(msgspec.Struct, frozen=True, omit_defaults=True):
    sequence: Ordinal
    programme: Identifier
    target: Name
    mode: Keyword
    configuration: Annotated[list[Keyword], Meta(max_length=STATIONS)]
    start: datetime
    end: datetime
    calibrators: Annotated[list[Name], Meta(max_length=CALIBRATORS)] = msgspec.field(default_factory=list)
    # the programme's target id, when the scheduler planned from the programme's list
    target_id: UUID | None = None


@event(
    "nightlogs.night.scheduled",
    version=1,
    summary="A night's plan was posted by the SPICA scheduler; a new version replaces the previous one.",
)
class NightScheduled(Event, frozen=True):  # repeated for mypy, which does not inherit a Struct's frozen flag
    site: Identifier
    night: date
    version: Ordinal
    observations: Annotated[list[PlannedObservation], Meta(max_length=PLANNED_OBSERVATIONS)]
    scheduled_by: Identifier
    scheduled_at: datetime


class ProjectedBaseline(msgspec.Struct, frozen=True):
    """One station pair at the start and the end of an observation: (u, v) in metres from the CHARA
    equatorial station coordinates (chara-spica.md), length in metres, position angle in degrees
    east of north."""

    stations: Keyword
    u_start: Finite
    v_start: Finite
    u_end: Finite
    v_end: Finite
    length_start: Finite
    length_end: Finite
    angle_start: Finite
    angle_end: Finite


@event(
    "nightlogs.observation.logged",
    version=1,
    summary="CHARA logged an observation (or a corrected log, a new match or an admin's attachment to a "
    "programme changed it), matched to a programme target when possible: its whole current state.",
)
class ObservationLogged(Event, frozen=True):
    observation_id: UUID
    site: Identifier
    night: date
    log_version: Ordinal
    target_name: Name
    mode: Keyword
    stations: Annotated[list[Keyword], Meta(max_length=STATIONS)]
    mjd_start: Mjd
    mjd_end: Mjd
    logged_at: datetime
    # the programme code and target id it matched; none when it matched nothing (kept and flagged)
    programme: Identifier | None = None
    target_id: UUID | None = None
    ra: RightAscension | None = None
    dec: Declination | None = None
    # science or calibrator
    kind: Keyword = "science"
    # true when a corrected log removed this observation
    withdrawn: bool = False
    # what the log says of the conditions (None: not recorded): seeing in arcsec, tau0 in
    # milliseconds at 500 nm, wind in m/s, temperature in degrees Celsius
    seeing: Finite | None = None
    tau0: Finite | None = None
    wind: Finite | None = None
    airmass: Finite | None = None
    temperature: Finite | None = None
    comments: Comment = ""
    raw_files: Annotated[list[FileName], Meta(max_length=RAW_FILES)] = msgspec.field(default_factory=list)
    baselines: Annotated[list[ProjectedBaseline], Meta(max_length=BASELINES)] = msgspec.field(
        default_factory=list
    )
    # the plan entry it matched (None: unplanned) and how the target was recognised:
    # "plan", "name", "position" or "none" (kept and flagged, never dropped)
    planned_sequence: Ordinal | None = None
    matched_by: Keyword = "none"
    # the SPICA mode's wavelength range (m) and resolving power, from the modes table
    em_min: Finite | None = None
    em_max: Finite | None = None
    resolving_power: Finite | None = None


@event(
    "nightlogs.observation.flagged",
    version=1,
    summary="The quality level of an observation was set (good, usable, degraded, bad, unknown).",
)
class ObservationFlagged(Event, frozen=True):
    observation_id: UUID
    level: Keyword
    previous_level: Keyword
    reasons: Annotated[list[Keyword], Meta(max_length=FEW_ITEMS)]
    comment: Comment
    flagged_by: Identifier
    flagged_at: datetime
    programme: Identifier | None = None


@event(
    "nightlogs.log.ingested",
    version=1,
    summary="A CHARA night log was ingested: a new version of the night's log, with what it added, "
    "changed and withdrew compared with the previous version.",
)
class NightLogIngested(Event, frozen=True):
    site: Identifier
    night: date
    version: Ordinal
    lines: Count
    added: Annotated[list[UUID], Meta(max_length=LOG_OBSERVATIONS)]
    changed: Annotated[list[UUID], Meta(max_length=LOG_OBSERVATIONS)]
    withdrawn: Annotated[list[UUID], Meta(max_length=LOG_OBSERVATIONS)]
    unmatched: Count
    ingested_by: Identifier
    ingested_at: datetime
