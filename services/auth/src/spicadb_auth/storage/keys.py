from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

_LOCK = "spicadb.auth.signing_keys"


class KeyStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def lock(self) -> None:
        """Serialise key lifecycle changes between replicas (until the transaction ends)."""
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", _LOCK)

    async def all(self) -> list[asyncpg.Record]:
        return list(
            await self.conn.fetch(
                "SELECT kid, alg, state, private_jwk, published_at, activated_at, retired_at, drop_after"
                " FROM signing_key ORDER BY published_at"
            )
        )

    async def insert(self, kid: str, alg: str, state: str, private_jwk: dict[str, Any]) -> asyncpg.Record:
        row = await self.conn.fetchrow(
            "INSERT INTO signing_key (kid, alg, state, private_jwk, activated_at)"
            " VALUES ($1, $2, $3, $4, CASE WHEN $3 = 'current' THEN now() END)"
            " RETURNING kid, alg, state, published_at, activated_at",
            kid,
            alg,
            state,
            private_jwk,
        )
        assert row is not None
        return row

    async def retire_current(self, drop_after_seconds: float) -> None:
        await self.conn.execute(
            "UPDATE signing_key SET state = 'retired', retired_at = now(),"
            " drop_after = now() + make_interval(secs => $1) WHERE state = 'current'",
            drop_after_seconds,
        )

    async def promote_next(self) -> None:
        await self.conn.execute(
            "UPDATE signing_key SET state = 'current', activated_at = now() WHERE state = 'next'"
        )

    async def drop_retired(self, now: datetime) -> int:
        status = await self.conn.execute(
            "DELETE FROM signing_key WHERE state = 'retired' AND drop_after <= $1", now
        )
        return int(status.split()[-1])

    async def now(self) -> datetime:
        value: datetime = await self.conn.fetchval("SELECT now()")
        return value
