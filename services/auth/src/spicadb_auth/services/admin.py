"""Administration: clients, accounts, signing keys.

Every change is one transaction holding the change itself, its audit row (who, when, what,
before/after) and its event in the outbox: a refused request leaves none of the three. Secrets
(client secrets, generated passwords) are returned once to the caller and stored only hashed;
they appear in no audit row, event or log line.

What would lock everybody out is refused (409): disabling the clients people sign in through
(the gateway's and the web frontend's), and disabling or demoting the last active admin
(checked under a lock, so two admins removed at once cannot both pass). A disabled client can
be enabled again.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from spicadb_contracts.auth import (
    ClientCreated,
    ClientDisabled,
    ClientEnabled,
    ClientSecretRotated,
    UserCreated,
    UserDisabled,
    UserEnabled,
    UserRolesChanged,
)
from spicadb_kit.db import transaction
from spicadb_kit.errors import FieldError, Problem
from spicadb_kit.events import Outbox
from spicadb_kit.logs import get_logger

from .. import scopes as catalogue
from ..keys import KeyRing, SigningKey
from ..models import GRANT_TYPES, Account, AuditRow, Client, digest, new_secret, now
from ..passwords import Passwords, new_password
from ..problems import (
    CLIENT_DISABLED,
    CLIENT_EXISTS,
    CLIENT_NOT_FOUND,
    INVALID_REQUEST,
    LAST_ADMIN,
    PROTECTED_CLIENT,
    PUBLIC_CLIENT,
    SELF_DISABLE,
    USER_EXISTS,
    USER_NOT_FOUND,
)
from ..storage import AccountStore, AuditStore, ClientStore, GrantStore, SessionStore
from ..storage.audit import AuditKey
from .tokens import Revocations

log = get_logger(__name__)

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

FRONTEND_CLIENT_ID = "spica-frontend"
# the gateway runs the code flow for browsers (session cookie); public: PKCE, and its redirect URI is
# its own callback, so a code can only ever reach the gateway
GATEWAY_CLIENT_ID = "spica-gateway"
# people sign in through these: disabling one would lock everybody out (only SQL would recover)
PROTECTED_CLIENTS = frozenset({FRONTEND_CLIENT_ID, GATEWAY_CLIENT_ID})


@dataclass(frozen=True)
class Actor:
    """Who makes a change: the token's subject and client, or a system component."""

    subject: str
    client_id: str | None = None
    request_id: str | None = None


BOOTSTRAP = Actor("system:bootstrap")


@dataclass
class NewClient:
    client_id: str
    scopes: list[str]
    grant_types: list[str]
    redirect_uris: list[str] = field(default_factory=list)
    name: str = ""
    public: bool = False


@dataclass
class NewUser:
    username: str
    roles: list[str]
    password: str | None = None
    name: str = ""
    email: str = ""
    origin: str = "local"


def client_view(client: Client) -> dict[str, Any]:
    """A client as the admin API and the audit show it (never its secret or its hash)."""
    return {
        "client_id": client.client_id,
        "name": client.name,
        "public": client.public,
        "scopes": list(client.scopes),
        "grant_types": list(client.grant_types),
        "redirect_uris": list(client.redirect_uris),
        "disabled": client.disabled,
    }


def account_view(account: Account) -> dict[str, Any]:
    return {
        "username": account.username,
        "roles": list(account.roles),
        "name": account.name,
        "email": account.email,
        "origin": account.origin,
        "disabled": account.disabled,
    }


def _invalid(detail: str, errors: list[FieldError]) -> Problem:
    return INVALID_REQUEST(detail, errors=errors)


def validate_redirect_uri(uri: str) -> str | None:
    """Why a redirect URI cannot be registered (None: it can): https, or http on a loopback
    address (RFC 8252), absolute, without a fragment."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "not a URL"
    if parts.fragment or "#" in uri:
        return "must not contain a fragment"
    if not parts.hostname:
        return "must be an absolute URL"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http":
        host = parts.hostname
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        return None if loopback else "http is only allowed on a loopback address; use https"
    return "scheme must be https (or http on a loopback address)"


def check_client(new: NewClient) -> None:
    errors: list[FieldError] = []
    if not NAME.match(new.client_id):
        errors.append(
            FieldError("body.client_id", "lower-case letters, digits, '.', '_' or '-' (64 at most)")
        )
    if unknown := catalogue.unknown_scopes(new.scopes):
        errors.append(FieldError("body.scopes", f"unknown scope(s): {' '.join(unknown)}"))
    if not new.scopes:
        errors.append(FieldError("body.scopes", "a client needs at least one scope"))
    if bad := sorted(set(new.grant_types) - set(GRANT_TYPES)):
        errors.append(FieldError("body.grant_types", f"unknown grant type(s): {' '.join(bad)}"))
    if not new.grant_types:
        errors.append(FieldError("body.grant_types", "a client needs at least one grant type"))
    if new.public and "client_credentials" in new.grant_types:
        errors.append(FieldError("body.grant_types", "a public client cannot use client_credentials"))
    if new.public and "authorization_code" not in new.grant_types:
        errors.append(FieldError("body.grant_types", "a public client signs people in: authorization_code"))
    if "authorization_code" in new.grant_types and not new.redirect_uris:
        errors.append(FieldError("body.redirect_uris", "the authorization_code grant needs a redirect URI"))
    for i, uri in enumerate(new.redirect_uris):
        if reason := validate_redirect_uri(uri):
            errors.append(FieldError(f"body.redirect_uris[{i}]", reason))
    if errors:
        raise _invalid("the client cannot be registered as described", errors)


def check_user(new: NewUser) -> None:
    errors: list[FieldError] = []
    if not NAME.match(new.username):
        errors.append(FieldError("body.username", "lower-case letters, digits, '.', '_' or '-' (64 at most)"))
    if unknown := catalogue.unknown_roles(new.roles):
        errors.append(FieldError("body.roles", f"unknown role(s): {' '.join(unknown)}"))
    if new.password is not None and len(new.password) < 12:
        errors.append(FieldError("body.password", "at least 12 characters"))
    if errors:
        raise _invalid("the account cannot be created as described", errors)


class Changes:
    """The changes themselves, inside a transaction the caller holds (the admin API opens one
    per request; the bootstrap and the upstream login one for several)."""

    def __init__(self, conn: asyncpg.Connection, outbox: Outbox, actor: Actor) -> None:
        self.conn = conn
        self.outbox = outbox
        self.revocations = Revocations(outbox)
        self.actor = actor

    async def record_audit(
        self, action: str, target_type: str, target_id: str, before: Any, after: Any
    ) -> None:
        await AuditStore(self.conn).add(
            actor=self.actor.subject,
            actor_client=self.actor.client_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            before=before,
            after=after,
            request_id=self.actor.request_id,
        )

    async def create_client(self, new: NewClient, secret: str | None = None) -> tuple[Client, str | None]:
        """``secret``: the operator's (a supplied first-start secret), else a new random one."""
        check_client(new)
        secret = None if new.public else (secret or new_secret())
        client = Client(
            client_id=new.client_id,
            name=new.name,
            secret_hash=digest(secret) if secret else None,
            scopes=tuple(catalogue.ordered(new.scopes)),
            grant_types=tuple(g for g in GRANT_TYPES if g in new.grant_types),
            redirect_uris=tuple(dict.fromkeys(new.redirect_uris)),
        )
        if not await ClientStore(self.conn).insert(client):
            raise CLIENT_EXISTS(f"a client {new.client_id} exists already")
        await self.record_audit("client.create", "client", client.client_id, None, client_view(client))
        event = ClientCreated(
            client_id=client.client_id,
            scopes=list(client.scopes),
            grant_types=list(client.grant_types),
            redirect_uris=list(client.redirect_uris),
            public=client.public,
            created_by=self.actor.subject,
            created_at=now(),
        )
        await self.outbox.add(self.conn, event, aggregate_id=client.client_id)
        return client, secret

    async def _client(self, client_id: str) -> Client:
        client = await ClientStore(self.conn).get(client_id, for_update=True)
        if client is None:
            raise CLIENT_NOT_FOUND(f"no client {client_id}")
        return client

    async def rotate_client_secret(self, client_id: str) -> tuple[Client, str]:
        client = await self._client(client_id)
        if client.public:
            raise PUBLIC_CLIENT(f"{client_id} is a public client: it has no secret")
        if client.disabled:
            raise CLIENT_DISABLED(f"{client_id} is disabled")
        secret = new_secret()
        at = now()
        await ClientStore(self.conn).set_secret_hash(client_id, digest(secret), at)
        await self.record_audit(
            "client.rotate_secret",
            "client",
            client_id,
            {"secret_rotated_at": client.secret_rotated_at.isoformat() if client.secret_rotated_at else None},
            {"secret_rotated_at": at.isoformat()},
        )
        event = ClientSecretRotated(client_id=client_id, rotated_by=self.actor.subject, rotated_at=at)
        await self.outbox.add(self.conn, event, aggregate_id=client_id)
        return client, secret

    async def disable_client(self, client_id: str) -> Client:
        if client_id in PROTECTED_CLIENTS:
            await self._client(client_id)  # 404 first when it does not exist
            raise PROTECTED_CLIENT(
                f"{client_id} is the client people sign in through; it cannot be disabled",
            )
        client = await self._client(client_id)
        if client.disabled:
            return client
        at = now()
        await ClientStore(self.conn).disable(client_id, at)
        # what it holds stops working too: refresh tokens, and access tokens still alive
        grants = GrantStore(self.conn)
        for token in await grants.live_access_tokens(client_id=client_id):
            await self.revocations.access_token(
                self.conn,
                jti=token.jti,
                exp=int(token.expires_at.timestamp()),
                reason="client_disabled",
                sub=token.subject,
                client_id=client_id,
            )
        await grants.revoke_refresh_of_client(client_id)
        after = await ClientStore(self.conn).get(client_id)
        assert after is not None
        await self.record_audit(
            "client.disable", "client", client_id, client_view(client), client_view(after)
        )
        event = ClientDisabled(client_id=client_id, disabled_by=self.actor.subject, disabled_at=at)
        await self.outbox.add(self.conn, event, aggregate_id=client_id)
        return after

    async def enable_client(self, client_id: str) -> Client:
        client = await self._client(client_id)
        if not client.disabled:
            return client
        await ClientStore(self.conn).enable(client_id)
        after = await ClientStore(self.conn).get(client_id)
        assert after is not None
        await self.record_audit("client.enable", "client", client_id, client_view(client), client_view(after))
        event = ClientEnabled(client_id=client_id, enabled_by=self.actor.subject, enabled_at=now())
        await self.outbox.add(self.conn, event, aggregate_id=client_id)
        return after

    async def create_user(self, new: NewUser, password_hash: str | None) -> Account:
        check_user(new)
        account = Account(
            username=new.username,
            roles=tuple(sorted(set(new.roles))),
            name=new.name,
            email=new.email,
            origin=new.origin,
            password_hash=password_hash,
        )
        if not await AccountStore(self.conn).insert(account):
            raise USER_EXISTS(f"an account {new.username} exists already")
        await self.record_audit("user.create", "user", account.username, None, account_view(account))
        event = UserCreated(
            username=account.username,
            roles=list(account.roles),
            created_by=self.actor.subject,
            created_at=now(),
            origin=account.origin,
        )
        await self.outbox.add(self.conn, event, aggregate_id=account.username)
        return account

    async def _keep_an_admin(self, account: Account, change: str) -> None:
        """Refuse a change that takes away the last active admin (the caller holds lock_admins)."""
        if "admin" not in account.roles or account.disabled:
            return
        if await AccountStore(self.conn).active_admins() == (account.username,):
            raise LAST_ADMIN(
                f"{account.username} is the last active admin: it cannot be {change}; make another admin first",
            )

    async def _account(self, username: str) -> Account:
        account = await AccountStore(self.conn).get(username, for_update=True)
        if account is None:
            raise USER_NOT_FOUND(f"no account {username}")
        return account

    async def set_roles(self, username: str, roles: list[str]) -> Account:
        if unknown := catalogue.unknown_roles(roles):
            raise _invalid(
                "unknown roles", [FieldError("body.roles", f"unknown role(s): {' '.join(unknown)}")]
            )
        await AccountStore(self.conn).lock_admins()
        account = await self._account(username)
        wanted = sorted(set(roles))
        if list(account.roles) == wanted:
            return account
        if "admin" not in wanted:
            await self._keep_an_admin(account, "demoted")
        await AccountStore(self.conn).set_roles(username, wanted)
        after = await AccountStore(self.conn).get(username)
        assert after is not None
        await self.record_audit(
            "user.set_roles", "user", username, account_view(account), account_view(after)
        )
        event = UserRolesChanged(
            username=username,
            roles_before=list(account.roles),
            roles_after=wanted,
            changed_by=self.actor.subject,
            changed_at=now(),
        )
        await self.outbox.add(self.conn, event, aggregate_id=username)
        return after

    async def disable_user(self, username: str) -> Account:
        await AccountStore(self.conn).lock_admins()
        account = await self._account(username)
        if account.disabled:
            return account
        if username == self.actor.subject:
            raise SELF_DISABLE("you cannot disable your own account")
        await self._keep_an_admin(account, "disabled")
        at = now()
        await AccountStore(self.conn).disable(username, at)
        await SessionStore(self.conn).close_all(username)
        await self.revocations.person(self.conn, username, "user_disabled")
        after = await AccountStore(self.conn).get(username)
        assert after is not None
        await self.record_audit("user.disable", "user", username, account_view(account), account_view(after))
        event = UserDisabled(username=username, disabled_by=self.actor.subject, disabled_at=at)
        await self.outbox.add(self.conn, event, aggregate_id=username)
        return after

    async def enable_user(self, username: str) -> Account:
        account = await self._account(username)
        if not account.disabled:
            return account
        await AccountStore(self.conn).enable(username)
        after = await AccountStore(self.conn).get(username)
        assert after is not None
        await self.record_audit("user.enable", "user", username, account_view(account), account_view(after))
        event = UserEnabled(username=username, enabled_by=self.actor.subject, enabled_at=now())
        await self.outbox.add(self.conn, event, aggregate_id=username)
        return after


class AdminService:
    """The admin API's entry points: one transaction per change; reads see committed state."""

    def __init__(
        self, pool: asyncpg.Pool, outbox: Outbox, passwords: Passwords, keyring: KeyRing, actor: Actor
    ) -> None:
        self.pool = pool
        self.outbox = outbox
        self.passwords = passwords
        self.keyring = keyring
        self.actor = actor

    def _changes(self, conn: asyncpg.Connection) -> Changes:
        return Changes(conn, self.outbox, self.actor)

    # --- reading ------------------------------------------------------------------------------

    async def clients(self) -> list[Client]:
        async with self.pool.acquire() as conn:
            return await ClientStore(conn).list()

    async def client(self, client_id: str) -> Client:
        async with self.pool.acquire() as conn:
            client = await ClientStore(conn).get(client_id)
        if client is None:
            raise CLIENT_NOT_FOUND(f"no client {client_id}")
        return client

    async def users(self) -> list[Account]:
        async with self.pool.acquire() as conn:
            return await AccountStore(conn).list()

    async def user(self, username: str) -> Account:
        async with self.pool.acquire() as conn:
            account = await AccountStore(conn).get(username)
        if account is None:
            raise USER_NOT_FOUND(f"no account {username}")
        return account

    async def audit(
        self, limit: int, target_type: str | None, target_id: str | None, after: AuditKey | None = None
    ) -> list[AuditRow]:
        """The most recent changes first, ``limit`` of them after ``after``."""
        async with self.pool.acquire() as conn:
            return await AuditStore(conn).recent(limit, target_type, target_id, after)

    async def keys(self) -> tuple[SigningKey, ...]:
        """The signing keys as the database has them now."""
        await self.keyring.load(self.pool)
        return self.keyring.keys

    def signs_from(self, key: SigningKey) -> datetime:
        """When a next key starts signing."""
        return self.keyring.signs_from(key)

    # --- changing -----------------------------------------------------------------------------

    async def create_client(self, new: NewClient) -> tuple[Client, str | None]:
        check_client(new)  # before the transaction: a bad request never opens one
        async with transaction(self.pool) as conn:
            result = await self._changes(conn).create_client(new)
        log.info("client created", client_id=new.client_id, by=self.actor.subject)
        return result

    async def rotate_client_secret(self, client_id: str) -> tuple[Client, str]:
        async with transaction(self.pool) as conn:
            result = await self._changes(conn).rotate_client_secret(client_id)
        log.info("client secret rotated", client_id=client_id, by=self.actor.subject)
        return result

    async def disable_client(self, client_id: str) -> Client:
        async with transaction(self.pool) as conn:
            client = await self._changes(conn).disable_client(client_id)
        log.info("client disabled", client_id=client_id, by=self.actor.subject)
        return client

    async def enable_client(self, client_id: str) -> Client:
        async with transaction(self.pool) as conn:
            client = await self._changes(conn).enable_client(client_id)
        log.info("client enabled", client_id=client_id, by=self.actor.subject)
        return client

    async def create_user(self, new: NewUser) -> tuple[Account, str | None]:
        check_user(new)
        generated = new_password() if new.password is None else None
        password_hash = await self.passwords.hash(new.password or generated or "")
        async with transaction(self.pool) as conn:
            account = await self._changes(conn).create_user(new, password_hash)
        log.info("account created", username=new.username, by=self.actor.subject)
        return account, generated

    async def set_roles(self, username: str, roles: list[str]) -> Account:
        async with transaction(self.pool) as conn:
            return await self._changes(conn).set_roles(username, roles)

    async def disable_user(self, username: str) -> Account:
        async with transaction(self.pool) as conn:
            account = await self._changes(conn).disable_user(username)
        log.info("account disabled", username=username, by=self.actor.subject)
        return account

    async def enable_user(self, username: str) -> Account:
        async with transaction(self.pool) as conn:
            account = await self._changes(conn).enable_user(username)
        log.info("account enabled", username=username, by=self.actor.subject)
        return account

    async def rotate_keys(self) -> tuple[SigningKey, bool]:
        """A next key (created unless one is waiting already: then ``created`` is False)."""
        async with transaction(self.pool) as conn:
            key, created = await self.keyring.prepare_next(conn)
            if created:
                after = {
                    "kid": key.kid,
                    "alg": key.alg,
                    "state": key.state,
                    "signs_from": self.signs_from(key).isoformat(),
                }
                await self._changes(conn).record_audit("keys.rotate", "signing_key", key.kid, None, after)
        await self.keyring.load(self.pool)
        return key, created


__all__ = [
    "BOOTSTRAP",
    "FRONTEND_CLIENT_ID",
    "GATEWAY_CLIENT_ID",
    "PROTECTED_CLIENTS",
    "Actor",
    "AdminService",
    "Changes",
    "NewClient",
    "NewUser",
    "account_view",
    "client_view",
]
