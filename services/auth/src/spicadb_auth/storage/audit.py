from __future__ import annotations

from typing import Any

import asyncpg

from spicadb_kit.pagination import Cursor, Int8
from spicadb_kit.sql import Where

from ..models import AuditRow


class AuditKey(Cursor, frozen=True):
    """The audit listing's keyset (ORDER BY id DESC)."""

    id: Int8


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
        self,
        limit: int = 100,
        target_type: str | None = None,
        target_id: str | None = None,
        after: AuditKey | None = None,
    ) -> list[AuditRow]:
        """The most recent changes first (keyset on id)."""
        where = Where()
        where.when("target_type = {}", target_type)
        where.when("target_id = {}", target_id)
        where.after(["id"], after.values() if after else None, descending=True)
        rows = await self.conn.fetch(
            "SELECT id, at, actor, actor_client, action, target_type, target_id, before, after, request_id"
            f" FROM audit WHERE {where.clause()} ORDER BY id DESC LIMIT {int(limit)}",
            *where.args,
        )
        return [AuditRow(**{**dict(r), "at": r["at"].isoformat()}) for r in rows]
