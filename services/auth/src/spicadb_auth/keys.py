"""Signing keys and their rotation.

A key lives through three states, all kept in the database so that every replica signs with
the same key and publishes the same JWKS:

- ``next``: published in the JWKS, not signing yet. Verifiers that cache the JWKS (for at most
  ``jwks_cache_seconds``, the ``max-age`` we send) learn it before any token carries its kid;
- ``current``: signs every new access token and ID token. A ``next`` key becomes ``current``
  only once it has been published for at least ``jwks_cache_seconds``;
- ``retired``: no longer signs, still published until every token it signed has expired
  (token lifetime + the key check interval, during which another replica may still have
  signed with it, + a margin for clock skew); then deleted, private half included.

Rotation starts with ``POST /admin/keys/rotate`` or automatically when the current key is
``key_rotation_seconds`` old; the promotion and the clean-up happen in :meth:`KeyRing.maintain`,
run every ``key_check_seconds`` by each replica (an advisory lock makes them take turns).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from joserfc.jwk import ECKey, KeyParameters, KeySet, RSAKey

from spicadb_kit.db import transaction
from spicadb_kit.logs import get_logger

from .config import AuthSettings
from .storage import KeyStore

log = get_logger(__name__)

SigningJWK = ECKey | RSAKey


def generate_key(alg: str) -> SigningJWK:
    params: KeyParameters = {"alg": alg, "use": "sig"}
    key: SigningJWK
    if alg == "ES256":
        key = ECKey.generate_key("P-256", parameters=params)
    elif alg == "RS256":
        key = RSAKey.generate_key(2048, parameters=params)
    else:
        raise ValueError(f"unsupported signing algorithm {alg}")
    # the RFC 7638 thumbprint names the key: stable, unique, derived from the public half
    key.ensure_kid()
    return key


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    state: str
    key: SigningJWK
    published_at: datetime
    activated_at: datetime | None = None
    retired_at: datetime | None = None
    drop_after: datetime | None = None

    def public_jwk(self) -> dict[str, Any]:
        return dict(self.key.as_dict(private=False))

    def summary(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "alg": self.alg,
            "state": self.state,
            "published_at": self.published_at.isoformat(),
            "activated_at": self.activated_at.isoformat() if self.activated_at else None,
            "retired_at": self.retired_at.isoformat() if self.retired_at else None,
            "drop_after": self.drop_after.isoformat() if self.drop_after else None,
        }


def _key_from(row: asyncpg.Record) -> SigningKey:
    jwk = row["private_jwk"]
    key: SigningJWK = ECKey.import_key(jwk) if jwk["kty"] == "EC" else RSAKey.import_key(jwk)
    return SigningKey(
        kid=row["kid"],
        alg=row["alg"],
        state=row["state"],
        key=key,
        published_at=row["published_at"],
        activated_at=row["activated_at"],
        retired_at=row["retired_at"],
        drop_after=row["drop_after"],
    )


class NoSigningKey(RuntimeError):
    """The service has no current signing key (it was never started against this database)."""


class KeyRing:
    """The keys as this replica last read them; reloaded after every change and every check."""

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self._keys: tuple[SigningKey, ...] = ()
        self._reload_lock = asyncio.Lock()
        self._loaded_at = 0.0
        self._verification: tuple[tuple[str, ...], KeySet] | None = None

    # --- reading (synchronous: authlib's token generator runs in a worker thread) --------------

    @property
    def keys(self) -> tuple[SigningKey, ...]:
        return self._keys

    @property
    def current(self) -> SigningKey:
        for key in self._keys:
            if key.state == "current":
                return key
        raise NoSigningKey("no current signing key")

    def signing_keyset(self) -> KeySet:
        """The current private key alone: joserfc puts its kid in the header."""
        return KeySet([self.current.key])

    def published(self, at: datetime) -> list[SigningKey]:
        return [
            k for k in self._keys if k.state != "retired" or (k.drop_after is not None and k.drop_after > at)
        ]

    def jwks(self, at: datetime) -> dict[str, Any]:
        return {"keys": [k.public_jwk() for k in self.published(at)]}

    def verification_keyset(self, at: datetime) -> KeySet:
        """The published public keys (cached until the published set changes)."""
        published = self.published(at)
        kids = tuple(k.kid for k in published)
        cached = self._verification
        if cached is None or cached[0] != kids:
            cached = (kids, KeySet.import_key_set({"keys": [k.public_jwk() for k in published]}))  # type: ignore[typeddict-item]
            self._verification = cached
        return cached[1]

    @property
    def retire_after_seconds(self) -> float:
        s = self.settings
        return s.access_token_lifetime + s.key_check_seconds + s.key_retire_margin_seconds

    # --- loading and lifecycle ---------------------------------------------------------------

    async def load(self, pool: asyncpg.Pool) -> None:
        async with self._reload_lock, pool.acquire() as conn:
            rows = await KeyStore(conn).all()
            self._keys = tuple(_key_from(r) for r in rows)
            self._loaded_at = asyncio.get_running_loop().time()

    async def reload_if_older_than(self, pool: asyncpg.Pool, seconds: float) -> None:
        if asyncio.get_running_loop().time() - self._loaded_at >= seconds:
            await self.load(pool)

    async def insert(self, conn: asyncpg.Connection, state: str) -> SigningKey:
        key = await asyncio.to_thread(generate_key, self.settings.signing_alg)
        assert key.kid is not None  # ensure_kid() named it
        row = await KeyStore(conn).insert(
            key.kid, self.settings.signing_alg, state, dict(key.as_dict(private=True))
        )
        return SigningKey(
            kid=row["kid"],
            alg=row["alg"],
            state=row["state"],
            key=key,
            published_at=row["published_at"],
            activated_at=row["activated_at"],
        )

    async def prepare_next(self, conn: asyncpg.Connection) -> tuple[SigningKey, bool]:
        """The ``next`` key, created unless one is waiting already (then ``created`` is False).
        Runs in the caller's transaction, under the key lock."""
        store = KeyStore(conn)
        await store.lock()
        for row in await store.all():
            if row["state"] == "next":
                return _key_from(row), False
        return await self.insert(conn, "next"), True

    @property
    def publication_seconds(self) -> float:
        """How long a next key is published before it signs: the JWKS cache time, plus the key
        check interval (another replica serves the JWKS it loaded at its last check)."""
        return self.settings.jwks_cache_seconds + self.settings.key_check_seconds

    def signs_from(self, key: SigningKey) -> datetime:
        return key.published_at + timedelta(seconds=self.publication_seconds)

    async def maintain(self, pool: asyncpg.Pool) -> list[str]:
        """One lifecycle step: first key, promotion, scheduled rotation, clean-up. Returns what changed."""
        changes: list[str] = []
        s = self.settings
        async with transaction(pool) as conn:
            store = KeyStore(conn)
            await store.lock()
            now = await store.now()
            keys = [_key_from(r) for r in await store.all()]
            current = next((k for k in keys if k.state == "current"), None)
            waiting = next((k for k in keys if k.state == "next"), None)
            if current is None and waiting is None:
                # a fresh database: nothing was ever signed, so the first key may sign at once
                key = await self.insert(conn, "current")
                changes.append(f"created {key.kid} (current)")
            elif waiting is not None and (current is None or self.signs_from(waiting) <= now):
                await store.retire_current(self.retire_after_seconds)
                await store.promote_next()
                changes.append(f"promoted {waiting.kid}" + (f", retired {current.kid}" if current else ""))
            elif (
                waiting is None
                and current is not None
                and current.activated_at is not None
                and current.activated_at + timedelta(seconds=s.key_rotation_seconds) <= now
            ):
                key = await self.insert(conn, "next")
                changes.append(f"scheduled rotation: {key.kid} published as next")
            dropped = await store.drop_retired(now)
            if dropped:
                changes.append(f"dropped {dropped} retired key(s)")
        await self.load(pool)
        for change in changes:
            log.info("signing keys", change=change)
        return changes
