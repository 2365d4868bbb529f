"""What crosses the HTTP edge: msgspec structs in and out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from spicadb_contracts import bounds
from spicadb_contracts.nightlogs import PlannedObservation, ProjectedBaseline
from spicadb_kit.pagination import Page

Level = Literal["good", "usable", "degraded", "bad", "unknown"]
Reason = Literal[
    "clouds",
    "seeing",
    "wind",
    "low-flux",
    "fringe-tracking",
    "delay-lines",
    "telescope",
    "instrument",
    "calibration",
    "data-reduction",
    "wrong-target",
    "wrong-setup",
    "other",
]
# the bounds of the event fields these values go to (spicadb_contracts.bounds)
Name = Annotated[bounds.Name, msgspec.Meta(min_length=1)]
Programme = Annotated[bounds.Identifier, msgspec.Meta(min_length=1)]
Mode = Annotated[bounds.Keyword, msgspec.Meta(min_length=1)]
Text = bounds.Comment


# plans ---------------------------------------------------------------------------------------------


class PlannedObservationIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    programme: Programme
    target: Name
    # a SPICA mode (LR, MR640 ... HR; legacy names accepted)
    mode: Mode
    # 4 to 6 of E1 W2 W1 S2 S1 E2, any order
    configuration: Annotated[list[bounds.Keyword], msgspec.Meta(max_length=bounds.STATIONS)]
    start: datetime
    end: datetime
    calibrators: Annotated[list[Name], msgspec.Meta(max_length=bounds.CALIBRATORS)] = msgspec.field(
        default_factory=list
    )
    target_id: UUID | None = None
    # the order in the night; defaults to the position in the list (1, 2, ...)
    sequence: Annotated[int, msgspec.Meta(ge=1)] | None = None


class ScheduleIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # At most bounds.PLANNED_OBSERVATIONS, checked by the schedule service (422 invalid-plan): a schema
    # bound would make Litestar answer 500, its error key colliding with the "observations" dependency.
    observations: Annotated[
        list[PlannedObservationIn],
        msgspec.Meta(description=f"The plan's observations, at most {bounds.PLANNED_OBSERVATIONS}."),
    ]


class PlanOut(msgspec.Struct, kw_only=True):
    site: str
    night: date
    version: int
    observations: list[PlannedObservation]
    scheduled_by: str
    scheduled_at: datetime


# nights and logs ------------------------------------------------------------------------------------


class NightSummary(msgspec.Struct, kw_only=True):
    site: str
    night: date
    # local noon to local noon, UTC
    start: datetime
    end: datetime
    plan_version: int
    log_version: int
    observations: int


class NightPage(Page[NightSummary]):
    items: list[NightSummary]


class LogVersionSummary(msgspec.Struct, kw_only=True):
    version: int
    format: str
    lines: int
    skipped_lines: list[int]
    unmatched: int
    added: int
    changed: int
    withdrawn: int
    ingested_by: str
    ingested_at: datetime


class IngestReport(msgspec.Struct, kw_only=True):
    site: str
    night: date
    version: int
    # false: the same log as the latest version, nothing changed
    created: bool
    format: str
    lines: int
    observations: int
    skipped_lines: list[int]
    unmatched: int
    added: list[UUID]
    changed: list[UUID]
    withdrawn: list[UUID]


# observations ---------------------------------------------------------------------------------------


class ObservationSummary(msgspec.Struct, kw_only=True):
    id: UUID
    site: str
    night: date
    target_name: str
    kind: str
    type: str
    programme: str | None
    target_id: UUID | None
    matched_by: str
    planned_sequence: int | None
    mode: str
    stations: list[str]
    mjd_start: float
    mjd_end: float
    start: datetime
    end: datetime
    level: str
    log_version: int
    withdrawn: bool


class FlagIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    level: Level
    reasons: Annotated[list[Reason], msgspec.Meta(max_length=bounds.FEW_ITEMS)] = msgspec.field(
        default_factory=list
    )
    comment: Text = ""


class FlagOut(msgspec.Struct, kw_only=True):
    level: str
    previous_level: str
    reasons: list[str]
    comment: str
    flagged_by: str
    flagged_at: datetime


class ObservationOut(ObservationSummary, kw_only=True):
    ra: float | None
    dec: float | None
    pi: str
    log_programme: str
    combiner: str
    em_min: float | None
    em_max: float | None
    resolving_power: float | None
    seeing: float | None
    tau0: float | None
    t0_obs: float | None
    wind: float | None
    airmass: float | None
    temperature: float | None
    b1: float | None
    b2: float | None
    b3: float | None
    comments: str
    raw_files: list[str]
    line: int
    first_version: int
    withdrawn_in: int | None
    reasons: list[str]
    level_comment: str
    # when the data become public (None: no known programme, only admins and trusted robots see them)
    release: datetime | None
    baselines: list[ProjectedBaseline]
    flags: list[FlagOut]


class ObservationPage(Page[ObservationSummary]):
    items: list[ObservationSummary]


class LogVersionOut(LogVersionSummary, kw_only=True):
    site: str
    night: date
    # what this version changed compared with the previous one (the observations the caller may see;
    # `hidden` counts the others)
    added_observations: list[ObservationSummary]
    changed_observations: list[ObservationSummary]
    withdrawn_observations: list[ObservationSummary]
    hidden: int


class NightOut(msgspec.Struct, kw_only=True):
    site: str
    night: date
    start: datetime
    end: datetime
    plans: list[PlanOut]
    logs: list[LogVersionSummary]
    observations: list[ObservationSummary]
