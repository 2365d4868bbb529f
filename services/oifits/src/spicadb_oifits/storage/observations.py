"""SQL of the observations copied from the night logs, and of the granules they may be linked to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from ..domain import ObservationRow


def _row(record: asyncpg.Record) -> ObservationRow:
    return ObservationRow(
        observation_id=str(record["observation_id"]),
        programme=record["programme"],
        target_key=record["target_key"],
        ra=record["ra"],
        dec=record["dec"],
        mjd_start=record["mjd_start"],
        mjd_end=record["mjd_end"],
        raw_files=record["raw_files"],
    )


class ObservationStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def upsert(self, rows: Sequence[dict[str, Any]]) -> None:
        """The latest log version wins; an older version redelivered late changes nothing."""
        await self.conn.executemany(
            "INSERT INTO observation (observation_id, site, night, log_version, programme, target_name,"
            " target_key, ra, dec, mjd_start, mjd_end, raw_files, withdrawn)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            " ON CONFLICT (observation_id) DO UPDATE SET site = EXCLUDED.site, night = EXCLUDED.night,"
            " log_version = EXCLUDED.log_version, programme = EXCLUDED.programme,"
            " target_name = EXCLUDED.target_name, target_key = EXCLUDED.target_key, ra = EXCLUDED.ra,"
            " dec = EXCLUDED.dec, mjd_start = EXCLUDED.mjd_start, mjd_end = EXCLUDED.mjd_end,"
            " raw_files = EXCLUDED.raw_files, withdrawn = EXCLUDED.withdrawn"
            " WHERE observation.log_version <= EXCLUDED.log_version",
            [tuple(r.values()) for r in rows],
        )

    async def candidates(
        self, t_min: float, t_max: float, slack: float, raw: str | None
    ) -> list[ObservationRow]:
        """Observations a granule of [t_min, t_max] may come from: overlapping in time, or naming its raw file."""
        records = await self.conn.fetch(
            "SELECT * FROM observation WHERE NOT withdrawn AND ((mjd_start <= $2::float8 + $3::float8 AND mjd_end >= $1::float8 - $3::float8)"
            " OR ($4::text IS NOT NULL AND raw_files @> ARRAY[$4::text]))",
            t_min,
            t_max,
            slack,
            raw,
        )
        return [_row(r) for r in records]

    async def granules_near(
        self, mjd_start: float, mjd_end: float, slack: float, raws: list[str]
    ) -> list[asyncpg.Record]:
        """Current granules an observation may have made (the reverse of :meth:`candidates`)."""
        return list(
            await self.conn.fetch(
                "SELECT g.* FROM granule g JOIN oifits_file f ON f.id = g.file_id"
                " WHERE f.status = 'current' AND ((g.t_min <= $2::float8 + $3::float8 AND g.t_max >= $1::float8 - $3::float8)"
                " OR g.obs_id = ANY($4::text[]))",
                mjd_start,
                mjd_end,
                slack,
                raws,
            )
        )

    async def links_of(self, granule_ids: Sequence[UUID]) -> dict[UUID, set[UUID]]:
        found: dict[UUID, set[UUID]] = {g: set() for g in granule_ids}
        for r in await self.conn.fetch(
            "SELECT granule_id, observation_id FROM granule_observation WHERE granule_id = ANY($1::uuid[])",
            list(granule_ids),
        ):
            found[r["granule_id"]].add(r["observation_id"])
        return found

    async def granules(self, granule_ids: Sequence[UUID]) -> list[asyncpg.Record]:
        """Id, file and programme of granules (what granule.linked says of them)."""
        return list(
            await self.conn.fetch(
                "SELECT id, file_id, programme FROM granule WHERE id = ANY($1::uuid[])", list(granule_ids)
            )
        )

    async def link(self, rows: Sequence[tuple[UUID, UUID, str]]) -> None:
        await self.conn.executemany(
            "INSERT INTO granule_observation (granule_id, observation_id, matched_by) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING",
            rows,
        )

    async def unlink_withdrawn(self, observation_ids: Sequence[UUID]) -> list[UUID]:
        """Drop links to observations a corrected log withdrew; the granules that lost one."""
        records = await self.conn.fetch(
            "DELETE FROM granule_observation WHERE observation_id = ANY($1::uuid[]) RETURNING granule_id",
            list(observation_ids),
        )
        return sorted({r["granule_id"] for r in records})

    async def set_programme(self, granule_id: UUID, programme: str) -> bool:
        """A granule whose file named no programme takes its observations' programme; False when it had
        one."""
        file_id = await self.conn.fetchval(
            "UPDATE granule SET programme = $2 WHERE id = $1 AND programme IS NULL RETURNING file_id",
            granule_id,
            programme,
        )
        if file_id is not None:  # the file's rights follow when all its granules agree
            await self.conn.execute(
                "UPDATE oifits_file f SET programme = $2 WHERE f.id = $1 AND f.programme IS NULL"
                " AND NOT EXISTS (SELECT 1 FROM granule g WHERE g.file_id = f.id"
                " AND g.programme IS DISTINCT FROM $2)",
                file_id,
                programme,
            )
        return file_id is not None
