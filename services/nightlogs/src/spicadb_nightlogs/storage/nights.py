"""SQL of nights, plan versions and log versions; every method runs on the caller's connection
(inside the domain service's transaction when it writes). asyncpg's ``fetch`` has no annotations: the rows
of each query are typed where they are fetched."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

from spicadb_kit.pagination import Cursor
from spicadb_kit.sql import Where


class NightKey(Cursor, frozen=True):
    """The nights listing's keyset (ORDER BY night, site)."""

    night: date
    site: str


class NightStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def lock(self, site: str, night: date, start: datetime, end: datetime) -> asyncpg.Record:
        """The night's row, created when new, locked until the end of the transaction."""
        await self.conn.execute(
            "INSERT INTO night (site, night, start_utc, end_utc) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (site, night) DO NOTHING",
            site,
            night,
            start,
            end,
        )
        return await self.conn.fetchrow(
            "SELECT * FROM night WHERE site = $1 AND night = $2 FOR UPDATE", site, night
        )

    async def get(self, site: str, night: date) -> asyncpg.Record | None:
        return await self.conn.fetchrow("SELECT * FROM night WHERE site = $1 AND night = $2", site, night)

    async def set_versions(
        self, site: str, night: date, *, plan: int | None = None, log: int | None = None
    ) -> None:
        await self.conn.execute(
            "UPDATE night SET plan_version = coalesce($3, plan_version), log_version = coalesce($4, log_version),"
            " updated_at = now() WHERE site = $1 AND night = $2",
            site,
            night,
            plan,
            log,
        )

    async def listing(
        self,
        *,
        site: str | None,
        first: date | None,
        last: date | None,
        after: NightKey | None,
        limit: int,
    ) -> list[asyncpg.Record]:
        where = Where()
        where.when("n.site = {}", site)
        where.when("n.night >= {}", first)
        where.when("n.night <= {}", last)
        where.after(["n.night", "n.site"], after.values() if after else None)
        rows: list[asyncpg.Record] = await self.conn.fetch(
            'SELECT n.*, n.start_utc AS start, n.end_utc AS "end", (SELECT count(*) FROM observation o'
            " WHERE o.site = n.site AND o.night = n.night"
            f" AND o.withdrawn_in IS NULL) AS observations FROM night n WHERE {where.clause()}"
            f" ORDER BY n.night, n.site LIMIT {int(limit)}",
            *where.args,
        )
        return rows

    async def count_observations(self, site: str, night: date) -> int:
        return int(
            await self.conn.fetchval(
                "SELECT count(*) FROM observation WHERE site = $1 AND night = $2 AND withdrawn_in IS NULL",
                site,
                night,
            )
        )


class PlanStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, row: dict[str, Any]) -> None:
        await self.conn.execute(
            "INSERT INTO plan_version (site, night, version, observations, scheduled_by, scheduled_at)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            row["site"],
            row["night"],
            row["version"],
            row["observations"],
            row["scheduled_by"],
            row["scheduled_at"],
        )

    async def all(self, site: str, night: date) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(
            "SELECT * FROM plan_version WHERE site = $1 AND night = $2 ORDER BY version", site, night
        )
        return rows

    async def latest(self, site: str, night: date) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            "SELECT * FROM plan_version WHERE site = $1 AND night = $2 ORDER BY version DESC LIMIT 1",
            site,
            night,
        )


# the fields of models.LogVersionSummary
LOG_SUMMARY = (
    "version, format, lines, skipped AS skipped_lines, unmatched, cardinality(added) AS added,"
    " cardinality(changed) AS changed, cardinality(withdrawn) AS withdrawn, ingested_by, ingested_at"
)


class LogStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, row: dict[str, Any]) -> None:
        await self.conn.execute(
            "INSERT INTO log_version (site, night, version, digest, format, lines, skipped, unmatched, added,"
            " changed, withdrawn, content, ingested_by, ingested_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            row["site"],
            row["night"],
            row["version"],
            row["digest"],
            row["format"],
            row["lines"],
            row["skipped"],
            row["unmatched"],
            row["added"],
            row["changed"],
            row["withdrawn"],
            row["content"],
            row["ingested_by"],
            row["ingested_at"],
        )

    async def latest(self, site: str, night: date) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            "SELECT site, night, version, digest, format, lines, skipped, unmatched, added, changed, withdrawn,"
            " ingested_by, ingested_at FROM log_version WHERE site = $1 AND night = $2"
            " ORDER BY version DESC LIMIT 1",
            site,
            night,
        )

    async def latest_content(self, site: str, night: date) -> asyncpg.Record | None:
        """The latest log of the night as posted: (version, format, content)."""
        return await self.conn.fetchrow(
            "SELECT version, format, content FROM log_version WHERE site = $1 AND night = $2"
            " ORDER BY version DESC LIMIT 1",
            site,
            night,
        )

    async def get(self, site: str, night: date, version: int) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            "SELECT site, night, version, digest, format, lines, skipped, unmatched, added, changed, withdrawn,"
            " ingested_by, ingested_at FROM log_version WHERE site = $1 AND night = $2 AND version = $3",
            site,
            night,
            version,
        )

    async def summaries(self, site: str, night: date) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(
            f"SELECT {LOG_SUMMARY} FROM log_version WHERE site = $1 AND night = $2 ORDER BY version",
            site,
            night,
        )
        return rows
