"""Access tokens: RFC 9068 JWTs verified against the issuer's JWKS.

Services verify tokens themselves even behind the gateway (defence in depth). Only
asymmetric algorithms are accepted, so neither ``alg: none`` nor an HMAC token signed with
the public key can pass. An unknown key id triggers one JWKS refresh (rate-limited), which
is how a rotated signing key is picked up.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import msgspec
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.authentication import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp, Guard

from .errors import Problem
from .logs import get_logger
from .problems import INSUFFICIENT_SCOPE, INVALID_TOKEN, MISSING_TOKEN

__all__ = [
    "ACCESS_TOKEN_TYPES",
    "ALGORITHMS",
    "Principal",
    "TokenAuthenticationMiddleware",
    "TokenVerifier",
    "bearer_token",
    "invalid_token",
    "requires",
    "scopes_of",
]

log = get_logger(__name__)

ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
ACCESS_TOKEN_TYPES = {"at+jwt", "application/at+jwt"}


class Principal(msgspec.Struct, frozen=True):
    """Who is calling: a person (``sub`` = user name) or a robot (``sub`` = client id)."""

    subject: str
    client_id: str
    scopes: frozenset[str]
    token_id: str | None = None
    expires_at: int | None = None

    def has(self, *scopes: str) -> bool:
        """Whether the token carries every one of these scopes (admin carries all)."""
        return "admin" in self.scopes or all(s in self.scopes for s in scopes)


def _challenge(error: str, description: str) -> dict[str, str]:
    return {"WWW-Authenticate": f'Bearer error="{error}", error_description="{description}"'}


def invalid_token(description: str) -> Problem:
    """A 401 for a token that is not acceptable, with the WWW-Authenticate challenge RFC 6750 asks for."""
    return INVALID_TOKEN(description, headers=_challenge("invalid_token", description))


class TokenVerifier:
    """Turns the platform's access tokens into Principals: the signature (the issuer's JWKS, fetched
    again for an unknown key id), issuer, audience, expiry and revocation checked."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        key_set: KeySet | None = None,
        leeway: int = 30,
        refresh_interval: float = 10.0,
        is_revoked: Callable[[str], bool] | None = None,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.jwks_url = jwks_url
        self.leeway = leeway
        self.refresh_interval = refresh_interval
        self._keys = key_set or KeySet([])
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        # token ids revoked before they expire (kept by the consumer of auth's revocation events)
        self.is_revoked = is_revoked

    async def verify(self, token: str) -> Principal:
        """The principal of a valid access token; a 401 problem saying why otherwise."""
        header = _unverified_header(token)
        if str(header.get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
            raise invalid_token("not an access token (typ must be at+jwt)")
        if header.get("alg") not in ALGORITHMS:
            raise invalid_token("signature algorithm not accepted")
        key = await self._key(header.get("kid"))
        try:
            decoded = jwt.decode(token, key, algorithms=list(ALGORITHMS))
            self._claims_registry().validate(decoded.claims)
        except ExpiredTokenError as exc:
            raise invalid_token("token expired") from exc
        except JoseError as exc:
            raise invalid_token(f"token rejected: {exc.description or exc.error}") from exc
        principal = _principal(decoded.claims)
        if self.is_revoked is not None and principal.token_id and self.is_revoked(principal.token_id):
            raise invalid_token("token revoked")
        return principal

    def _claims_registry(self) -> jwt.JWTClaimsRegistry:
        return jwt.JWTClaimsRegistry(
            leeway=self.leeway,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            client_id={"essential": True},
            # every token has an id: revocation denies it by jti (a token without one could not be revoked)
            jti={"essential": True},
        )

    async def _key(self, kid: str | None) -> Any:
        if kid is None:
            raise invalid_token("token has no key id")
        try:
            return self._keys.get_by_kid(kid)
        except InvalidKeyIdError:
            await self.refresh()
        try:
            return self._keys.get_by_kid(kid)
        except InvalidKeyIdError as exc:
            raise invalid_token("unknown signing key") from exc

    async def refresh(self) -> None:
        """Fetch the JWKS again, at most once per ``refresh_interval`` (unknown kids are cheap to send)."""
        if self.jwks_url is None:
            return
        async with self._lock:
            if time.monotonic() - self._fetched_at < self.refresh_interval:
                return
            self._fetched_at = time.monotonic()
            try:
                async with httpx.AsyncClient(timeout=5) as client:
                    response = await client.get(self.jwks_url)
                    response.raise_for_status()
                self._keys = KeySet.import_key_set(response.json())
            except (httpx.HTTPError, ValueError, JoseError) as exc:
                log.warning("JWKS refresh failed", url=self.jwks_url, error=repr(exc))


def _unverified_header(token: str) -> dict[str, Any]:
    try:
        encoded = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, IndexError) as exc:
        raise invalid_token("malformed token") from exc
    if not isinstance(header, dict) or token.count(".") != 2:
        raise invalid_token("malformed token")
    return header


def _principal(claims: dict[str, Any]) -> Principal:
    scope = claims.get("scope", "")
    if not isinstance(scope, str):
        raise invalid_token("scope claim must be a space-separated string")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise invalid_token("token has no jti (token id)")
    return Principal(
        subject=str(claims["sub"]),
        client_id=str(claims["client_id"]),
        scopes=frozenset(scope.split()),
        token_id=jti,
        expires_at=claims.get("exp"),
    )


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer`` header; a 401 problem when it is missing or of another
    scheme."""
    if not authorization:
        raise MISSING_TOKEN("a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise invalid_token("Authorization must be 'Bearer <token>'")
    return token.strip()


class TokenAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    """Puts a :class:`Principal` in ``request.user``; routes opt out with ``opt={"anonymous": True}``.

    The verifier is read from ``app.state.verifier``, set by the service lifespan."""

    def __init__(self, app: ASGIApp, exclude: list[str]) -> None:
        super().__init__(app, exclude=exclude, exclude_from_auth_key="anonymous")

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        """The principal of the request's bearer token (a 401 problem without a valid one)."""
        token = bearer_token(connection.headers.get("authorization"))
        verifier: TokenVerifier = connection.app.state.verifier  # built with the service context
        principal = await verifier.verify(token)
        return AuthenticationResult(user=principal, auth=token)


def requires(*scopes: str) -> Guard:
    """A route guard: the caller's token must carry every scope (admin carries all)."""
    wanted = frozenset(scopes)

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = connection.scope.get("user")
        if not isinstance(principal, Principal):
            raise MISSING_TOKEN("a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
        if not principal.has(*wanted):
            missing = " ".join(sorted(wanted - principal.scopes))
            raise INSUFFICIENT_SCOPE(
                f"this route needs the scope(s): {missing}",
                headers=_challenge("insufficient_scope", f"requires {missing}"),
                required=sorted(wanted),
            )

    return guard


def scopes_of(names: Iterable[str]) -> str:
    """Scope names as a token's ``scope`` claim writes them: space-separated, sorted, once each."""
    return " ".join(sorted(set(names)))
