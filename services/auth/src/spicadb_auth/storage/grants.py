"""Grants in flight: authorization codes, refresh tokens (by family), issued and revoked
access tokens."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from spicadb_kit.rows import row_to, rows_to

from ..models import AuthorizationCode, RefreshToken
from .accounts import AS_ACCOUNT


class LiveAccessToken(msgspec.Struct, frozen=True):
    """An access token still alive: what its revocation names."""

    jti: str
    expires_at: datetime
    subject: str
    client_id: str


class GrantStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    # --- authorization codes ------------------------------------------------------------------

    async def insert_code(self, code: AuthorizationCode) -> None:
        await self.conn.execute(
            "INSERT INTO authorization_code (code_hash, client_id, username, redirect_uri, scope,"
            " code_challenge, code_challenge_method, nonce, auth_time, expires_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            code.code_hash,
            code.client_id,
            code.account.username,
            code.redirect_uri,
            code.scope,
            code.code_challenge,
            code.code_challenge_method,
            code.nonce,
            code.auth_time,
            code.expires_at,
        )

    async def lock_code(
        self, code_hash: str, client_id: str
    ) -> tuple[AuthorizationCode, datetime | None] | None:
        """The code (locked until the transaction ends) and when it was used, if it was."""
        row = await self.conn.fetchrow(
            f"SELECT c.*, {AS_ACCOUNT} FROM authorization_code c JOIN account a USING (username)"
            " WHERE c.code_hash = $1 AND c.client_id = $2 FOR UPDATE OF c",
            code_hash,
            client_id,
        )
        if row is None:
            return None
        return row_to(AuthorizationCode, row), row["used_at"]

    async def mark_code_used(self, code_hash: str, family_id: UUID | None) -> None:
        await self.conn.execute(
            "UPDATE authorization_code SET used_at = now(), family_id = $2 WHERE code_hash = $1",
            code_hash,
            family_id,
        )

    async def nonce_seen(self, client_id: str, nonce: str) -> bool:
        return bool(
            await self.conn.fetchval(
                "SELECT 1 FROM authorization_code WHERE client_id = $1 AND nonce = $2", client_id, nonce
            )
        )

    # --- refresh tokens -----------------------------------------------------------------------

    async def insert_refresh(
        self,
        token_hash: str,
        family_id: UUID,
        client_id: str,
        username: str,
        scope: str,
        expires_at: datetime,
    ) -> None:
        await self.conn.execute(
            "INSERT INTO refresh_token (token_hash, family_id, client_id, username, scope, expires_at)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            token_hash,
            family_id,
            client_id,
            username,
            scope,
            expires_at,
        )

    async def get_refresh(self, token_hash: str, *, for_update: bool = False) -> RefreshToken | None:
        lock = " FOR UPDATE OF r" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT r.*, {AS_ACCOUNT} FROM refresh_token r JOIN account a USING (username)"
            f" WHERE r.token_hash = $1{lock}",
            token_hash,
        )
        if row is None:
            return None
        return row_to(RefreshToken, row)

    async def mark_refresh_used(self, token_hash: str) -> None:
        await self.conn.execute("UPDATE refresh_token SET used_at = now() WHERE token_hash = $1", token_hash)

    async def revoke_refresh_family(self, family_id: UUID) -> int:
        status = await self.conn.execute(
            "UPDATE refresh_token SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL",
            family_id,
        )
        return int(status.split()[-1])

    async def revoke_refresh_of_client(self, client_id: str) -> int:
        status = await self.conn.execute(
            "UPDATE refresh_token SET revoked_at = now() WHERE client_id = $1 AND revoked_at IS NULL",
            client_id,
        )
        return int(status.split()[-1])

    async def revoke_refresh_of_user(self, username: str) -> int:
        status = await self.conn.execute(
            "UPDATE refresh_token SET revoked_at = now() WHERE username = $1 AND revoked_at IS NULL", username
        )
        return int(status.split()[-1])

    # --- access tokens ------------------------------------------------------------------------

    async def insert_access(
        self,
        jti: str,
        family_id: UUID | None,
        client_id: str,
        subject: str,
        scope: str,
        issued_at: datetime,
        expires_at: datetime,
    ) -> None:
        await self.conn.execute(
            "INSERT INTO access_token (jti, family_id, client_id, subject, scope, issued_at, expires_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            jti,
            family_id,
            client_id,
            subject,
            scope,
            issued_at,
            expires_at,
        )

    async def live_access_tokens(
        self, *, family_id: UUID | None = None, subject: str | None = None, client_id: str | None = None
    ) -> list[LiveAccessToken]:
        """Unexpired, unrevoked access tokens of a grant, of a person or of a client."""
        if family_id is None and subject is None and client_id is None:
            raise ValueError("say whose tokens")
        return rows_to(
            LiveAccessToken,
            await self.conn.fetch(
                "SELECT t.jti, t.expires_at, t.subject, t.client_id FROM access_token t"
                " WHERE ($1::uuid IS NULL OR t.family_id = $1)"
                # a person's tokens always belong to a grant; a robot's (sub = client id) never
                " AND ($2::text IS NULL OR (t.subject = $2 AND t.family_id IS NOT NULL))"
                " AND ($3::text IS NULL OR t.client_id = $3)"
                " AND t.expires_at > now()"
                " AND NOT EXISTS (SELECT 1 FROM revoked_token r WHERE r.jti = t.jti)",
                family_id,
                subject,
                client_id,
            ),
        )

    async def revoke_access(self, jti: str, expires_at: datetime, reason: str) -> bool:
        """Record a revoked jti; False when it was revoked already."""
        status = await self.conn.execute(
            "INSERT INTO revoked_token (jti, expires_at, reason) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            jti,
            expires_at,
            reason,
        )
        return bool(status.endswith("1"))

    async def is_revoked(self, jti: str) -> bool:
        return bool(await self.conn.fetchval("SELECT 1 FROM revoked_token WHERE jti = $1", jti))

    # --- housekeeping -------------------------------------------------------------------------

    async def purge_expired(self, grace_seconds: float) -> None:
        """Forget what can no longer be presented (kept ``grace_seconds`` longer for reuse detection)."""
        for table in ("authorization_code", "refresh_token", "access_token", "revoked_token"):
            await self.conn.execute(
                f"DELETE FROM {table} WHERE expires_at < now() - make_interval(secs => $1)", grace_seconds
            )
