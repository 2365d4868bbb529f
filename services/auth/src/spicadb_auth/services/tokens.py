"""Issued tokens, revocation and its events.

Revoking an access token records its jti until it expires (introspection and this service's
own verifier read it) and publishes ``auth.token.revoked`` through the outbox, in the same
transaction, so that the gateway and the services can deny it before it expires. Revoking a
grant (a refresh token family) revokes its refresh tokens and its live access tokens.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from spicadb_contracts.auth import TokenRevoked
from spicadb_kit.events import Outbox
from spicadb_kit.logs import get_logger

from ..storage import GrantStore

log = get_logger(__name__)


class RevocationList:
    """Which access tokens are denied (this service's own verifier reads it)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def denies(self, jti: str) -> bool:
        async with self.pool.acquire() as conn:
            return await GrantStore(conn).is_revoked(jti)


class Revocations:
    """Revoking, inside the transaction of the change that revokes."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def access_token(
        self,
        conn: asyncpg.Connection,
        *,
        jti: str,
        exp: int,
        reason: str,
        sub: str = "",
        client_id: str = "",
    ) -> bool:
        """Deny one access token until it expires; False if it was denied already."""
        expires_at = datetime.fromtimestamp(exp, UTC)
        if not await GrantStore(conn).revoke_access(jti, expires_at, reason):
            return False
        event = TokenRevoked(
            jti=jti, exp=exp, revoked_at=datetime.now(UTC), reason=reason, sub=sub, client_id=client_id
        )
        await self.outbox.add(conn, event, aggregate_id=jti)
        return True

    async def family(self, conn: asyncpg.Connection, family_id: UUID, reason: str) -> int:
        """Revoke a grant: its refresh tokens and its access tokens still alive."""
        store = GrantStore(conn)
        refreshed = await store.revoke_refresh_family(family_id)
        denied = 0
        for token in await store.live_access_tokens(family_id=family_id):
            denied += await self.access_token(
                conn,
                jti=token.jti,
                exp=int(token.expires_at.timestamp()),
                reason=reason,
                sub=token.subject,
                client_id=token.client_id,
            )
        log.warning(
            "grant revoked",
            family=str(family_id),
            reason=reason,
            refresh_tokens=refreshed,
            access_tokens=denied,
        )
        return denied

    async def person(self, conn: asyncpg.Connection, username: str, reason: str) -> int:
        """Revoke everything a person holds (their account was disabled)."""
        store = GrantStore(conn)
        await store.revoke_refresh_of_user(username)
        denied = 0
        for token in await store.live_access_tokens(subject=username):
            denied += await self.access_token(
                conn,
                jti=token.jti,
                exp=int(token.expires_at.timestamp()),
                reason=reason,
                sub=token.subject,
                client_id=token.client_id,
            )
        return denied
