"""What crosses the HTTP edge: msgspec structs out (the JSON listing)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

import msgspec

from spicadb_kit.pagination import Page


class PreviewOut(msgspec.Struct):
    """A quick-look plot: ``kind`` uv (UV coverage), vis2 (squared visibility against spatial
    frequency) or t3phi (closure phase against spatial frequency)."""

    kind: str
    url: str
    content_type: str
    size: int


class GranuleOut(msgspec.Struct):
    """One row of the OiDB table: JMMC's OiDB columns (ObsCore units: degrees, MJD, seconds, metres,
    kB), then SPICA-DB's."""

    id: int
    dataproduct_type: str | None
    calib_level: int
    target_name: str
    obs_id: str | None
    obs_collection: str
    obs_creator_name: str | None
    # the end of the observation plus the programme's proprietary period (calibrators: the end)
    obs_release_date: datetime | None
    obs_publisher_did: str
    bib_reference: str | None
    data_rights: Literal["public", "secure"]
    access_url: str
    access_format: str | None
    # kB (size div 1000)
    access_estsize: int | None
    s_ra: float | None
    s_dec: float | None
    s_fov: float | None
    s_region: str | None
    s_resolution: float | None
    t_min: float
    t_max: float
    # OiDB's meaning: the shortest integration of the granule's rows (s); the total is t_exptime_total
    t_exptime: float | None
    t_resolution: float | None
    em_min: float | None
    em_max: float | None
    em_res_power: float | None
    o_ucd: str | None
    pol_states: str | None
    facility_name: str | None
    instrument_name: str | None
    instrument_mode: str | None
    # 0 Unknown, 1 Trash, 2 To be reduced again, 3 Quick look, 4 Science ready, 5 Outstanding
    quality_level: int
    nb_channels: int
    nb_vis: int | None
    nb_vis2: int | None
    nb_t3: int | None
    keywords: str | None
    subdate: datetime
    progid: str | None
    datapi: str | None
    access_md5: str | None
    interferometer_stations: str | None
    t_exptime_total: float | None
    granule_id: UUID
    file_id: UUID
    night: date
    programme: str | None
    dataproduct_category: str
    nb_flux: int | None
    proposal_subid: str | None
    observation_ids: list[UUID]
    # the worst flag of the linked observations: unknown, good, usable, degraded or bad
    observation_quality: str
    # HIERARCH QUALITY LEVEL as the DRS wrote it
    file_quality_level: int | None
    superseded: bool
    superseded_by: UUID | None
    superseded_at: datetime | None
    previews: list[PreviewOut]
    obs_end: datetime
    updated_at: datetime
    # the file's size in bytes
    access_size: int | None


class GranulePage(Page[GranuleOut]):
    items: list[GranuleOut]
