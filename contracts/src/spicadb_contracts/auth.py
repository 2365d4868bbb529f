"""Events of the auth service: people, clients and tokens.

Consumers use them to keep read models (who exists, with which roles) and to deny revoked
access tokens before they expire (``auth.token.revoked``). No event ever carries a secret, a
password or a hash of one: only identifiers, scopes, roles, who did it and when.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from .base import Event, event


@event(
    "auth.user.created",
    version=1,
    summary="A person's account was created (by an admin, the bootstrap or a first upstream login).",
)
class UserCreated(Event, frozen=True):  # repeated for mypy, which does not inherit a Struct's frozen flag
    username: str
    roles: list[str]
    created_by: str
    created_at: datetime
    # "local" (password on this service) or "upstream" (delegated to the institute's OpenID provider)
    origin: str = "local"


@event("auth.user.roles_changed", version=1, summary="The roles of an account were replaced.")
class UserRolesChanged(Event, frozen=True):
    username: str
    roles_before: list[str]
    roles_after: list[str]
    changed_by: str
    changed_at: datetime


@event(
    "auth.user.disabled",
    version=1,
    summary="An account was disabled: it can no longer sign in or refresh tokens.",
)
class UserDisabled(Event, frozen=True):
    username: str
    disabled_by: str
    disabled_at: datetime


@event(
    "auth.client.created", version=1, summary="An OAuth client (a robot or an application) was registered."
)
class ClientCreated(Event, frozen=True):
    client_id: str
    scopes: list[str]
    grant_types: list[str]
    created_by: str
    created_at: datetime
    redirect_uris: list[str] = msgspec.field(default_factory=list)
    # a public client has no secret and must use PKCE
    public: bool = False


@event(
    "auth.client.secret_rotated",
    version=1,
    summary="A client's secret was replaced; the old one no longer works.",
)
class ClientSecretRotated(Event, frozen=True):
    client_id: str
    rotated_by: str
    rotated_at: datetime


@event("auth.client.disabled", version=1, summary="A client was disabled: it can no longer obtain tokens.")
class ClientDisabled(Event, frozen=True):
    client_id: str
    disabled_by: str
    disabled_at: datetime


@event(
    "auth.token.revoked",
    version=1,
    summary="An access token was revoked before it expired; deny its jti until exp.",
)
class TokenRevoked(Event, frozen=True):
    # the token's ``jti`` claim
    jti: str
    # the token's ``exp`` claim (seconds since the epoch): after it, forget the jti
    exp: int
    revoked_at: datetime
    # "revocation" (RFC 7009 request), "refresh_reuse" (its refresh family was replayed),
    # "code_reuse" (its authorization code was replayed), "user_disabled"
    reason: str = "revocation"
    # the token's ``sub`` claim (a user name, or a client id for robots)
    sub: str = ""
    client_id: str = ""
