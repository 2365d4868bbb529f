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
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from .base import Event, event
from .bounds import (
    GRANULES,
    LINKED_OBSERVATIONS,
    PREVIEWS,
    RULES,
    Count,
    Declination,
    Digest,
    FileName,
    Finite,
    Identifier,
    Keyword,
    Link,
    Mjd,
    Name,
    Ordinal,
    RightAscension,
    ShortText,
)


class Preview(msgspec.Struct, frozen=True):
    """A quick-look plot made once at indexing: ``kind`` is uv (UV coverage), vis2 (squared
    visibility against spatial frequency) or t3phi (closure phase against spatial frequency)."""

    kind: Keyword
    url: Link
    content_type: Keyword
    size: Count


class IndexedGranule(msgspec.Struct, frozen=True, omit_defaults=True):
    """One granule with its ObsCore values as the file gives them (MJD for times, metres for
    wavelengths, seconds for exposure times, degrees for positions)."""

    granule_id: UUID
    # the local date of the evening the night starts at the site (cut at local noon)
    night: date
    insname: ShortText
    target_name: Name
    s_ra: RightAscension | None
    s_dec: Declination | None
    t_min: Mjd
    t_max: Mjd
    # total integration of the granule's rows; OiDB's t_exptime is int_time_min
    t_exptime: Finite
    int_time_min: Finite
    em_min: Finite
    em_max: Finite
    em_res_power: Finite | None
    nb_channels: Count
    nb_vis: Count
    nb_vis2: Count
    nb_t3: Count
    nb_flux: Count
    instrument_name: ShortText
    calib_level: Count
    facility_name: ShortText | None = None
    instrument_mode: ShortText | None = None
    # the OI_ARRAY station names the rows use, sorted, space-separated
    interferometer_stations: ShortText | None = None
    dataproduct_type: Keyword = "visibility"
    access_format: Keyword = "application/fits"
    # SCIENCE or CALIB (HIERARCH PRO SCIENCE); calibrators are not embargoed
    dataproduct_category: Keyword = "SCIENCE"
    obs_id: ShortText | None = None
    progid: ShortText | None = None
    proposal_subid: ShortText | None = None
    # HIERARCH QUALITY LEVEL as the DRS wrote it: 0 unknown .. 5 outstanding
    quality_level: int | None = None
    # the programme code it belongs to (from the file's keywords or its observations)
    programme: Identifier | None = None
    # night-log observations it came from
    observation_ids: Annotated[list[UUID], Meta(max_length=LINKED_OBSERVATIONS)] = msgspec.field(
        default_factory=list
    )
    previews: Annotated[list[Preview], Meta(max_length=PREVIEWS)] = msgspec.field(default_factory=list)


@event(
    "oifits.file.indexed",
    version=1,
    summary="A reduced OIFITS file was pushed, validated (with or without warnings), stored and indexed "
    "into granules linked to their observations.",
)
class FileIndexed(Event, frozen=True):  # repeated for mypy, which does not inherit a Struct's frozen flag
    file_id: UUID
    filename: FileName
    sha256: Digest
    md5: Digest
    size: Count
    # 1 or 2, decided from the tables (None: mixed signals)
    oifits_version: int | None
    # valid or valid-with-warnings
    verdict: Keyword
    warnings: Count
    # where the file is downloaded (rights apply)
    access_url: Link
    pushed_by: Identifier
    pushed_at: datetime
    granules: Annotated[list[IndexedGranule], Meta(max_length=GRANULES)]
    programme: Identifier | None = None
    product_id: Identifier | None = None
    product_version: Ordinal = 1
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
    product_id: Identifier
    superseded_by: UUID
    granule_ids: Annotated[list[UUID], Meta(max_length=GRANULES)]
    superseded_at: datetime


@event(
    "oifits.file.rejected",
    version=1,
    summary="A pushed file could not be indexed (unreadable, no data table, broken cross-references); "
    "only its validation report is kept.",
)
class FileRejected(Event, frozen=True):
    rejection_id: UUID
    filename: FileName
    sha256: Digest
    size: Count
    # the rule ids of the errors that refused it
    rules: Annotated[list[Identifier], Meta(max_length=RULES)]
    pushed_by: Identifier
    pushed_at: datetime
    product_id: Identifier | None = None


@event(
    "oifits.granule.linked",
    version=1,
    summary="The night-log observations a granule came from changed (an observation was logged after "
    "the file, or a corrected log withdrew one): the whole current list.",
)
class GranuleLinked(Event, frozen=True):
    granule_id: UUID
    file_id: UUID
    observation_ids: Annotated[list[UUID], Meta(max_length=LINKED_OBSERVATIONS)]
    programme: Identifier | None = None


@event(
    "oifits.file.programme_assigned",
    version=1,
    summary="An admin attached a file and its granules to a programme (or detached it: programme None); "
    "their data rights are the programme's from then on (data of no programme are released a default "
    "period after their observation).",
)
class FileProgrammeAssigned(Event, frozen=True):
    file_id: UUID
    # the programme code (None: no programme)
    programme: Identifier | None
    previous_programme: Identifier | None
    granule_ids: Annotated[list[UUID], Meta(max_length=GRANULES)]
    assigned_by: Identifier
    assigned_at: datetime
