"""Signing in on the login page: password check, throttling, browser sessions, CSRF.

Throttling: at most ``login_max_failures`` failed attempts per user name and
``login_max_failures_per_address`` per client address within ``login_failure_window_seconds``;
beyond, every attempt is refused with 429 and ``Retry-After`` *before* the password is looked
at (so a right password does not help an attacker who is throttled). A successful sign-in
clears the failures of that user name. The client address is the one uvicorn reports, i.e.
the first ``X-Forwarded-For`` hop set by the gateway.

CSRF: the login form carries a random token that must equal the one in a ``SameSite=Strict``,
HttpOnly cookie set with the form (double submit; the cookie is ``__Host-`` prefixed over
https, so a sibling subdomain cannot plant one); a browser's ``Origin``, when sent, must be the
issuer's.
"""

from __future__ import annotations

import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from litestar.datastructures import Cookie

from spicadb_kit.db import transaction
from spicadb_kit.logs import get_logger

from ..models import Account, digest
from ..storage import AccountStore, SessionStore

if TYPE_CHECKING:
    from ..runtime import AuthRuntime

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
    def __init__(self, runtime: AuthRuntime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        prefix = "__Host-" if self.settings.secure_cookies else ""
        self.session_cookie = f"{prefix}spicadb_session"
        self.csrf_cookie = f"{prefix}spicadb_csrf"
        self.upstream_cookie = f"{prefix}spicadb_upstream"

    # --- passwords and throttling -------------------------------------------------------------

    async def authenticate(self, username: str, password: str, address: str) -> Account:
        s = self.settings
        username = username.strip().lower()
        async with self.runtime.db.acquire() as conn:
            store = SessionStore(conn)
            blocked = [
                await store.blocked_until(
                    "username", username, s.login_max_failures, s.login_failure_window_seconds
                ),
                await store.blocked_until(
                    "address", address, s.login_max_failures_per_address, s.login_failure_window_seconds
                ),
            ]
            until = max((b for b in blocked if b is not None), default=None)
            if until is not None:
                retry_after = max(1, math.ceil((until - datetime.now(UTC)).total_seconds()))
                log.warning("sign-in throttled", username=username, address=address, retry_after=retry_after)
                raise LoginRefused(429, "Too many failed sign-in attempts. Try again later.", retry_after)
            account = await AccountStore(conn).get(username)
        ok = await self.runtime.passwords.verify(account.password_hash if account else None, password)
        if account is None or not ok:
            async with self.runtime.db.acquire() as conn:
                await SessionStore(conn).record_failure(username, address)
            log.info("sign-in failed", username=username, address=address)
            raise LoginRefused(401, "Wrong user name or password.")
        if account.disabled:
            log.info("sign-in refused: account disabled", username=username)
            raise LoginRefused(403, "This account is disabled.")
        async with transaction(self.runtime.db) as conn:
            await SessionStore(conn).clear_failures(username)
            if account.password_hash and self.runtime.passwords.needs_rehash(account.password_hash):
                await AccountStore(conn).set_password_hash(
                    username, await self.runtime.passwords.hash(password)
                )
        return account

    # --- browser sessions ---------------------------------------------------------------------

    async def open_session(self, account: Account, method: str = "pwd") -> tuple[Cookie, datetime]:
        value = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + timedelta(seconds=self.settings.session_lifetime)
        async with self.runtime.db.acquire() as conn:
            auth_time = await SessionStore(conn).open(digest(value), account.username, expires, method)
        log.info("signed in", username=account.username, method=method)
        return self.cookie(
            self.session_cookie, value, self.settings.session_lifetime, samesite="lax"
        ), auth_time

    async def session(self, value: str | None) -> Session | None:
        if not value:
            return None
        async with self.runtime.db.acquire() as conn:
            found = await SessionStore(conn).account(digest(value))
        if found is None or found[0].disabled:
            return None
        return Session(account=found[0], auth_time=found[1])

    async def close_session(self, value: str | None) -> None:
        if value:
            async with self.runtime.db.acquire() as conn:
                await SessionStore(conn).close(digest(value))

    # --- cookies and CSRF ---------------------------------------------------------------------

    def cookie(self, key: str, value: str, max_age: int | None, samesite: str = "strict") -> Cookie:
        return Cookie(
            key=key,
            value=value,
            path="/",
            max_age=max_age,
            httponly=True,
            secure=self.settings.secure_cookies,
            samesite=samesite,  # type: ignore[arg-type]
        )

    def expired_cookie(self, key: str) -> Cookie:
        return self.cookie(key, "", 0)

    def new_csrf(self) -> tuple[str, Cookie]:
        token = secrets.token_urlsafe(32)
        return token, self.cookie(self.csrf_cookie, token, 3600)

    def csrf_ok(self, cookie: str | None, submitted: str | None, origin: str | None) -> bool:
        if origin and origin != "null" and _origin(origin) != _origin(self.settings.issuer):
            return False
        return bool(cookie and submitted and hmac.compare_digest(cookie, submitted))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
