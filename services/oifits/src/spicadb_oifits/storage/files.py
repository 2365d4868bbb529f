"""SQL of files, granules, plots, links and rejections. Reads take the viewer's placeholders and apply the
one visibility rule of the kit (calibrator files are never embargoed, as in OiDB)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from spicadb_kit.pagination import Cursor
from spicadb_kit.rights import release_sql, visible_sql
from spicadb_kit.sql import Where

# calibrators are released when observed, as in OiDB (the kit's rule, with its calibrator condition)
FILE_CALIB = "f.category = 'CALIB'"
GRANULE_CALIB = "g.dataproduct_category = 'CALIB'"
FILE_VISIBLE = visible_sql("f.programme", "f.obs_end", "$1", "$2", calibrator=FILE_CALIB)
GRANULE_VISIBLE = visible_sql("g.programme", "g.obs_end", "$1", "$2", calibrator=GRANULE_CALIB)
FILE_RELEASE = release_sql("f.programme", "f.obs_end", calibrator=FILE_CALIB)
GRANULE_RELEASE = release_sql("g.programme", "g.obs_end", calibrator=GRANULE_CALIB)

GRANULE_COLUMNS = (
    "id, file_id, night, insname, target_id, target_name, target_key, s_ra, s_dec, t_min, t_max, t_exptime,"
    " int_time_min, em_min, em_max, em_res_power, nb_channels, nb_vis, nb_vis2, nb_t3, nb_flux, facility_name,"
    " instrument_name, instrument_mode, interferometer_stations, calib_level, dataproduct_type, access_format,"
    " dataproduct_category, obs_id, progid, proposal_subid, quality_level, programme, obs_end"
)
_GRANULE_NAMES = tuple(c.strip() for c in GRANULE_COLUMNS.split(","))


class FileKey(Cursor, frozen=True):
    """The files listing's keyset (ORDER BY pushed_at DESC, id DESC)."""

    pushed_at: datetime
    id: UUID


class RejectionKey(Cursor, frozen=True):
    """The rejections listing's keyset (ORDER BY last_pushed_at DESC, id DESC)."""

    last_pushed_at: datetime
    id: UUID


class FileStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    # --- writes (inside the push's transaction) ----------------------------------------------------

    async def lock_product(self, product_id: str) -> None:
        """Pushes of one product wait for each other: versions and supersedes stay in order."""
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", product_id)

    async def lock_objects(self, keys: Iterable[str]) -> None:
        """Until the transaction ends, the only push storing or removing these objects (in key order:
        two pushes sharing objects never wait for each other in a circle)."""
        for key in sorted(set(keys)):
            await self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 11))", key)

    async def objects_in_use(self, keys: Sequence[str]) -> set[str]:
        """The keys a committed file or plot uses."""
        rows = await self.conn.fetch(
            "SELECT sha256 FROM oifits_file WHERE sha256 = ANY($1::text[])"
            " UNION SELECT sha256 FROM preview WHERE sha256 = ANY($1::text[])",
            list(keys),
        )
        return {r["sha256"] for r in rows}

    async def current_of_product(self, product_id: str) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            "SELECT id, product_version, programme FROM oifits_file WHERE product_id = $1 AND status = 'current'"
            " FOR UPDATE",
            product_id,
        )

    async def insert_file(self, row: dict[str, Any]) -> bool:
        """False when the same content is already there (a concurrent push of the same bytes)."""
        names = list(row)
        values = ", ".join(f"${i}" for i in range(1, len(names) + 1))
        inserted = await self.conn.fetchval(
            f"INSERT INTO oifits_file ({', '.join(names)}) VALUES ({values})"
            " ON CONFLICT (sha256) DO NOTHING RETURNING true",
            *row.values(),
        )
        return bool(inserted)

    async def supersede(self, old: UUID, new: UUID) -> list[UUID]:
        """Mark ``old`` superseded by ``new``; its granule ids."""
        await self.conn.execute(
            "UPDATE oifits_file SET status = 'superseded', superseded_by = $2, superseded_at = now()"
            " WHERE id = $1",
            old,
            new,
        )
        return [r["id"] for r in await self.conn.fetch("SELECT id FROM granule WHERE file_id = $1", old)]

    async def insert_granules(self, rows: Sequence[dict[str, Any]]) -> None:
        await self.conn.copy_records_to_table(
            "granule", records=[tuple(r[c] for c in _GRANULE_NAMES) for r in rows], columns=_GRANULE_NAMES
        )

    async def insert_previews(self, rows: Sequence[tuple[UUID, str, str, int]]) -> None:
        if rows:
            await self.conn.copy_records_to_table(
                "preview", records=rows, columns=("granule_id", "kind", "sha256", "size")
            )

    async def lock_file(self, file_id: UUID) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            "SELECT id, programme FROM oifits_file WHERE id = $1 FOR UPDATE", file_id
        )

    async def assign_programme(self, file_id: UUID, programme: str | None) -> list[UUID] | None:
        """The file and its granules belong to ``programme``; its granule ids, or None when nothing
        changed."""
        changed = await self.conn.fetchval(
            "WITH f AS (UPDATE oifits_file SET programme = $2 WHERE id = $1 AND programme IS DISTINCT FROM $2"
            "  RETURNING id),"
            " g AS (UPDATE granule SET programme = $2 WHERE file_id = $1 AND programme IS DISTINCT FROM $2"
            "  RETURNING id)"
            " SELECT (SELECT count(*) FROM f) + (SELECT count(*) FROM g)",
            file_id,
            programme,
        )
        if not changed:
            return None
        rows = await self.conn.fetch(
            "SELECT id FROM granule WHERE file_id = $1 ORDER BY night, target_name, insname", file_id
        )
        return [r["id"] for r in rows]

    async def programme_codes(self) -> list[str]:
        return [r["code"] for r in await self.conn.fetch("SELECT code FROM programme_rights")]

    # --- reads -------------------------------------------------------------------------------------

    async def by_sha256(self, sha256: str) -> UUID | None:
        found: UUID | None = await self.conn.fetchval("SELECT id FROM oifits_file WHERE sha256 = $1", sha256)
        return found

    async def file(self, file_id: UUID, viewer: str | None, sees_all: bool) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            f"SELECT f.*, {FILE_RELEASE} AS release_date FROM oifits_file f"
            f" WHERE f.id = $3 AND {FILE_VISIBLE}",
            viewer,
            sees_all,
            file_id,
        )

    async def files(
        self,
        viewer: str | None,
        sees_all: bool,
        *,
        filters: dict[str, Any],
        after: FileKey | None,
        limit: int,
    ) -> list[asyncpg.Record]:
        """Newest first (keyset on pushed_at, id)."""
        where = Where(viewer, sees_all, conditions=[FILE_VISIBLE])
        for column, value in filters.items():
            if value is not None:
                where.add(f"f.{column} = {{}}", value)
        where.after(["f.pushed_at", "f.id"], after.values() if after else None, descending=True)
        return list(
            await self.conn.fetch(
                "SELECT f.*, (SELECT count(*) FROM granule g WHERE g.file_id = f.id) AS granules"
                f" FROM oifits_file f WHERE {where.clause()}"
                f" ORDER BY f.pushed_at DESC, f.id DESC LIMIT {int(limit)}",
                *where.args,
            )
        )

    async def granules_of_file(self, file_id: UUID) -> list[asyncpg.Record]:
        return list(
            await self.conn.fetch(
                f"SELECT g.*, {GRANULE_RELEASE} AS release_date, f.status = 'superseded' AS superseded"
                " FROM granule g JOIN oifits_file f ON f.id = g.file_id WHERE g.file_id = $1"
                " ORDER BY g.night, g.target_name, g.insname",
                file_id,
            )
        )

    async def granule(self, granule_id: UUID, viewer: str | None, sees_all: bool) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            f"SELECT g.*, {GRANULE_RELEASE} AS release_date, f.status = 'superseded' AS superseded"
            f" FROM granule g JOIN oifits_file f ON f.id = g.file_id WHERE g.id = $3 AND {GRANULE_VISIBLE}",
            viewer,
            sees_all,
            granule_id,
        )

    async def previews(self, granule_ids: Sequence[UUID]) -> list[asyncpg.Record]:
        return list(
            await self.conn.fetch(
                "SELECT * FROM preview WHERE granule_id = ANY($1::uuid[]) ORDER BY granule_id, kind",
                list(granule_ids),
            )
        )

    async def links(self, granule_ids: Sequence[UUID]) -> list[asyncpg.Record]:
        return list(
            await self.conn.fetch(
                "SELECT granule_id, observation_id, matched_by FROM granule_observation"
                " WHERE granule_id = ANY($1::uuid[]) ORDER BY granule_id, observation_id",
                list(granule_ids),
            )
        )

    async def preview(
        self, granule_id: UUID, kind: str, viewer: str | None, sees_all: bool
    ) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            f"SELECT p.sha256, p.size, {GRANULE_RELEASE} AS release_date FROM preview p"
            f" JOIN granule g ON g.id = p.granule_id WHERE p.granule_id = $3 AND p.kind = $4"
            f" AND {GRANULE_VISIBLE}",
            viewer,
            sees_all,
            granule_id,
            kind,
        )


class RejectionStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def record(self, row: dict[str, Any]) -> asyncpg.Record:
        """One row per refused content: the same bytes refused again count an attempt."""
        names = list(row)
        values = ", ".join(f"${i}" for i in range(1, len(names) + 1))
        return await self.conn.fetchrow(
            f"INSERT INTO rejection ({', '.join(names)}) VALUES ({values})"
            " ON CONFLICT (sha256) DO UPDATE SET attempts = rejection.attempts + 1,"
            " last_pushed_at = now(), report = EXCLUDED.report, profile = EXCLUDED.profile"
            " RETURNING *",
            *row.values(),
        )

    async def get(self, rejection_id: UUID) -> asyncpg.Record | None:
        return await self.conn.fetchrow("SELECT * FROM rejection WHERE id = $1", rejection_id)

    async def listing(self, after: RejectionKey | None, limit: int) -> list[asyncpg.Record]:
        """Newest first (keyset on last_pushed_at, id)."""
        where = Where()
        where.after(["last_pushed_at", "id"], after.values() if after else None, descending=True)
        return list(
            await self.conn.fetch(
                f"SELECT * FROM rejection WHERE {where.clause()}"
                f" ORDER BY last_pushed_at DESC, id DESC LIMIT {int(limit)}",
                *where.args,
            )
        )
