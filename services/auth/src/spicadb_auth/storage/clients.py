from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg

from spicadb_kit.rows import row_to, rows_to

from ..models import Client

_COLUMNS = "client_id, name, secret_hash, scopes, grant_types, redirect_uris, disabled_at, secret_rotated_at, created_at"


def client_from(row: Mapping[str, Any]) -> Client:
    """A row of _COLUMNS (Client's fields)."""
    return row_to(Client, row)


class ClientStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def get(self, client_id: str, *, for_update: bool = False) -> Client | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(f"SELECT {_COLUMNS} FROM client WHERE client_id = $1{lock}", client_id)
        return client_from(row) if row else None

    async def active(self, client_id: str) -> Client | None:
        """A client that may authenticate: a disabled one is as good as unknown."""
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM client WHERE client_id = $1 AND disabled_at IS NULL", client_id
        )
        return client_from(row) if row else None

    async def list(self) -> list[Client]:
        return rows_to(Client, await self.conn.fetch(f"SELECT {_COLUMNS} FROM client ORDER BY client_id"))

    async def lock_bootstrap(self) -> None:
        """Serialise first starts between replicas (until the transaction ends)."""
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext('spicadb.auth.bootstrap'))")

    async def count(self) -> int:
        return int(await self.conn.fetchval("SELECT count(*) FROM client"))

    async def insert(self, client: Client) -> bool:
        status = await self.conn.execute(
            "INSERT INTO client (client_id, name, secret_hash, scopes, grant_types, redirect_uris)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            client.client_id,
            client.name,
            client.secret_hash,
            list(client.scopes),
            list(client.grant_types),
            list(client.redirect_uris),
        )
        return bool(status.endswith("1"))

    async def set_secret_hash(self, client_id: str, secret_hash: str, at: datetime) -> None:
        await self.conn.execute(
            "UPDATE client SET secret_hash = $2, secret_rotated_at = $3, updated_at = now() WHERE client_id = $1",
            client_id,
            secret_hash,
            at,
        )

    async def disable(self, client_id: str, at: datetime) -> None:
        await self.conn.execute(
            "UPDATE client SET disabled_at = $2, updated_at = now() WHERE client_id = $1", client_id, at
        )

    async def enable(self, client_id: str) -> None:
        await self.conn.execute(
            "UPDATE client SET disabled_at = NULL, updated_at = now() WHERE client_id = $1", client_id
        )
