"""Writing the OiDB table from the oifits events and the night logs' flags."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

# what an indexed granule writes (services.ingest.granule_row); its quality is computed here, from the
# flags already known of its observations
INSERTED = (
    "dataproduct_type", "calib_level", "target_name", "obs_id", "obs_collection", "obs_creator_name",
    "obs_publisher_did", "access_url", "access_format", "access_estsize", "s_ra", "s_dec", "t_min", "t_max",
    "t_exptime", "em_min", "em_max", "em_res_power", "facility_name", "instrument_name", "instrument_mode",
    "nb_channels", "nb_vis", "nb_vis2", "nb_t3", "subdate", "progid", "access_md5",
    "interferometer_stations", "t_exptime_total", "granule_id", "file_id", "night", "programme",
    "dataproduct_category", "nb_flux", "proposal_subid", "observation_ids", "file_quality_level", "previews",
    "obs_end", "access_size",
)  # fmt: skip
_N = {c: n for n, c in enumerate(INSERTED, start=1)}
_INSERT = (
    f"INSERT INTO granule ({', '.join(INSERTED)}, observation_quality, quality_level)"
    f" VALUES ({', '.join(f'${n}' for n in _N.values())},"
    f" oidb_worst_level(${_N['observation_ids']}::uuid[]),"
    f" oidb_quality_level(${_N['file_quality_level']}::int4, oidb_worst_level(${_N['observation_ids']}::uuid[])))"
    " ON CONFLICT (granule_id) DO NOTHING"
)

# the quality of some granules again (``{}``: which ones); updated_at moves only when it changed
_REQUALITY = """
UPDATE granule g SET observation_quality = q.worst, quality_level = oidb_quality_level(g.file_quality_level, q.worst),
    updated_at = now()
FROM (SELECT id, oidb_worst_level(observation_ids) AS worst FROM granule WHERE {}) q
WHERE g.id = q.id AND (g.observation_quality <> q.worst
    OR g.quality_level <> oidb_quality_level(g.file_quality_level, q.worst))
"""


class IngestStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def lock_quality(self) -> None:
        """Until the transaction ends, the only writer of granules' links and observations' flags.
        The files and the flags come through two consumers: without this, a granule inserted while a
        flag of its observation is being written would miss it (each transaction reads the other's
        state from before it commits). Statements after the lock see what the other one committed."""
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext('spicadb.oidb'), 1)")

    async def insert_granules(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Rows by column (INSERTED); a granule already there (a redelivered event) is left as it is."""
        await self.conn.executemany(_INSERT, [tuple(row[c] for c in INSERTED) for row in rows])

    async def supersede(self, file_id: UUID, by: UUID, at: datetime, granule_ids: Sequence[UUID]) -> int:
        """The granules of ``file_id`` (and those named) are superseded by ``by``; kept, once."""
        status = await self.conn.execute(
            "UPDATE granule SET superseded = true, superseded_by = $2, superseded_at = $3, updated_at = now()"
            " WHERE (file_id = $1 OR granule_id = ANY($4::uuid[])) AND NOT superseded",
            file_id,
            by,
            at,
            list(granule_ids),
        )
        return int(status.split()[-1])

    async def link(self, granule_id: UUID, observation_ids: Sequence[UUID], programme: str | None) -> bool:
        """The granule's observations become these (and its programme, when given); False when the
        granule is unknown."""
        found = await self.conn.fetchval(
            "UPDATE granule SET observation_ids = $2, programme = coalesce($3, programme), updated_at = now()"
            " WHERE granule_id = $1 RETURNING id",
            granule_id,
            list(observation_ids),
            programme,
        )
        return found is not None

    async def assign(self, file_id: UUID, granule_ids: Sequence[UUID], programme: str | None) -> int:
        """The granules of a file (and those named) belong to ``programme`` (an admin attached the file)."""
        status = await self.conn.execute(
            "UPDATE granule SET programme = $3, updated_at = now()"
            " WHERE (file_id = $1 OR granule_id = ANY($2::uuid[])) AND programme IS DISTINCT FROM $3",
            file_id,
            list(granule_ids),
            programme,
        )
        return int(status.split()[-1])

    async def flag(self, flags: Sequence[tuple[UUID, str, int, datetime]]) -> list[UUID]:
        """(observation id, level, aggregate version, flagged at), one per observation: kept unless a
        newer version is stored; the observations whose level changed."""
        rows = await self.conn.fetch(
            "WITH f AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::int8[], $4::timestamptz[])"
            "  AS f(id, level, version, flagged_at)),"
            " old AS (SELECT o.observation_id, o.level FROM observation_flag o JOIN f ON f.id = o.observation_id),"
            " new AS (INSERT INTO observation_flag AS o (observation_id, level, version, flagged_at)"
            "  SELECT id, level, version, flagged_at FROM f"
            "  ON CONFLICT (observation_id) DO UPDATE SET level = EXCLUDED.level, version = EXCLUDED.version,"
            "   flagged_at = EXCLUDED.flagged_at, updated_at = now() WHERE o.version < EXCLUDED.version"
            "  RETURNING observation_id, level)"
            " SELECT new.observation_id FROM new LEFT JOIN old USING (observation_id)"
            " WHERE old.level IS DISTINCT FROM new.level",
            [f[0] for f in flags],
            [f[1] for f in flags],
            [f[2] for f in flags],
            [f[3] for f in flags],
        )
        return [r[0] for r in rows]

    async def requality_observations(self, observation_ids: Sequence[UUID]) -> int:
        """The quality of the granules linked to these observations, again."""
        status = await self.conn.execute(
            _REQUALITY.format("observation_ids && $1::uuid[]"), list(observation_ids)
        )
        return int(status.split()[-1])

    async def requality_granules(self, granule_ids: Sequence[UUID]) -> int:
        status = await self.conn.execute(_REQUALITY.format("granule_id = ANY($1::uuid[])"), list(granule_ids))
        return int(status.split()[-1])
