"""Reading the OiDB table: every query goes through :class:`Query`, which always applies the
data-rights rule (the kit's ``visible_sql``, calibrators once observed) on the view oidb_granule."""

from __future__ import annotations

from typing import Any

import asyncpg

from spicadb_kit.rights import Viewer, visible_sql

FROM = "oidb_granule g"


def visible(viewer: str, sees_all: str) -> str:
    """The kit's rule on a granule, plus OiDB's: a calibrator is released when it was observed."""
    return (
        f"({visible_sql('g.programme', 'g.obs_end', viewer, sees_all)}"
        " OR (g.dataproduct_category = 'CALIB' AND g.obs_end <= now()))"
    )


class Query:
    """A WHERE clause and its arguments, starting with what the viewer may see."""

    def __init__(self, viewer: Viewer) -> None:
        self.args: list[Any] = [viewer.username, viewer.sees_all]
        self.where = [visible("$1::text", "$2::boolean")]

    def arg(self, value: Any, cast: str = "") -> str:
        self.args.append(value)
        return f"${len(self.args)}{cast}"

    def add(self, condition: str, *values: Any) -> None:
        """``condition`` with ``{}`` for each value's placeholder."""
        self.where.append(condition.format(*(self.arg(v) for v in values)))

    def cone(self, ra: float, dec: float, radius_deg: float) -> None:
        """Granules within ``radius_deg`` of (ra, dec): the GiST index on the pgSphere points."""
        self.where += [
            "g.s_ra IS NOT NULL AND g.s_dec IS NOT NULL",
            f"spoint(radians(g.s_ra), radians(g.s_dec)) <@ scircle(spoint(radians({self.arg(ra, '::float8')}),"
            f" radians({self.arg(dec, '::float8')})), radians({self.arg(radius_deg, '::float8')}))",
        ]

    def sql(self, order: str, limit: int) -> str:
        return f"SELECT g.* FROM {FROM} WHERE {' AND '.join(self.where)} ORDER BY {order} LIMIT {int(limit)}"


class GranuleStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def select(self, query: Query, order: str, limit: int) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(query.sql(order, limit), *query.args)
        return rows
