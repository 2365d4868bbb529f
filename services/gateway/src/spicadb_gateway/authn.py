"""Who is calling: a bearer token, or the browser session cookie, turned into a Principal.

Tokens are verified by the kit's TokenVerifier (JWKS from the auth service, asymmetric algorithms
only, RFC 9068 claims, revocation hook). A verified token is remembered until it expires, so a client
calling in a loop pays for the signature once; revocation is still checked on every request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from spicadb_kit.auth import Principal, TokenVerifier, invalid_token
from spicadb_kit.errors import Problem
from spicadb_kit.problems import INSUFFICIENT_SCOPE, MISSING_TOKEN

from .problems import AUTH_UNREACHABLE, CSRF, INVALID_SESSION
from .revocation import RevocationList
from .sessions import AuthUnavailable, SessionManager, SessionRefused, csrf_matches

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class Identity:
    principal: Principal
    token: str
    # authenticated by the session cookie (CSRF applies), not by an Authorization header
    session_id: str | None = None


def missing_credentials() -> Problem:
    return MISSING_TOKEN("a bearer token or a session is required", headers={"WWW-Authenticate": "Bearer"})


def insufficient_scope(required: tuple[str, ...] | frozenset[str], principal: Principal) -> Problem:
    missing = " ".join(sorted(set(required) - principal.scopes))
    return INSUFFICIENT_SCOPE(
        f"this route needs the scope(s): {missing}",
        headers={
            "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{" ".join(sorted(required))}", '
            f'error_description="requires {missing}"'
        },
        required=sorted(required),
    )


def csrf_failed() -> Problem:
    return CSRF(
        "a request authenticated by the session cookie needs the X-CSRF-Token header"
        " (the value of the spicadb_csrf cookie)"
    )


class TokenCache:
    """Verified tokens -> Principal, until they expire; oldest forgotten first when full."""

    __slots__ = ("_entries", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[str, Principal] = {}

    def get(self, token: str) -> Principal | None:
        principal = self._entries.get(token)
        if principal is None:
            return None
        if principal.expires_at is None or principal.expires_at <= time.time():
            del self._entries[token]
            return None
        return principal

    def put(self, token: str, principal: Principal) -> None:
        if self.size <= 0:
            return
        if len(self._entries) >= self.size:
            del self._entries[next(iter(self._entries))]
        self._entries[token] = principal


class Authenticator:
    def __init__(
        self,
        verifier: TokenVerifier,
        revocations: RevocationList,
        sessions: SessionManager | None,
        *,
        cache_size: int,
    ) -> None:
        self.verifier = verifier
        self.revocations = revocations
        self.sessions = sessions
        self.cache = TokenCache(cache_size)

    async def verify(self, token: str) -> Principal:
        principal = self.cache.get(token)
        if principal is not None:
            if principal.token_id and principal.token_id in self.revocations:
                raise invalid_token("token revoked")
            return principal
        principal = await self.verifier.verify(token)  # checks the revocation list too
        self.cache.put(token, principal)
        return principal

    async def identify(self, authorization: str | None, session_id: str | None) -> Identity:
        """The caller, from the Authorization header first, else the session cookie."""
        if authorization:
            scheme, _, token = authorization.partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                raise invalid_token("Authorization must be 'Bearer <token>'")
            return Identity(await self.verify(token), token)
        if session_id and self.sessions is not None:
            try:
                token = await self.sessions.access_token(session_id)
            except SessionRefused as exc:
                raise INVALID_SESSION(
                    f"session not valid: {exc}",
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token", error_description="session"'},
                ) from exc
            except AuthUnavailable as exc:
                raise AUTH_UNREACHABLE(
                    "the session needs a new token and the auth service is unreachable"
                ) from exc
            return Identity(await self.verify(token), token, session_id)
        raise missing_credentials()

    @staticmethod
    def authorize(identity: Identity, scopes: tuple[str, ...] | frozenset[str]) -> None:
        if scopes and not identity.principal.has(*scopes):
            raise insufficient_scope(scopes, identity.principal)

    @staticmethod
    def check_csrf(identity: Identity, method: str, cookie: str | None, header: str | None) -> None:
        if identity.session_id is None or method not in UNSAFE_METHODS:
            return
        if not csrf_matches(identity.session_id, cookie, header):
            raise csrf_failed()


__all__ = ["Authenticator", "Identity", "Problem", "TokenCache"]
