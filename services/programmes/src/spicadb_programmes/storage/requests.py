from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg  # untyped: each answer is annotated where a query returns it

from spicadb_kit.pagination import Cursor
from spicadb_kit.sql import Where

SELECT = (
    "SELECT r.id, r.programme_id, r.target_id, t.name AS target_name, s.name AS setup, s.mode, r.visits,"
    " r.priority, r.planned, r.observed, r.good, w.code AS work_package"
    " FROM request r JOIN target t ON t.id = r.target_id JOIN setup s ON s.id = r.setup_id"
    " LEFT JOIN work_package w ON w.id = t.work_package_id"
)


class RequestKey(Cursor, frozen=True):
    """The requests listing's keyset (ORDER BY id)."""

    id: UUID


class RequestStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(
        self,
        request_id: UUID,
        programme_id: UUID,
        target_id: UUID,
        setup_id: UUID,
        visits: int,
        priority: int,
    ) -> bool:
        status: str = await self.conn.execute(
            "INSERT INTO request (id, programme_id, target_id, setup_id, visits, priority)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (target_id, setup_id) DO NOTHING",
            request_id,
            programme_id,
            target_id,
            setup_id,
            visits,
            priority,
        )
        return status.endswith("1")

    async def get(self, programme_id: UUID, request_id: UUID) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            f"{SELECT} WHERE r.programme_id = $1 AND r.id = $2", programme_id, request_id
        )

    async def page(
        self, programme_id: UUID, *, after: RequestKey | None, limit: int, target_id: UUID | None = None
    ) -> list[asyncpg.Record]:
        where = Where(programme_id, conditions=["r.programme_id = $1"])
        where.when("r.target_id = {}", target_id)
        where.after(["r.id"], after.values() if after else None)
        rows: list[asyncpg.Record] = await self.conn.fetch(
            f"{SELECT} WHERE {where.clause()} ORDER BY r.id LIMIT {int(limit)}", *where.args
        )
        return rows

    async def update(self, programme_id: UUID, request_id: UUID, changes: dict[str, Any]) -> bool:
        assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(changes, start=3))
        status: str = await self.conn.execute(
            f"UPDATE request SET {assignments} WHERE programme_id = $1 AND id = $2",
            programme_id,
            request_id,
            *changes.values(),
        )
        return status.endswith("1")

    async def delete(self, programme_id: UUID, request_id: UUID) -> UUID | None:
        target_id: UUID | None = await self.conn.fetchval(
            "DELETE FROM request WHERE programme_id = $1 AND id = $2 RETURNING target_id",
            programme_id,
            request_id,
        )
        return target_id


class NightLogStore:
    """This service's copy of the night logs, and the progress counters computed from it."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def programme_ids(self, codes: Sequence[str]) -> dict[str, UUID]:
        rows = await self.conn.fetch(
            "SELECT code, id FROM programme WHERE code = ANY($1::text[])", list(codes)
        )
        return {r["code"]: r["id"] for r in rows}

    async def resolve_targets(
        self, wanted: Sequence[tuple[UUID | None, str | None, str]]
    ) -> list[tuple[UUID | None, UUID | None]]:
        """(programme id, target id) for each (target id, programme code, target name): the target id
        when it is one of ours, else the name within the programme; (None, None) when nothing matches."""
        rows = await self.conn.fetch(
            "SELECT w.ord, coalesce(byid.programme_id, p.id) AS programme_id,"
            " coalesce(byid.id, byname.id) AS target_id"
            " FROM unnest($1::uuid[], $2::text[], $3::text[]) WITH ORDINALITY AS w(target_id, code, key, ord)"
            " LEFT JOIN target byid ON byid.id = w.target_id"
            " LEFT JOIN programme p ON p.code = w.code"
            " LEFT JOIN target byname ON byname.programme_id = p.id AND byname.name_key = w.key"
            " ORDER BY w.ord",
            [w[0] for w in wanted],
            [w[1] for w in wanted],
            [w[2] for w in wanted],
        )
        return [(r["programme_id"], r["target_id"]) for r in rows]

    async def newer_plan(self, site: str, night: Any, version: int) -> bool:
        """Record ``version`` as the night's plan unless a newer one is already applied."""
        applied = await self.conn.fetchval(
            "INSERT INTO night_plan (site, night, version) VALUES ($1, $2, $3)"
            " ON CONFLICT (site, night) DO UPDATE SET version = EXCLUDED.version"
            " WHERE night_plan.version < EXCLUDED.version RETURNING version",
            site,
            night,
            version,
        )
        return applied is not None

    async def replace_plan(
        self, site: str, night: Any, version: int, rows: Sequence[tuple[int, UUID | None, UUID | None, str]]
    ) -> list[UUID]:
        """The night's planned observations become ``rows``; the targets whose plan changed."""
        before = await self.conn.fetch(
            "DELETE FROM planned_observation WHERE site = $1 AND night = $2 RETURNING target_id", site, night
        )
        await self.conn.executemany(
            "INSERT INTO planned_observation (site, night, sequence, plan_version, programme_id, target_id, mode)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [(site, night, seq, version, programme, target, mode) for seq, programme, target, mode in rows],
        )
        touched = {r["target_id"] for r in before} | {r[2] for r in rows}
        return [t for t in touched if t is not None]

    async def upsert_observations(self, rows: Sequence[tuple[Any, ...]]) -> list[UUID]:
        """(id, programme_id, target_id, mode, night, mjd_start, mjd_end, withdrawn); the targets touched
        (before and after: a corrected log may move an observation to another target)."""
        result = await self.conn.fetch(
            "WITH incoming AS ("
            "  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::date[],"
            "                       $6::float8[], $7::float8[], $8::bool[])"
            "    AS i(id, programme_id, target_id, mode, night, mjd_start, mjd_end, withdrawn)),"
            " previous AS (SELECT o.id, o.target_id FROM observation o JOIN incoming i USING (id)),"
            " written AS ("
            "  INSERT INTO observation (id, programme_id, target_id, mode, night, mjd_start, mjd_end, withdrawn)"
            "  SELECT * FROM incoming ON CONFLICT (id) DO UPDATE SET programme_id = EXCLUDED.programme_id,"
            "   target_id = EXCLUDED.target_id, mode = EXCLUDED.mode, night = EXCLUDED.night,"
            "   mjd_start = EXCLUDED.mjd_start, mjd_end = EXCLUDED.mjd_end, withdrawn = EXCLUDED.withdrawn,"
            "   updated_at = now()"
            "  RETURNING target_id)"
            " SELECT target_id FROM written UNION SELECT target_id FROM previous",
            *[list(column) for column in zip(*rows, strict=True)],
        )
        return [r["target_id"] for r in result if r["target_id"] is not None]

    async def set_levels(self, levels: Sequence[tuple[UUID, str]]) -> list[UUID]:
        """The latest level of each observation; the targets whose observations changed."""
        result = await self.conn.fetch(
            "UPDATE observation o SET level = l.level, updated_at = now()"
            " FROM unnest($1::uuid[], $2::text[]) AS l(id, level)"
            " WHERE o.id = l.id AND o.level IS DISTINCT FROM l.level RETURNING o.target_id",
            [lv[0] for lv in levels],
            [lv[1] for lv in levels],
        )
        return [r["target_id"] for r in result if r["target_id"] is not None]

    async def recount(self, target_ids: Sequence[UUID]) -> list[asyncpg.Record]:
        """Recompute planned/observed/good of the requests of these targets and each target's progress;
        the requests whose counts changed."""
        changed = await self.conn.fetch(
            "WITH counts AS ("
            "  SELECT r.id,"
            "   (SELECT count(*) FROM planned_observation p WHERE p.target_id = r.target_id AND p.mode = s.mode)"
            "     AS planned,"
            "   (SELECT count(*) FROM observation o WHERE o.target_id = r.target_id AND o.mode = s.mode"
            "     AND NOT o.withdrawn) AS observed,"
            "   (SELECT count(*) FROM observation o WHERE o.target_id = r.target_id AND o.mode = s.mode"
            "     AND NOT o.withdrawn AND o.level IN ('good', 'usable')) AS good"
            "  FROM request r JOIN setup s ON s.id = r.setup_id WHERE r.target_id = ANY($1::uuid[]))"
            " UPDATE request r SET planned = c.planned, observed = c.observed, good = c.good FROM counts c"
            " WHERE r.id = c.id AND (r.planned, r.observed, r.good) IS DISTINCT FROM (c.planned, c.observed, c.good)"
            " RETURNING r.id",
            list(target_ids),
        )
        await self.conn.execute(
            "UPDATE target t SET progress = CASE"
            "  WHEN NOT EXISTS (SELECT 1 FROM observation o WHERE o.target_id = t.id AND NOT o.withdrawn)"
            "    THEN 'not-observed'"
            "  WHEN EXISTS (SELECT 1 FROM request r WHERE r.target_id = t.id)"
            "   AND NOT EXISTS (SELECT 1 FROM request r WHERE r.target_id = t.id AND r.good < r.visits) THEN 'done'"
            "  ELSE 'partial' END"
            " WHERE t.id = ANY($1::uuid[])",
            list(target_ids),
        )
        return await self.requests([r["id"] for r in changed]) if changed else []

    async def requests(self, request_ids: Sequence[UUID]) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(
            f"{SELECT} WHERE r.id = ANY($1::uuid[])", list(request_ids)
        )
        return rows

    async def programme_totals(self, programme_ids: list[UUID]) -> list[asyncpg.Record]:
        """Sums over the requests of each of these programmes (a listing's progress, in one query)."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            "SELECT r.programme_id, NULL::text AS work_package, count(*) AS requests, sum(r.visits) AS requested,"
            " sum(r.planned) AS planned, sum(r.observed) AS observed, sum(least(r.good, r.visits)) AS good,"
            " count(*) FILTER (WHERE r.good < r.visits) AS open"
            " FROM request r WHERE r.programme_id = ANY($1::uuid[]) GROUP BY r.programme_id",
            programme_ids,
        )
        return rows

    async def totals(self, programme_id: UUID) -> list[asyncpg.Record]:
        """Sums over the requests of a programme, per work package (code None: no work package)."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            "SELECT w.code AS work_package, count(*) AS requests, sum(r.visits) AS requested,"
            " sum(r.planned) AS planned, sum(r.observed) AS observed, sum(least(r.good, r.visits)) AS good,"
            " count(*) FILTER (WHERE r.good < r.visits) AS open"
            " FROM request r JOIN target t ON t.id = r.target_id LEFT JOIN work_package w ON w.id = t.work_package_id"
            " WHERE r.programme_id = $1 GROUP BY w.code ORDER BY w.code NULLS LAST",
            programme_id,
        )
        return rows
