"""What the oifits service answers (msgspec structs at the edge)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

import msgspec

from spicadb_kit.pagination import Page

Profile = Literal["archive", "drs"]
FileStatus = Literal["current", "superseded"]


class FindingOut(msgspec.Struct, frozen=True):
    # SPICA-DB rule id (oifits.md §6): R-* refuse, W-* warn, I-* inform
    rule: str
    severity: str
    # HDU, table name and member, column, first bad row and count
    location: str
    message: str


class RuleOut(msgspec.Struct, frozen=True):
    """A rule a push is checked against (GET /oifits/rules)."""

    # SPICA-DB rule id (oifits.md §6)
    id: str
    # under the archive profile: error refuses the file, warning and info are reported (drs: warnings refuse)
    severity: str
    # what it checks
    checks: str
    # the profiles that check it
    profiles: list[str]


class ReportOut(msgspec.Struct, frozen=True):
    # the OIFITS version decided from the tables (v1, v2, or None when they disagree)
    version: str | None
    verdict: str
    profile: str
    findings: list[FindingOut]


class PreviewOut(msgspec.Struct, frozen=True):
    kind: str
    title: str
    url: str
    size: int


class ObservationLinkOut(msgspec.Struct, frozen=True):
    observation_id: UUID
    # raw-file, name or position
    matched_by: str
    url: str


class GranuleOut(msgspec.Struct, frozen=True, kw_only=True):
    """One ObsCore granule (target x INSNAME x night): MJD times, metres, seconds, degrees."""

    id: UUID
    file_id: UUID
    night: date
    insname: str
    target_name: str
    s_ra: float | None
    s_dec: float | None
    t_min: float
    t_max: float
    t_exptime: float
    int_time_min: float
    em_min: float
    em_max: float
    em_res_power: float | None
    nb_channels: int
    nb_vis: int
    nb_vis2: int
    nb_t3: int
    nb_flux: int
    facility_name: str | None
    instrument_name: str
    instrument_mode: str | None
    interferometer_stations: str | None
    calib_level: int
    dataproduct_type: str
    dataproduct_category: str
    obs_id: str | None
    progid: str | None
    proposal_subid: str | None
    quality_level: int | None
    programme: str | None
    # end of the observation + the programme's proprietary period (None: no known programme)
    release_date: datetime | None
    superseded: bool
    observations: list[ObservationLinkOut]
    previews: list[PreviewOut]


class FileOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    filename: str
    sha256: str
    md5: str
    size: int
    status: FileStatus
    product_id: str | None
    product_version: int
    superseded_by: UUID | None
    superseded_at: datetime | None
    oifits_version: int | None
    verdict: str
    calib_level: int
    programme: str | None
    release_date: datetime | None
    pushed_by: str
    pushed_at: datetime
    download_url: str
    report: ReportOut
    granules: list[GranuleOut]


class FileSummary(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    filename: str
    sha256: str
    size: int
    status: FileStatus
    product_id: str | None
    product_version: int
    # the version of the same product that replaced this one (a superseded file's listing says which)
    superseded_by: UUID | None
    verdict: str
    programme: str | None
    granules: int
    pushed_by: str
    pushed_at: datetime
    url: str


class FilePage(Page[FileSummary]):
    items: list[FileSummary]


class RejectionOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    filename: str
    sha256: str
    size: int
    product_id: str | None
    report: ReportOut
    attempts: int
    pushed_by: str
    pushed_at: datetime
    last_pushed_at: datetime


class RejectionPage(Page[RejectionOut]):
    items: list[RejectionOut]
