"""Keeping the OiDB table from the oifits events and the night logs' flags. Runs in the consumer's
transaction (inbox included), so a redelivered event changes nothing twice; each write is idempotent
besides (a granule is inserted once, supersession and links are states, a flag keeps its version)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from spicadb_contracts.nightlogs import ObservationFlagged
from spicadb_contracts.oifits import (
    FileIndexed,
    FileProgrammeAssigned,
    FileSuperseded,
    GranuleLinked,
    IndexedGranule,
)
from spicadb_kit.events import Envelope

from ..domain import QUALITY_LEVELS, Naming, kilobytes, mjd_datetime
from ..storage.ingest import IngestStore


class UnknownGranule(LookupError):
    """A link for a granule whose file is not here yet: retried (the consumer's backoff) until it is."""


class IngestService:
    def __init__(self, conn: asyncpg.Connection, naming: Naming) -> None:
        self.store = IngestStore(conn)
        self.naming = naming

    async def files_indexed(self, files: Sequence[FileIndexed]) -> None:
        rows = [granule_row(f, g, self.naming) for f in files for g in f.granules]
        if rows:
            await self.store.lock_quality()
            await self.store.insert_granules(rows)
        for f in files:  # the file a new reduction replaces (its own event says so too)
            if f.supersedes is not None:
                await self.store.supersede(f.supersedes, f.file_id, f.pushed_at, [])

    async def file_superseded(self, event: FileSuperseded) -> None:
        await self.store.supersede(event.file_id, event.superseded_by, event.superseded_at, event.granule_ids)

    async def file_assigned(self, event: FileProgrammeAssigned) -> None:
        """An admin attached the file to a programme: its granules take that programme's rights."""
        await self.store.assign(event.file_id, event.granule_ids, event.programme)

    async def granule_linked(self, event: GranuleLinked) -> None:
        await self.store.lock_quality()
        if not await self.store.link(event.granule_id, event.observation_ids, event.programme):
            raise UnknownGranule(f"granule {event.granule_id} of file {event.file_id} is not indexed yet")
        await self.store.requality_granules([event.granule_id])

    async def observations_flagged(self, items: Sequence[tuple[Envelope, ObservationFlagged]]) -> None:
        """The latest flag of each observation (by its aggregate version), then the quality of the
        granules linked to the observations whose level changed."""
        latest: dict[UUID, tuple[UUID, str, int, Any]] = {}
        for envelope, flag in items:
            known = latest.get(flag.observation_id)
            if known is None or known[2] < envelope.aggregate_version:
                latest[flag.observation_id] = (
                    flag.observation_id, flag.level, envelope.aggregate_version, flag.flagged_at,
                )  # fmt: skip
        await self.store.lock_quality()
        changed = await self.store.flag(list(latest.values()))
        if changed:
            await self.store.requality_observations(changed)


def granule_row(file: FileIndexed, g: IndexedGranule, naming: Naming) -> dict[str, Any]:
    """A granule's columns (storage.ingest.INSERTED), as OiDB fills them and SPICA-DB adds."""
    ra, dec = position(g.s_ra, g.s_dec)
    return {
        "dataproduct_type": g.dataproduct_type,
        "calib_level": g.calib_level,
        "target_name": g.target_name,
        "obs_id": g.obs_id,
        "obs_collection": naming.collection,
        "obs_creator_name": file.pushed_by,
        "obs_publisher_did": naming.publisher_did(g.granule_id),
        "access_url": naming.absolute(file.access_url),
        "access_format": g.access_format,
        "access_estsize": kilobytes(file.size),
        "s_ra": ra,
        "s_dec": dec,
        "t_min": g.t_min,
        "t_max": g.t_max,
        "t_exptime": g.int_time_min,  # OiDB's meaning; the total below
        "em_min": g.em_min,
        "em_max": g.em_max,
        "em_res_power": g.em_res_power,
        "facility_name": g.facility_name,
        "instrument_name": g.instrument_name,
        "instrument_mode": g.instrument_mode,
        "nb_channels": g.nb_channels,
        "nb_vis": g.nb_vis,
        "nb_vis2": g.nb_vis2,
        "nb_t3": g.nb_t3,
        "subdate": file.pushed_at,
        "progid": g.progid,
        "access_md5": file.md5,
        "interferometer_stations": g.interferometer_stations,
        "t_exptime_total": g.t_exptime,
        "granule_id": g.granule_id,
        "file_id": file.file_id,
        "night": g.night,
        "programme": g.programme or file.programme,
        "dataproduct_category": "CALIB" if g.dataproduct_category.strip().upper() == "CALIB" else "SCIENCE",
        "nb_flux": g.nb_flux,
        "proposal_subid": g.proposal_subid,
        "observation_ids": list(g.observation_ids),
        "file_quality_level": g.quality_level if g.quality_level in QUALITY_LEVELS else None,
        "previews": [
            {"kind": p.kind, "url": naming.absolute(p.url), "content_type": p.content_type, "size": p.size}
            for p in g.previews
        ],
        "obs_end": mjd_datetime(g.t_max),
        "access_size": file.size,
    }


def position(ra: float | None, dec: float | None) -> tuple[float | None, float | None]:
    """RA in [0, 360); a position with no valid declination is no position (keywords are the DRS's)."""
    if ra is None or dec is None or not -90.0 <= dec <= 90.0 or ra != ra:
        return None, None
    return ra % 360.0, dec
