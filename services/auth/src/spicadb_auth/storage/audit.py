from __future__ import annotations

from typing import Any

import asyncpg
import msgspec


class AuditRow(msgspec.Struct, frozen=True):
    id: int
    at: str
    actor: str
    actor_client: str | None
    action: str
    target_type: str
    target_id: str
    before: Any
    after: Any
    request_id: str | None


class AuditStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add(
        self,
        *,
        actor: str,
        actor_client: str | None,
        action: str,
        target_type: str,
        target_id: str,
        before: Any,
        after: Any,
        request_id: str | None,
    ) -> None:
        await self.conn.execute(
            "INSERT INTO audit (actor, actor_client, action, target_type, target_id, before, after, request_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            actor,
            actor_client,
            action,
            target_type,
            target_id,
            before,
            after,
            request_id,
        )

    async def recent(
        self, limit: int = 100, target_type: str | None = None, target_id: str | None = None
    ) -> list[AuditRow]:
        rows = await self.conn.fetch(
            "SELECT id, at, actor, actor_client, action, target_type, target_id, before, after, request_id"
            " FROM audit WHERE ($2::text IS NULL OR target_type = $2) AND ($3::text IS NULL OR target_id = $3)"
            " ORDER BY id DESC LIMIT $1",
            limit,
            target_type,
            target_id,
        )
        return [AuditRow(**{**dict(r), "at": r["at"].isoformat()}) for r in rows]
