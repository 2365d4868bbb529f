"""What authlib's server reads: accounts, clients, authorization codes and tokens, as plain
records with the authlib mixin methods (``ClientMixin``, ``AuthorizationCodeMixin``,
``TokenMixin``). Loaded whole from storage, so authlib's synchronous checks never touch I/O."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oidc.core import AuthorizationCodeMixin

from . import scopes as catalogue

# where a browser lands when the target it asked for after signing in is refused
LOGIN_PAGE = "/login"

GRANT_TYPES = ("authorization_code", "client_credentials", "refresh_token")
CONFIDENTIAL_METHODS = ("client_secret_basic", "client_secret_post")


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy random secret (client secrets, refresh tokens, codes, session
    ids). A slow password hash adds nothing for 256-bit random values but latency on every
    token request; people's passwords use argon2 (passwords.py)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def now() -> datetime:
    return datetime.now(UTC)


class AuditRow(msgspec.Struct, frozen=True):
    """One change of the audit trail: who, when, what, before and after."""

    id: int
    at: str
    actor: str
    actor_client: str | None
    action: str
    target_type: str
    target_id: str
    before: Any
    after: Any
    request_id: str | None


@dataclass(frozen=True)
class Account:
    """A person. ``get_user_id`` is what becomes the ``sub`` claim: the user name."""

    username: str
    roles: tuple[str, ...] = ()
    name: str = ""
    email: str = ""
    origin: str = "local"
    disabled_at: datetime | None = None
    password_hash: str | None = field(default=None, repr=False)
    created_at: datetime | None = None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None

    @property
    def scopes(self) -> frozenset[str]:
        return catalogue.scopes_for_roles(self.roles)

    def get_user_id(self) -> str:
        return self.username


@dataclass(frozen=True)
class Client(ClientMixin):  # type: ignore[misc]
    """A registered OAuth client: a robot (confidential, client_credentials), an application
    (confidential, code flow) or a public client (no secret, PKCE)."""

    client_id: str
    scopes: tuple[str, ...]
    grant_types: tuple[str, ...]
    redirect_uris: tuple[str, ...] = ()
    name: str = ""
    secret_hash: str | None = field(default=None, repr=False)
    disabled_at: datetime | None = None
    secret_rotated_at: datetime | None = None
    created_at: datetime | None = None

    @property
    def public(self) -> bool:
        return self.secret_hash is None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # only when there is no ambiguity; otherwise the request must name one
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        """The requested scopes this client may have; all of its scopes when none is requested."""
        if not scope:
            return catalogue.to_string(self.scopes)
        allowed = set(self.scopes)
        return catalogue.to_string(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # exact string comparison: no prefix, no pattern, no normalisation (RFC 9700 §4.1.3)
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.secret_hash is None:
            return False
        return hmac.compare_digest(digest(client_secret), self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.public:
            return method == "none"
        return method in CONFIDENTIAL_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):  # type: ignore[misc]
    code_hash: str
    client_id: str
    account: Account
    scope: str
    auth_time: datetime
    expires_at: datetime
    redirect_uri: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    nonce: str | None = None
    # set when tokens are issued for it: the grant (refresh family) they belong to
    family_id: UUID | None = None

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())


@dataclass
class RefreshToken(TokenMixin):  # type: ignore[misc]
    token_hash: str
    family_id: UUID
    client_id: str
    account: Account
    scope: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None

    kind = "refresh_token"

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int((self.expires_at - self.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return self.expires_at <= now()

    def is_revoked(self) -> bool:
        return self.used_at is not None or self.revoked_at is not None or self.account.disabled

    def get_user(self) -> Account:
        return self.account

    def introspection(self, issuer: str) -> dict[str, Any]:
        return {
            "active": True,
            "token_type": "refresh_token",
            "client_id": self.client_id,
            "username": self.account.username,
            "sub": self.account.username,
            "scope": self.scope,
            "iss": issuer,
            "iat": int(self.issued_at.timestamp()),
            "exp": int(self.expires_at.timestamp()),
        }


@dataclass
class AccessToken(TokenMixin):  # type: ignore[misc]
    """A JWT access token we signed, with its verified claims."""

    claims: dict[str, Any]
    revoked: bool = False

    kind = "access_token"

    @property
    def jti(self) -> str:
        return str(self.claims["jti"])

    @property
    def exp(self) -> int:
        return int(self.claims["exp"])

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.claims.get("client_id")

    def get_scope(self) -> str:
        return str(self.claims.get("scope", ""))

    def get_expires_in(self) -> int:
        return self.exp - int(self.claims.get("iat", self.exp))

    def is_expired(self) -> bool:
        return self.exp <= time.time()

    def is_revoked(self) -> bool:
        return self.revoked

    def introspection(self, issuer: str) -> dict[str, Any]:
        claims = self.claims
        body = {
            "active": True,
            "token_type": "Bearer",
            "client_id": claims.get("client_id"),
            "sub": claims.get("sub"),
            "scope": claims.get("scope", ""),
            "aud": claims.get("aud"),
            "iss": claims.get("iss"),
            "exp": claims.get("exp"),
            "iat": claims.get("iat"),
            "jti": claims.get("jti"),
        }
        if claims.get("sub") != claims.get("client_id"):
            body["username"] = claims.get("sub")
        return body
