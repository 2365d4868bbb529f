from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


class PingStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, ping_id: str, sequence: int, note: str, recorded_at: datetime) -> bool:
        status = await self.conn.execute(
            "INSERT INTO ping (ping_id, sequence, note, recorded_at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT DO NOTHING",
            ping_id,
            sequence,
            note,
            recorded_at,
        )
        return status.endswith("1")

    async def insert_many(self, rows: list[tuple[str, int, str, datetime]]) -> None:
        await self.conn.copy_records_to_table(
            "ping", records=rows, columns=("ping_id", "sequence", "note", "recorded_at")
        )

    async def record_effect(self, ping_id: str, event_id: UUID, version: int) -> None:
        await self.conn.execute(
            "INSERT INTO ping_effect (ping_id, event_id, version) VALUES ($1, $2, $3)",
            ping_id,
            event_id,
            version,
        )

    async def record_effects(self, effects: list[tuple[str, UUID, int]]) -> None:
        # clock_timestamp() per row: the benchmark reads commit-to-effect lag from applied_at
        await self.conn.execute(
            "INSERT INTO ping_effect (ping_id, event_id, version)"
            " SELECT * FROM unnest($1::text[], $2::uuid[], $3::bigint[])",
            [e[0] for e in effects],
            [e[1] for e in effects],
            [e[2] for e in effects],
        )

    async def summary(self, ping_id: str) -> tuple[int, int] | None:
        row = await self.conn.fetchrow(
            "SELECT p.sequence, (SELECT count(*) FROM ping_effect e WHERE e.ping_id = p.ping_id) AS effects"
            " FROM ping p WHERE p.ping_id = $1",
            ping_id,
        )
        return None if row is None else (row["sequence"], row["effects"])

    async def cured(self, ping_id: str) -> bool:
        return bool(await self.conn.fetchval("SELECT 1 FROM ping_cure WHERE ping_id = $1", ping_id))
