"""Reading the OiDB table: every query goes through :class:`Query`, which always applies the
data-rights rule (the kit's ``visible_sql``, calibrators once observed, data of no programme after the default period) on the view oidb_granule."""

from __future__ import annotations

import asyncpg

from spicadb_kit.pagination import Cursor, Int8
from spicadb_kit.rights import Viewer, visible_sql
from spicadb_kit.sql import Where

FROM = "oidb_granule g"


def visible(viewer: str, sees_all: str) -> str:
    """The kit's rule on a granule (a calibrator is released when it was observed)."""
    return visible_sql(
        "g.programme", "g.obs_end", viewer, sees_all, calibrator="g.dataproduct_category = 'CALIB'"
    )


class GranuleKey(Cursor, frozen=True):
    """The granules listing's keyset (ORDER BY id)."""

    id: Int8


class Query(Where):
    """A WHERE clause and its arguments, starting with what the viewer may see."""

    def __init__(self, viewer: Viewer) -> None:
        super().__init__(viewer.username, viewer.sees_all, conditions=[visible("$1::text", "$2::boolean")])

    def near(self, ra: float, dec: float, radius_deg: float) -> None:
        """Granules within ``radius_deg`` of (ra, dec): the GiST index on the pgSphere points."""
        self.cone("g.s_ra", "g.s_dec", ra, dec, radius_deg)

    def sql(self, order: str, limit: int) -> str:
        return f"SELECT g.* FROM {FROM} WHERE {self.clause()} ORDER BY {order} LIMIT {int(limit)}"


class GranuleStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def select(self, query: Query, order: str, limit: int) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(query.sql(order, limit), *query.args)
        return rows
