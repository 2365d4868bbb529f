"""Events of the auth service: people, clients and tokens.

Consumers use them to keep read models (who exists, with which roles) and to deny revoked
access tokens before they expire (``auth.token.revoked``). No event ever carries a secret, a
password or a hash of one: only identifiers, scopes, roles, who did it and when.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from .base import Event, event
from .bounds import FEW_ITEMS, REDIRECT_URIS, Identifier, Keyword, Url


@event(
    "auth.user.created",
    version=1,
    summary="A person's account was created (by an admin, the bootstrap or a first upstream login).",
)
class UserCreated(Event, frozen=True):  # repeated for mypy, which does not inherit a Struct's frozen flag
    username: Identifier
    roles: Annotated[list[Identifier], Meta(max_length=FEW_ITEMS)]
    created_by: Identifier
    created_at: datetime
    # "local" (password on this service) or "upstream" (delegated to the institute's OpenID provider)
    origin: Keyword = "local"


@event("auth.user.roles_changed", version=1, summary="The roles of an account were replaced.")
class UserRolesChanged(Event, frozen=True):
    username: Identifier
    roles_before: Annotated[list[Identifier], Meta(max_length=FEW_ITEMS)]
    roles_after: Annotated[list[Identifier], Meta(max_length=FEW_ITEMS)]
    changed_by: Identifier
    changed_at: datetime


@event(
    "auth.user.disabled",
    version=1,
    summary="An account was disabled: it can no longer sign in or refresh tokens.",
)
class UserDisabled(Event, frozen=True):
    username: Identifier
    disabled_by: Identifier
    disabled_at: datetime


@event(
    "auth.user.enabled",
    version=1,
    summary="A disabled account was enabled: it can sign in again (its ended sessions and revoked tokens stay so).",
)
class UserEnabled(Event, frozen=True):
    username: Identifier
    enabled_by: Identifier
    enabled_at: datetime


@event(
    "auth.client.created", version=1, summary="An OAuth client (a robot or an application) was registered."
)
class ClientCreated(Event, frozen=True):
    client_id: Identifier
    scopes: Annotated[list[Identifier], Meta(max_length=FEW_ITEMS)]
    grant_types: Annotated[list[Keyword], Meta(max_length=FEW_ITEMS)]
    created_by: Identifier
    created_at: datetime
    redirect_uris: Annotated[list[Url], Meta(max_length=REDIRECT_URIS)] = msgspec.field(default_factory=list)
    # a public client has no secret and must use PKCE
    public: bool = False


@event(
    "auth.client.secret_rotated",
    version=1,
    summary="A client's secret was replaced; the old one no longer works.",
)
class ClientSecretRotated(Event, frozen=True):
    client_id: Identifier
    rotated_by: Identifier
    rotated_at: datetime


@event("auth.client.disabled", version=1, summary="A client was disabled: it can no longer obtain tokens.")
class ClientDisabled(Event, frozen=True):
    client_id: Identifier
    disabled_by: Identifier
    disabled_at: datetime


@event("auth.client.enabled", version=1, summary="A disabled client was enabled: it can obtain tokens again.")
class ClientEnabled(Event, frozen=True):
    client_id: Identifier
    enabled_by: Identifier
    enabled_at: datetime


@event(
    "auth.token.revoked",
    version=1,
    summary="An access token was revoked before it expired; deny its jti until exp.",
)
class TokenRevoked(Event, frozen=True):
    # the token's ``jti`` claim
    jti: Identifier
    # the token's ``exp`` claim (seconds since the epoch): after it, forget the jti
    exp: int
    revoked_at: datetime
    # "revocation" (RFC 7009 request), "refresh_reuse" (its refresh family was replayed),
    # "code_reuse" (its authorization code was replayed), "user_disabled"
    reason: Keyword = "revocation"
    # the token's ``sub`` claim (a user name, or a client id for robots)
    sub: Identifier = ""
    client_id: Identifier = ""
