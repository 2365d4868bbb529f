"""Login sessions, failed logins (throttling) and upstream logins in flight."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from ..models import Account
from .accounts import account_from

_ACCOUNT = "a.username, a.roles, a.name, a.email, a.origin, a.disabled_at, a.password_hash, a.created_at"


class SessionStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def open(self, session_hash: str, username: str, expires_at: datetime, method: str) -> datetime:
        auth_time: datetime = await self.conn.fetchval(
            "INSERT INTO login_session (session_hash, username, expires_at, method) VALUES ($1, $2, $3, $4)"
            " RETURNING auth_time",
            session_hash,
            username,
            expires_at,
            method,
        )
        return auth_time

    async def account(self, session_hash: str) -> tuple[Account, datetime] | None:
        row = await self.conn.fetchrow(
            f"SELECT s.auth_time, {_ACCOUNT} FROM login_session s JOIN account a USING (username)"
            " WHERE s.session_hash = $1 AND s.expires_at > now()",
            session_hash,
        )
        return (account_from(row), row["auth_time"]) if row else None

    async def close(self, session_hash: str) -> None:
        await self.conn.execute("DELETE FROM login_session WHERE session_hash = $1", session_hash)

    async def close_all(self, username: str) -> None:
        await self.conn.execute("DELETE FROM login_session WHERE username = $1", username)

    # --- throttling ---------------------------------------------------------------------------

    async def record_failure(self, username: str, address: str) -> None:
        await self.conn.execute(
            "INSERT INTO login_failure (username, address) VALUES ($1, $2)", username, address
        )

    async def clear_failures(self, username: str, address: str) -> None:
        await self.conn.execute(
            "DELETE FROM login_failure WHERE username = $1 AND address = $2", username, address
        )

    async def blocked_until(
        self, limit: int, window_seconds: int, *, address: str, username: str | None = None
    ) -> datetime | None:
        """When the ``limit``-th most recent failure of the window leaves it (None: not blocked):
        of this address for this user name, or of this address over every user name."""
        oldest_counted: datetime | None = await self.conn.fetchval(
            "SELECT failed_at FROM login_failure WHERE address = $1"
            " AND ($2::text IS NULL OR username = $2)"
            " AND failed_at > now() - make_interval(secs => $3)"
            " ORDER BY failed_at DESC OFFSET $4 LIMIT 1",
            address,
            username,
            float(window_seconds),
            limit - 1,
        )
        if oldest_counted is None:
            return None
        return oldest_counted + timedelta(seconds=window_seconds)

    async def recent_failures(self, username: str, window_seconds: int, at_most: int) -> int:
        """Failures of this user name within the window, from any address (counted up to ``at_most``)."""
        count: int = await self.conn.fetchval(
            "SELECT count(*) FROM (SELECT 1 FROM login_failure WHERE username = $1"
            " AND failed_at > now() - make_interval(secs => $2) LIMIT $3) f",
            username,
            float(window_seconds),
            at_most,
        )
        return count

    # --- upstream logins ----------------------------------------------------------------------

    async def start_upstream(
        self, state_hash: str, code_verifier: str, nonce: str, next_url: str, expires_at: datetime
    ) -> None:
        await self.conn.execute(
            "INSERT INTO upstream_login (state_hash, code_verifier, nonce, next_url, expires_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            state_hash,
            code_verifier,
            nonce,
            next_url,
            expires_at,
        )

    async def take_upstream(self, state_hash: str) -> asyncpg.Record | None:
        """The pending upstream login of this state, removed (a state works once)."""
        return await self.conn.fetchrow(
            "DELETE FROM upstream_login WHERE state_hash = $1 AND expires_at > now()"
            " RETURNING code_verifier, nonce, next_url",
            state_hash,
        )

    async def purge_expired(self, window_seconds: int) -> None:
        await self.conn.execute("DELETE FROM login_session WHERE expires_at < now()")
        await self.conn.execute("DELETE FROM upstream_login WHERE expires_at < now()")
        await self.conn.execute(
            "DELETE FROM login_failure WHERE failed_at < now() - make_interval(secs => $1)",
            float(window_seconds),
        )
