"""What crosses the HTTP edge (REST listing): msgspec structs out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

import msgspec

from spicadb_kit.pagination import Page

# in the night logs' order: typing caches ``Level | None`` by equality (the same levels in another order
# are equal), so the order in the OpenAPI document was that of whichever service was imported first
Level = Literal["good", "usable", "degraded", "bad", "unknown"]


class Baseline(msgspec.Struct):
    stations: str
    u_start: float
    v_start: float
    u_end: float
    v_end: float
    length_start: float
    length_end: float
    angle_start: float
    angle_end: float


class Conditions(msgspec.Struct):
    """What the log recorded (None: not recorded): seeing (arcsec), tau0 (s), wind (m/s), airmass,
    temperature (degrees Celsius)."""

    seeing: float | None
    tau0: float | None
    wind: float | None
    airmass: float | None
    temperature: float | None


class Validation(msgspec.Struct):
    """The quality flag: ``level`` (``unknown`` until flagged) and ObsPortal's number for it (0 unknown,
    1 good, 2 usable, 3 degraded, 4 bad), the log of what is missing or doubtful, the flag's reasons."""

    level: str
    exp_validation_level: int
    log: list[str]
    reasons: list[str]
    comment: str
    flagged_by: str | None
    flagged_at: datetime | None
    # quality flags applied so far
    flags: int


class ExposureOut(msgspec.Struct):
    exp_id: str
    exp_header_id: str
    obs_id: int
    observation_id: UUID
    site: str
    night: date
    log_version: int
    mjd_start: float
    mjd_end: float
    obs_type: str
    programme: str | None
    programme_title: str | None
    programme_pi: str | None
    target_id: int
    target_name: str
    ra: float | None
    dec: float | None
    matched_by: str
    instrument: str
    mode: str
    interferometer: str
    stations: list[str]
    em_min: float | None
    em_max: float | None
    resolving_power: float | None
    conditions: Conditions
    baselines: list[Baseline]
    validation: Validation
    # the plan entry it observed (None: unplanned)
    planned_sequence: int | None
    comments: str
    raw_files: list[str]
    date_updated: datetime
    # when the data become public (None while the programme is unknown)
    date_release: datetime | None


class ExposurePage(Page[ExposureOut]):
    items: list[ExposureOut]


class PlannedOut(msgspec.Struct):
    """One entry of a night's plan in force, and the exposures that observed it."""

    site: str
    night: date
    sequence: int
    plan_version: int
    programme: str
    target: str
    mode: str
    configuration: list[str]
    start: datetime
    end: datetime
    calibrators: list[str]
    target_ref: UUID | None
    observed: bool
    exposures: list[str]
