"""SQL of an admin's attachment of an observation to a programme."""

from __future__ import annotations

from uuid import UUID

import asyncpg


class AssignmentStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def lock(self, observation_id: UUID) -> asyncpg.Record | None:
        return await self.conn.fetchrow("SELECT * FROM observation WHERE id = $1 FOR UPDATE", observation_id)

    async def programme_known(self, code: str) -> bool:
        return bool(await self.conn.fetchval("SELECT 1 FROM programme_rights WHERE code = $1", code))

    async def assign(self, observation_id: UUID, programme: str | None, by: str) -> asyncpg.Record:
        """The observation belongs to ``programme`` (None: to none), as ``by`` said; its row."""
        row: asyncpg.Record = await self.conn.fetchrow(
            "UPDATE observation SET programme = $2, programme_assigned_by = $3, programme_assigned_at = now()"
            " WHERE id = $1 RETURNING *",
            observation_id,
            programme,
            by,
        )
        return row
