"""Access tokens revoked before they expire.

The auth service publishes ``auth.token.revoked`` (jti, exp) when a token is revoked (RFC 7009, a
reused refresh token revoking its family, a disabled user or client). The gateway's consumer records
each one in ``revoked_token``, in the same transaction as its inbox row; every replica then reads the
unexpired rows into an in-memory set, which the token verifier consults on each request
(``TokenVerifier.is_revoked``). Rows and entries go away once the token would have expired anyway.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import asyncpg

from spicadb_contracts.auth import TokenRevoked
from spicadb_kit.events import Envelope, EventConsumer
from spicadb_kit.logs import get_logger

from .spec import REVOCATIONS

log = get_logger(__name__)

REVOKED_TYPE = TokenRevoked.event_type()


class RevocationList:
    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}

    def __contains__(self, jti: object) -> bool:
        return jti in self._expiry

    def is_revoked(self, jti: str) -> bool:
        return jti in self._expiry

    def __len__(self) -> int:
        return len(self._expiry)

    def add(self, jti: str, expires_at: float) -> None:
        if expires_at > time.time():
            self._expiry[jti] = expires_at

    async def load(self, pool: asyncpg.Pool) -> int:
        """Read every revocation that has not expired (recorded by any replica), forget expired ones.

        The whole list, not the rows past the last sequence number seen: a row whose transaction commits
        after a later-numbered one would be skipped for good. The list stays short (access tokens live
        minutes, and only revoked ones are listed)."""
        rows = await pool.fetch("SELECT jti, expires_at FROM revoked_token WHERE expires_at > now()")
        for row in rows:
            self.add(row["jti"], row["expires_at"].timestamp())
        now = time.time()
        for jti in [j for j, exp in self._expiry.items() if exp <= now]:
            del self._expiry[jti]
        return len(rows)

    async def follow(self, pool: asyncpg.Pool, interval: float) -> None:
        """Poll for revocations recorded by other replicas; prune expired rows now and then."""
        last_prune = 0.0
        while True:
            try:
                await self.load(pool)
                if time.monotonic() - last_prune > 600:
                    await pool.execute(
                        "DELETE FROM revoked_token WHERE expires_at < now() - interval '1 hour'"
                    )
                    last_prune = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("cannot read revoked tokens", error=repr(exc))
            await asyncio.sleep(interval)


def revocation_consumer(revocations: RevocationList) -> EventConsumer:
    # In no order (spec.py): a revocation stands alone, and the auth service's aggregates carry other
    # events the gateway does not subscribe to (a strict consumer would wait for those versions).
    consumer = EventConsumer(REVOCATIONS)

    @consumer.on(TokenRevoked)
    async def on_revoked(conn: asyncpg.Connection, envelope: Envelope, event: TokenRevoked) -> None:
        expires_at = datetime.fromtimestamp(event.exp, UTC)
        await conn.execute(
            "INSERT INTO revoked_token (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
            event.jti,
            expires_at,
        )
        # conservative: effective here at once (a rolled-back transaction is redelivered anyway)
        revocations.add(event.jti, float(event.exp))
        log.info("access token revoked", jti=event.jti, reason=event.reason, event_id=str(envelope.id))

    return consumer
