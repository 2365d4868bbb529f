"""Reading the L0 view: every query goes through :class:`Query`, which always applies the data-rights
rule (the kit's ``visible_sql``) and hides withdrawn observations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

from spicadb_kit.rights import Viewer, release_sql, visible_sql

COLUMNS = (
    "e.id, e.observation_id, e.exp_header_id, e.site, e.night, e.log_version, e.mjd_start, e.mjd_end,"
    " e.baselines, e.level, e.flag_reasons, e.flag_comment, e.flagged_by, e.flagged_at, e.flags, e.seeing,"
    " e.tau0, e.wind, e.airmass, e.temperature, e.comments, e.raw_files, e.updated_at, e.date_end, e.kind,"
    " e.programme, p.title AS programme_title, p.pi AS programme_pi, e.stations, e.mode, e.em_min, e.em_max,"
    " e.resolving_power, e.target_id, t.name AS target_name, e.ra, e.dec, e.matched_by, e.planned_sequence,"
    f" {release_sql('e.programme', 'e.date_end')} AS date_release"
)
FROM = "exposure e JOIN target t ON t.id = e.target_id LEFT JOIN programme_rights p ON p.code = e.programme"


class Query:
    """A WHERE clause and its arguments, starting with what the viewer may see."""

    def __init__(self, viewer: Viewer) -> None:
        self.args: list[Any] = [viewer.username, viewer.sees_all]
        self.where = ["NOT e.withdrawn", visible_sql("e.programme", "e.date_end", "$1::text", "$2::boolean")]

    def arg(self, value: Any, cast: str = "") -> str:
        self.args.append(value)
        return f"${len(self.args)}{cast}"

    def cone(self, ra: float, dec: float, radius_deg: float) -> None:
        """Exposures within ``radius_deg`` of (ra, dec): the GiST index on the pgSphere points."""
        self.where += [
            "e.ra IS NOT NULL",
            f"spoint(radians(e.ra), radians(e.dec)) <@ scircle(spoint(radians({self.arg(ra, '::float8')}),"
            f" radians({self.arg(dec, '::float8')})), radians({self.arg(radius_deg, '::float8')}))",
        ]

    def add(self, condition: str, *values: Any) -> None:
        """``condition`` with ``{}`` for each value's placeholder."""
        self.where.append(condition.format(*(self.arg(v) for v in values)))

    def sql(self, order: str, limit: int) -> str:
        return (
            f"SELECT {COLUMNS} FROM {FROM} WHERE {' AND '.join(self.where)}"
            f" ORDER BY {order} LIMIT {int(limit)}"
        )


class ExposureStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def select(self, query: Query, order: str, limit: int) -> list[asyncpg.Record]:
        return await self.conn.fetch(query.sql(order, limit), *query.args)

    async def last_modified(self) -> datetime | None:
        return await self.conn.fetchval("SELECT max(updated_at) FROM exposure")

    async def planned(
        self,
        viewer: Viewer,
        *,
        night_from: date | None,
        night_to: date | None,
        site: str | None,
        programme: str | None,
        observed: bool | None,
        limit: int,
    ) -> list[asyncpg.Record]:
        """The entries of the plans in force, each with the exposures that observed it (visible ones)."""
        visible = visible_sql("pe.programme", "pe.end_at", "$1::text", "$2::boolean")
        seen = visible_sql("e.programme", "e.date_end", "$1::text", "$2::boolean")
        return await self.conn.fetch(
            "SELECT pe.site, pe.night, pe.sequence, np.version, pe.programme, pe.target, pe.mode,"
            " pe.configuration, pe.start_at, pe.end_at, pe.calibrators, pe.target_ref, o.exposures"
            " FROM plan_entry pe JOIN night_plan np USING (site, night)"
            " CROSS JOIN LATERAL (SELECT coalesce(array_agg(e.exp_header_id || '_' || e.id ORDER BY e.id),"
            "  '{}') AS exposures FROM exposure e WHERE e.site = pe.site AND e.night = pe.night"
            f"  AND e.planned_sequence = pe.sequence AND NOT e.withdrawn AND {seen}) o"
            f" WHERE {visible} AND ($3::date IS NULL OR pe.night >= $3) AND ($4::date IS NULL OR pe.night <= $4)"
            " AND ($5::text IS NULL OR pe.site = $5) AND ($6::text IS NULL OR pe.programme = $6)"
            " AND ($7::boolean IS NULL OR (cardinality(o.exposures) > 0) = $7)"
            " ORDER BY pe.night, pe.site, pe.sequence LIMIT $8",
            viewer.username,
            viewer.sees_all,
            night_from,
            night_to,
            site,
            programme,
            observed,
            limit,
        )
