"""Login delegated to the upstream OpenID provider.

``start`` remembers (state digest -> PKCE verifier, nonce, where to go next) and sends the
browser to the provider; ``finish`` takes that record back once (a state works once, for ten
minutes, and must match the cookie set with the redirect), exchanges the code, checks the ID
token, and maps the provider's subject to a local account: the one linked to it, or a new
one on the first login, named after the provider's ``preferred_username`` (or e-mail) and
given ``upstream_default_roles``. A disabled local account is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg

from spicadb_kit.db import transaction
from spicadb_kit.events import Outbox
from spicadb_kit.logs import get_logger
from spicadb_kit.redirects import safe_next

from ..models import LOGIN_PAGE, Account, digest, now
from ..storage import AccountStore, SessionStore
from ..upstream import UpstreamProvider
from .admin import Actor, Changes, NewUser

log = get_logger(__name__)

STATE_LIFETIME = timedelta(minutes=10)
_NOT_NAME = re.compile(r"[^a-z0-9._-]+")


class DelegationFailed(Exception):
    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Started:
    url: str
    state: str


def username_candidate(claims: dict[str, Any]) -> str:
    raw = str(claims.get("preferred_username") or str(claims.get("email", "")).split("@")[0] or "user")
    name = _NOT_NAME.sub("-", raw.lower()).strip("-._")[:56]
    return name or "user"


class Delegation:
    def __init__(
        self, pool: asyncpg.Pool, outbox: Outbox, upstream: UpstreamProvider | None, default_roles: list[str]
    ) -> None:
        """``upstream``: None when no provider is configured (every step then answers 404);
        ``default_roles``: of an account created on its first upstream sign-in."""
        self.pool = pool
        self.outbox = outbox
        self._upstream = upstream
        self.default_roles = default_roles

    @property
    def upstream(self) -> UpstreamProvider:
        if self._upstream is None:
            raise DelegationFailed("sign-in through an upstream provider is not configured", 404)
        return self._upstream

    async def start(self, next_url: str | None) -> Started:
        found = await self.upstream.start()
        async with self.pool.acquire() as conn:
            await SessionStore(conn).start_upstream(
                digest(found["state"]),
                found["code_verifier"],
                found["nonce"],
                safe_next(next_url, LOGIN_PAGE),
                now() + STATE_LIFETIME,
            )
        return Started(url=found["url"], state=found["state"])

    async def finish(self, code: str, state: str, state_cookie: str | None) -> tuple[Account, str]:
        upstream = self.upstream  # 404 first when there is none
        if not state_cookie or state_cookie != state:
            raise DelegationFailed("this sign-in was not started from this browser", 400)
        async with self.pool.acquire() as conn:
            pending = await SessionStore(conn).take_upstream(digest(state))
        if pending is None:
            raise DelegationFailed("this sign-in expired or was already completed; start again", 400)
        try:
            claims = await upstream.finish(code, pending["code_verifier"], pending["nonce"])
        except Exception as exc:
            log.warning("upstream sign-in failed", issuer=upstream.issuer, error=repr(exc))
            raise DelegationFailed("the sign-in provider did not confirm who you are") from exc
        account = await self._local_account(claims)
        if account.disabled:
            raise DelegationFailed("This account is disabled.", 403)
        return account, pending["next_url"]

    async def _local_account(self, claims: dict[str, Any]) -> Account:
        issuer, subject = self.upstream.issuer, str(claims["sub"])
        async with transaction(self.pool) as conn:
            accounts = AccountStore(conn)
            await accounts.lock_upstream_identity(issuer, subject)
            linked = await accounts.by_upstream(issuer, subject)
            if linked is not None:
                return linked
            base = username_candidate(claims)
            username, n = base, 1
            while await accounts.exists(username):
                n += 1
                username = f"{base}-{n}"
            new = NewUser(
                username=username,
                roles=self.default_roles,
                name=str(claims.get("name", "")),
                email=str(claims.get("email", "")),
                origin="upstream",
            )
            actor = Actor(f"upstream:{issuer}")
            account = await Changes(conn, self.outbox, actor).create_user(new, password_hash=None)
            await accounts.link_upstream(issuer, subject, username)
        log.info("account created on first upstream sign-in", username=username, issuer=issuer)
        return account
