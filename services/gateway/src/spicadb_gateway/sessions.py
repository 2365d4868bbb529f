"""Browser sessions: the gateway runs the authorization code + PKCE flow with the auth service for the
browser, keeps the tokens server-side and gives the browser an opaque, HttpOnly session cookie.

- The gateway is the OAuth client ``spica-gateway`` (settings ``oauth_client_id``): confidential when
  ``oauth_client_secret`` is set (client_secret_basic), public otherwise (PKCE alone). Its redirect URI
  is ``<public_url>/auth/callback``.
- Endpoints come from the auth service's discovery document. The browser is sent to the public
  ``authorization_endpoint``; the gateway itself calls the token and revocation endpoints on the auth
  service's internal address (its upstream), whatever host the discovery document names.
- A session's access token is refreshed when it nears expiry, once: per session, an asyncio.Lock with
  a double check inside it (authlib #266/#673), and inside it the row is locked FOR UPDATE, so that two
  gateway replicas cannot both spend a rotating refresh token (which the auth service would take for a
  reuse and answer by revoking the family). The new refresh token is stored (authlib #548).
- CSRF: unsafe methods authenticated by the cookie need ``X-CSRF-Token`` equal to the readable
  ``spicadb_csrf`` cookie (double submit). The token is derived from the session id, so a cookie planted
  by a sibling site does not pass either.
- At rest, a session row holds the sha256 of the cookie's id and its tokens sealed with AES-256-GCM under
  the ``session_key`` setting, bound to the row (its id_hash is the associated data): a copy of the table
  lets no one in without the key.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import secrets
import time
import warnings
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import authlib.deprecate  # noqa: F401  (installs its "always" filter first, so ours below wins)
import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

with warnings.catch_warnings():
    # authlib 1.9 prefers the httpx2 package and warns when it falls back to httpx (what we pin)
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

__all__ = [
    "AsyncOAuth2Client",
    "OAuthError",
    "SessionManager",
    "SessionStore",
    "TokenSealer",
    "csrf_token",
    "hash_session_id",
]

from spicadb_kit.db import transaction
from spicadb_kit.logs import get_logger
from spicadb_kit.settings import SettingsError

from .config import GatewaySettings

log = get_logger(__name__)

LOGIN_STATE_SECONDS = 600
# how long a replica trusts its cached copy of a session row (logout elsewhere takes this long)
SESSION_CACHE_SECONDS = 5.0


def hash_session_id(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


def csrf_token(session_id: str) -> str:
    digest = hashlib.sha256(b"spicadb-csrf:" + session_id.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def csrf_matches(session_id: str, cookie: str | None, header: str | None) -> bool:
    if not cookie or not header:
        return False
    expected = csrf_token(session_id)
    return hmac.compare_digest(cookie, header) and hmac.compare_digest(header, expected)


@dataclass(slots=True)
class SessionTokens:
    access_token: str
    access_expires_at: float
    expires_at: float
    cached_at: float


class SessionRefused(Exception):
    """The session is gone, expired, or its refresh was refused (the browser must log in again)."""


class AuthUnavailable(Exception):
    """The auth service could not be reached to refresh a session whose token has expired."""


class OAuthEndpoints:
    """The auth service's endpoints, from its discovery document (cached for the process)."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self._metadata: dict[str, Any] | None = None
        self._fetched_at = 0.0

    @property
    def internal_base(self) -> str:
        auth = self.settings.upstream_map().get("auth")
        return auth or self.settings.public_url.rstrip("/")

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is not None and time.monotonic() - self._fetched_at < 300:
            return self._metadata
        base = self.internal_base
        async with httpx.AsyncClient(timeout=5) as client:
            for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
                try:
                    response = await client.get(base + path)
                except httpx.HTTPError as exc:
                    log.warning("auth discovery failed", url=base + path, error=repr(exc))
                    break
                if response.status_code == 200:
                    self._metadata = response.json()
                    self._fetched_at = time.monotonic()
                    return self._metadata
        # the runtime contract's layout, when discovery is not reachable
        public = self.settings.public_url.rstrip("/")
        return {
            "authorization_endpoint": public + "/oauth/authorize",
            "token_endpoint": public + "/oauth/token",
            "revocation_endpoint": public + "/oauth/revoke",
        }

    def internal(self, url: str) -> str:
        """The same endpoint on the auth service's internal address."""
        parts = urlsplit(url)
        base = urlsplit(self.internal_base)
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))

    def client(self, scope: str | None = "") -> AsyncOAuth2Client:
        """authlib's client as the gateway; ``scope`` "" means the configured one, None none."""
        secret = self.settings.oauth_client_secret or None
        return AsyncOAuth2Client(
            client_id=self.settings.oauth_client_id,
            client_secret=secret,
            token_endpoint_auth_method="client_secret_basic" if secret else "none",
            revocation_endpoint_auth_method="client_secret_basic" if secret else "none",
            scope=self.settings.oauth_scope if scope == "" else scope,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            timeout=10,
        )

    @property
    def redirect_uri(self) -> str:
        return self.settings.public_url.rstrip("/") + "/auth/callback"


class TokenSealer:
    """AES-256-GCM under a key derived from the ``session_key`` setting; the associated data binds a
    sealed token to its session row (a sealed token copied into another row does not open)."""

    NONCE = 12

    def __init__(self, secret: str) -> None:
        self._aead = AESGCM(hashlib.sha256(b"spicadb-gateway-session-key:" + secret.encode()).digest())

    def seal(self, id_hash: bytes, token: str) -> bytes:
        nonce = os.urandom(self.NONCE)
        return nonce + self._aead.encrypt(nonce, token.encode(), id_hash)

    def open(self, id_hash: bytes, sealed: bytes) -> str:
        try:
            return self._aead.decrypt(sealed[: self.NONCE], sealed[self.NONCE :], id_hash).decode()
        except (InvalidTag, ValueError) as exc:  # another key (rotated), or not a sealed token
            raise SessionRefused("the session's tokens do not open with this key") from exc

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> TokenSealer:
        """The configured key; required in production. Elsewhere an empty one means a key generated
        once into the data folder (mode 0600), shared by the processes that use that folder."""
        if settings.session_key:
            if settings.environment == "production" and len(settings.session_key) < 32:
                raise SettingsError("SPICADB_SESSION_KEY: use a random string of 32 characters or more")
            return cls(settings.session_key)
        if settings.environment == "production":
            raise SettingsError(
                "SPICADB_SESSION_KEY is required in production (it seals the session table's tokens)"
            )
        return cls(_generated_key(Path(settings.data) / "gateway-session.key"))


def _generated_key(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of the same folder made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key


class SessionStore:
    """SQL of the ``session`` and ``login_state`` tables (the caller owns the transaction). Tokens are
    sealed on the way in and opened on the way out with ``sealer``."""

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool, sealer: TokenSealer | None = None) -> None:
        self.conn = conn
        self.sealer = sealer

    def _seal(self, id_hash: bytes, token: str | None) -> bytes | None:
        assert self.sealer is not None, "session tokens need the sealer"
        return None if token is None else self.sealer.seal(id_hash, token)

    def _opened(self, row: asyncpg.Record | None) -> dict[str, Any] | None:
        if row is None:
            return None
        assert self.sealer is not None, "session tokens need the sealer"
        opened = dict(row)
        for column in ("access_token", "refresh_token"):
            if opened[column] is not None:
                opened[column] = self.sealer.open(row["id_hash"], opened[column])
        return opened

    async def create(
        self,
        id_hash: bytes,
        *,
        subject: str,
        client_id: str,
        scope: str,
        access_token: str,
        refresh_token: str | None,
        access_expires_at: datetime,
        expires_at: datetime,
    ) -> None:
        await self.conn.execute(
            "INSERT INTO session (id_hash, subject, client_id, scope, access_token, refresh_token,"
            " access_expires_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            id_hash,
            subject,
            client_id,
            scope,
            self._seal(id_hash, access_token),
            self._seal(id_hash, refresh_token),
            access_expires_at,
            expires_at,
        )

    async def get(self, id_hash: bytes, *, for_update: bool = False) -> dict[str, Any] | None:
        sql = "SELECT * FROM session WHERE id_hash = $1 AND expires_at > now()"
        return self._opened(await self.conn.fetchrow(sql + (" FOR UPDATE" if for_update else ""), id_hash))

    async def update_tokens(
        self, id_hash: bytes, access_token: str, refresh_token: str | None, access_expires_at: datetime
    ) -> None:
        await self.conn.execute(
            "UPDATE session SET access_token = $2, refresh_token = coalesce($3, refresh_token),"
            " access_expires_at = $4, refreshed_at = now() WHERE id_hash = $1",
            id_hash,
            self._seal(id_hash, access_token),
            self._seal(id_hash, refresh_token),
            access_expires_at,
        )

    async def delete(self, id_hash: bytes) -> dict[str, Any] | None:
        row = await self.conn.fetchrow("DELETE FROM session WHERE id_hash = $1 RETURNING *", id_hash)
        try:
            return self._opened(row)
        except SessionRefused:  # gone all the same; its refresh token cannot be revoked
            return None

    async def prune(self) -> None:
        await self.conn.execute("DELETE FROM session WHERE expires_at < now()")
        await self.conn.execute(
            "DELETE FROM login_state WHERE created_at < now() - make_interval(secs => $1)",
            LOGIN_STATE_SECONDS,
        )

    async def save_login(self, state: str, code_verifier: str, next_path: str) -> None:
        await self.conn.execute(
            "INSERT INTO login_state (state, code_verifier, next_path) VALUES ($1, $2, $3)",
            state,
            code_verifier,
            next_path,
        )

    async def take_login(self, state: str) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self.conn.fetchrow(
            "DELETE FROM login_state WHERE state = $1 AND created_at > now() - make_interval(secs => $2)"
            " RETURNING code_verifier, next_path",
            state,
            LOGIN_STATE_SECONDS,
        )
        return row


def _expiry_of(token: dict[str, Any]) -> datetime:
    if token.get("expires_at"):
        return datetime.fromtimestamp(float(token["expires_at"]), UTC)
    return datetime.now(UTC) + timedelta(seconds=float(token.get("expires_in") or 600))


class SessionManager:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: GatewaySettings,
        endpoints: OAuthEndpoints,
        sealer: TokenSealer | None = None,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.endpoints = endpoints
        self.sealer = sealer or TokenSealer.from_settings(settings)
        self._cache: dict[bytes, SessionTokens] = {}
        self._locks: weakref.WeakValueDictionary[bytes, asyncio.Lock] = weakref.WeakValueDictionary()
        self.refreshes = 0  # refresh calls made to the auth service (observed by tests and health)

    # --- creating and ending ----------------------------------------------------------

    async def create(self, token: dict[str, Any], *, subject: str, client_id: str, scope: str) -> str:
        session_id = secrets.token_urlsafe(32)
        expires_at = datetime.now(UTC) + timedelta(seconds=self.settings.session_lifetime_seconds)
        await SessionStore(self.pool, self.sealer).create(
            hash_session_id(session_id),
            subject=subject,
            client_id=client_id,
            scope=scope,
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
            access_expires_at=_expiry_of(token),
            expires_at=expires_at,
        )
        return session_id

    async def end(self, session_id: str) -> None:
        id_hash = hash_session_id(session_id)
        self._cache.pop(id_hash, None)
        row = await SessionStore(self.pool, self.sealer).delete(id_hash)
        if row is not None and row["refresh_token"]:
            await self._revoke(row["refresh_token"])

    async def _revoke(self, refresh_token: str) -> None:
        try:
            metadata = await self.endpoints.metadata()
            url = metadata.get("revocation_endpoint")
            if url:
                async with self.endpoints.client() as client:
                    await client.revoke_token(
                        self.endpoints.internal(url), token=refresh_token, token_type_hint="refresh_token"
                    )
        except (httpx.HTTPError, OAuthError) as exc:
            log.warning("refresh token revocation failed", error=repr(exc))

    # --- the request path ---------------------------------------------------------------

    async def access_token(self, session_id: str) -> str:
        """The session's current access token, refreshed first when it nears expiry."""
        id_hash = hash_session_id(session_id)
        now = time.time()
        entry = self._cache.get(id_hash)
        if entry is None or now - entry.cached_at > SESSION_CACHE_SECONDS:
            row = await SessionStore(self.pool, self.sealer).get(id_hash)
            if row is None:
                self._cache.pop(id_hash, None)
                raise SessionRefused("no such session (expired or logged out)")
            entry = self._remember(id_hash, row)
        if now > entry.expires_at:
            self._cache.pop(id_hash, None)
            raise SessionRefused("session expired")
        if entry.access_expires_at - now < self.settings.session_refresh_margin_seconds:
            entry = await self._refresh(id_hash)
        return entry.access_token

    def _remember(self, id_hash: bytes, row: dict[str, Any]) -> SessionTokens:
        entry = SessionTokens(
            access_token=row["access_token"],
            access_expires_at=row["access_expires_at"].timestamp(),
            expires_at=row["expires_at"].timestamp(),
            cached_at=time.time(),
        )
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[id_hash] = entry
        return entry

    def _fresh(self, entry: SessionTokens | None) -> bool:
        margin = self.settings.session_refresh_margin_seconds
        return entry is not None and entry.access_expires_at - time.time() >= margin

    async def _refresh(self, id_hash: bytes) -> SessionTokens:
        lock = self._locks.get(id_hash)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[id_hash] = lock
        async with lock:
            entry = self._cache.get(id_hash)
            if self._fresh(entry):  # refreshed by the coroutine that held the lock before us
                assert entry is not None
                return entry
            refused: str | None = None
            async with transaction(self.pool) as conn:
                store = SessionStore(conn, self.sealer)
                row = await store.get(id_hash, for_update=True)
                if row is None:
                    self._cache.pop(id_hash, None)
                    raise SessionRefused("no such session (expired or logged out)")
                entry = self._remember(id_hash, row)
                if self._fresh(entry):  # refreshed by another replica while we waited for the row
                    return entry
                token = None
                if not row["refresh_token"]:
                    refused = "the session's token expired and cannot be refreshed"
                else:
                    try:
                        token = await self._call_refresh(row["refresh_token"])
                    except httpx.HTTPError as exc:
                        if entry.access_expires_at > time.time():  # not expired yet: carry on with it
                            log.warning("session refresh postponed: auth unreachable", error=repr(exc))
                            return entry
                        raise AuthUnavailable(repr(exc)) from exc
                    if token is None:
                        refused = "the auth service refused to refresh the session"
                if token is None:
                    await store.delete(id_hash)  # committed with the transaction, then refused
                else:
                    expires = _expiry_of(token)
                    await store.update_tokens(
                        id_hash, token["access_token"], token.get("refresh_token"), expires
                    )
            if refused is not None or token is None:
                self._cache.pop(id_hash, None)
                raise SessionRefused(refused or "session ended")
            entry = SessionTokens(
                access_token=token["access_token"],
                access_expires_at=expires.timestamp(),
                expires_at=entry.expires_at,
                cached_at=time.time(),
            )
            self._cache[id_hash] = entry
            return entry

    async def _call_refresh(self, refresh_token: str) -> dict[str, Any] | None:
        self.refreshes += 1
        metadata = await self.endpoints.metadata()
        url = self.endpoints.internal(metadata["token_endpoint"])
        try:
            # no scope parameter: the refreshed token keeps the grant's scopes (asking for others,
            # e.g. after a configuration change, is refused by RFC 6749 §6)
            async with self.endpoints.client(scope=None) as client:
                token: dict[str, Any] = dict(await client.refresh_token(url, refresh_token=refresh_token))
        except OAuthError as exc:
            log.info("session refresh refused", error=exc.error)
            return None
        return token
