"""Signing in on the login page: password check, throttling, browser sessions, CSRF.

Throttling (OWASP's per-account throttling with per-source keys): failures are counted per
(user name, client address). ``login_max_failures`` of them within
``login_failure_window_seconds`` refuse that address for that account with 429 and
``Retry-After`` *before* the password is looked at (a right password does not help a throttled
attacker), while the account's owner, elsewhere, still signs in. ``login_max_failures_per_address``
failures of one address over every user name refuse that address (password spraying). An
account failing from many addresses is slowed down, not locked: beyond
``login_delay_after_failures`` failures every attempt on it waits, doubling, up to
``login_max_delay_seconds``. A successful sign-in clears the failures of its (user name,
address). The client address is the peer, or what a trusted proxy in front of it saw
(addresses.py); an IPv6 address counts as its /64.

A browser session is a random value (the handlers put it in a cookie, handlers/browser.py) of
which only the digest is kept.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from spicadb_kit.db import transaction
from spicadb_kit.logs import get_logger
from spicadb_kit.redirects import safe_next

from ..addresses import throttling_key
from ..config import AuthSettings
from ..models import Account, digest
from ..passwords import Passwords
from ..storage import AccountStore, ClientStore, SessionStore

log = get_logger(__name__)


@dataclass
class LoginRefused(Exception):
    status: int
    message: str
    retry_after: int | None = None


@dataclass(frozen=True)
class Session:
    account: Account
    auth_time: datetime


class LoginService:
    def __init__(self, pool: asyncpg.Pool, passwords: Passwords, settings: AuthSettings) -> None:
        self.pool = pool
        self.passwords = passwords
        self.settings = settings

    # --- passwords and throttling -------------------------------------------------------------

    async def authenticate(self, username: str, password: str, address: str) -> Account:
        s = self.settings
        username = username.strip().lower()
        source = throttling_key(address)
        async with self.pool.acquire() as conn:
            store = SessionStore(conn)
            window = s.login_failure_window_seconds
            blocked = [
                await store.blocked_until(s.login_max_failures, window, address=source, username=username),
                await store.blocked_until(s.login_max_failures_per_address, window, address=source),
            ]
            until = max((b for b in blocked if b is not None), default=None)
            if until is not None:
                retry_after = max(1, math.ceil((until - datetime.now(UTC)).total_seconds()))
                log.warning("sign-in throttled", username=username, address=source, retry_after=retry_after)
                raise LoginRefused(429, "Too many failed sign-in attempts. Try again later.", retry_after)
            failures = await store.recent_failures(username, window, s.login_delay_after_failures + 32)
            account = await AccountStore(conn).get(username)
        if delay := attempt_delay(s, failures):
            # an account under attack from many addresses: slowed down, not locked (no connection held)
            log.warning("sign-in delayed", username=username, address=source, seconds=delay)
            await asyncio.sleep(delay)
        ok = await self.passwords.verify(account.password_hash if account else None, password)
        if account is None or not ok:
            async with self.pool.acquire() as conn:
                await SessionStore(conn).record_failure(username, source)
            log.info("sign-in failed", username=username, address=source)
            raise LoginRefused(401, "Wrong user name or password.")
        if account.disabled:
            log.info("sign-in refused: account disabled", username=username)
            raise LoginRefused(403, "This account is disabled.")
        async with transaction(self.pool) as conn:
            await SessionStore(conn).clear_failures(username, source)
            if account.password_hash and self.passwords.needs_rehash(account.password_hash):
                await AccountStore(conn).set_password_hash(username, await self.passwords.hash(password))
        return account

    # --- browser sessions ---------------------------------------------------------------------

    async def open_session(self, account: Account, method: str = "pwd") -> tuple[str, datetime]:
        """A new browser session of this account: its value (for the cookie) and when the person
        signed in."""
        value = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + timedelta(seconds=self.settings.session_lifetime)
        async with self.pool.acquire() as conn:
            auth_time = await SessionStore(conn).open(digest(value), account.username, expires, method)
        log.info("signed in", username=account.username, method=method)
        return value, auth_time

    async def session(self, value: str | None) -> Session | None:
        if not value:
            return None
        async with self.pool.acquire() as conn:
            found = await SessionStore(conn).account(digest(value))
        if found is None or found[0].disabled:
            return None
        return Session(account=found[0], auth_time=found[1])

    async def close_session(self, value: str | None) -> None:
        if value:
            async with self.pool.acquire() as conn:
                await SessionStore(conn).close(digest(value))

    async def after_logout(self, client_id: str | None, target: str | None) -> str | None:
        """Where an RP-initiated logout may send the browser (None: nowhere it asked): a path on
        this origin (the kit's safe_next rule, also written as an absolute URL of the issuer's
        origin), or exactly one of the named active client's registered redirect URIs."""
        if not target:
            return None
        issuer = urlsplit(self.settings.issuer)
        parts = urlsplit(target)
        if (parts.scheme, parts.netloc) == (issuer.scheme, issuer.netloc):
            local = urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))
            return local if safe_next(local, "") == local else None
        if not parts.scheme and not parts.netloc:
            checked = safe_next(target, "")
            return checked or None
        if client_id:
            async with self.pool.acquire() as conn:
                client = await ClientStore(conn).active(client_id)
            if client is not None and client.check_redirect_uri(target):
                return target
        return None


def attempt_delay(settings: AuthSettings, failures: int) -> float:
    """Seconds an attempt waits after ``failures`` failures of its account (every address)."""
    beyond = failures - settings.login_delay_after_failures
    if beyond < 0:
        return 0.0
    return float(min(settings.login_max_delay_seconds, 0.25 * 2 ** min(beyond, 16)))
