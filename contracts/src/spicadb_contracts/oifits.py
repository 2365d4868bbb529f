"""Events of the oifits service: reduced OIFITS files pushed by the DRS, validated, stored and indexed
into ObsCore granules (one per target x INSNAME x night), linked to the night-log observations they
came from.

Every event of one file has the file id as its aggregate id; ``granule.linked`` has the granule id.
A file is identified by its content (sha256): the same bytes pushed twice are one file. A DRS product
id names the same product across reductions: a new reduction supersedes the previous file, which is
kept (``file.superseded``).
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec

from .base import Event, event


class Preview(msgspec.Struct, frozen=True):
    """A quick-look plot made once at indexing: ``kind`` is uv (UV coverage), vis2 (squared
    visibility against spatial frequency) or t3phi (closure phase against spatial frequency)."""

    kind: str
    url: str
    content_type: str
    size: int


class IndexedGranule(msgspec.Struct, frozen=True, omit_defaults=True):
    """One granule with its ObsCore values as the file gives them (MJD for times, metres for
    wavelengths, seconds for exposure times, degrees for positions)."""

    granule_id: UUID
    # the local date of the evening the night starts at the site (cut at local noon)
    night: date
    insname: str
    target_name: str
    s_ra: float | None
    s_dec: float | None
    t_min: float
    t_max: float
    # total integration of the granule's rows; OiDB's t_exptime is int_time_min
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
    instrument_name: str
    calib_level: int
    facility_name: str | None = None
    instrument_mode: str | None = None
    # the OI_ARRAY station names the rows use, sorted, space-separated
    interferometer_stations: str | None = None
    dataproduct_type: str = "visibility"
    access_format: str = "application/fits"
    # SCIENCE or CALIB (HIERARCH PRO SCIENCE); calibrators are not embargoed
    dataproduct_category: str = "SCIENCE"
    obs_id: str | None = None
    progid: str | None = None
    proposal_subid: str | None = None
    # HIERARCH QUALITY LEVEL as the DRS wrote it: 0 unknown .. 5 outstanding
    quality_level: int | None = None
    # the programme code it belongs to (from the file's keywords or its observations)
    programme: str | None = None
    # night-log observations it came from
    observation_ids: list[UUID] = msgspec.field(default_factory=list)
    previews: list[Preview] = msgspec.field(default_factory=list)


@event(
    "oifits.file.indexed",
    version=1,
    summary="A reduced OIFITS file was pushed, validated (with or without warnings), stored and indexed "
    "into granules linked to their observations.",
)
class FileIndexed(Event, frozen=True):  # repeated for mypy, which does not inherit a Struct's frozen flag
    file_id: UUID
    filename: str
    sha256: str
    md5: str
    size: int
    # 1 or 2, decided from the tables (None: mixed signals)
    oifits_version: int | None
    # valid or valid-with-warnings
    verdict: str
    warnings: int
    # where the file is downloaded (rights apply)
    access_url: str
    pushed_by: str
    pushed_at: datetime
    granules: list[IndexedGranule]
    programme: str | None = None
    product_id: str | None = None
    product_version: int = 1
    # the file of the same product this one replaces
    supersedes: UUID | None = None


@event(
    "oifits.file.superseded",
    version=1,
    summary="A new reduction of the same DRS product replaced a file; the old file and its granules are "
    "kept, marked superseded.",
)
class FileSuperseded(Event, frozen=True):
    file_id: UUID
    product_id: str
    superseded_by: UUID
    granule_ids: list[UUID]
    superseded_at: datetime


@event(
    "oifits.file.rejected",
    version=1,
    summary="A pushed file could not be indexed (unreadable, no data table, broken cross-references); "
    "only its validation report is kept.",
)
class FileRejected(Event, frozen=True):
    rejection_id: UUID
    filename: str
    sha256: str
    size: int
    # the rule ids of the errors that refused it
    rules: list[str]
    pushed_by: str
    pushed_at: datetime
    product_id: str | None = None


@event(
    "oifits.granule.linked",
    version=1,
    summary="The night-log observations a granule came from changed (an observation was logged after "
    "the file, or a corrected log withdrew one): the whole current list.",
)
class GranuleLinked(Event, frozen=True):
    granule_id: UUID
    file_id: UUID
    observation_ids: list[UUID]
    programme: str | None = None
