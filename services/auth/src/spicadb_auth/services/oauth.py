"""The OAuth 2.0 / OpenID Connect flows: authlib's authorization server run in a worker thread,
its storage in one transaction per request (bridge.py); the discovery documents; userinfo."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import asyncpg

from spicadb_kit.auth import Principal, invalid_token

from .. import scopes as catalogue
from ..bridge import run_in_transaction
from ..config import AuthSettings
from ..keys import KeyRing
from ..models import Account, Client, now
from ..oauth.request import OAuthRequest, OAuthResponse
from ..oauth.server import ANY_CLIENT, CONFIDENTIAL, SpicaAuthorizationServer, user_info
from ..storage import AccountStore

T = TypeVar("T")

CLAIMS = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "preferred_username", "name", "email"]


class OAuthService:
    def __init__(
        self, pool: asyncpg.Pool, server: SpicaAuthorizationServer, settings: AuthSettings, keyring: KeyRing
    ) -> None:
        self.pool = pool
        self.server = server
        self.settings = settings
        self.keyring = keyring

    async def _run(self, fn: Callable[..., T], *args: Any, request_id: str | None) -> T:
        result, _ = await run_in_transaction(self.pool, fn, *args, request_id=request_id)
        return result

    # --- the flows ----------------------------------------------------------------------------

    async def authorize(
        self, request: OAuthRequest, account: Account | None, signed_in_now: bool, request_id: str | None
    ) -> OAuthResponse | Client:
        """The code (a redirect) for a signed-in person, an error response, or the client to show
        the login page for (see SpicaAuthorizationServer.authorize)."""
        return await self._run(self.server.authorize, request, account, signed_in_now, request_id=request_id)

    async def token(self, request: OAuthRequest, request_id: str | None) -> OAuthResponse:
        return await self._run(self.server.token, request, request_id=request_id)

    async def revoke(self, request: OAuthRequest, request_id: str | None) -> OAuthResponse:
        return await self._run(self.server.endpoint, "revocation", request, request_id=request_id)

    async def introspect(self, request: OAuthRequest, request_id: str | None) -> OAuthResponse:
        return await self._run(self.server.endpoint, "introspection", request, request_id=request_id)

    async def userinfo(self, principal: Principal) -> dict[str, Any]:
        """The claims of the active person behind a token (a robot's token has none)."""
        async with self.pool.acquire() as conn:
            account = await AccountStore(conn).get(principal.subject)
        if account is None or account.disabled or principal.subject == principal.client_id:
            raise invalid_token("no active person behind this token")
        return dict(user_info(account, " ".join(principal.scopes)))

    # --- discovery ------------------------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        """RFC 8414 / OpenID Connect Discovery 1.0 metadata, every URL from the issuer."""
        s = self.settings
        algs = sorted({k.alg for k in self.keyring.keys} or {s.signing_alg})
        return {
            "issuer": s.issuer,
            "authorization_endpoint": s.url("/oauth/authorize"),
            "token_endpoint": s.url("/oauth/token"),
            "jwks_uri": s.url("/.well-known/jwks.json"),
            "userinfo_endpoint": s.url("/oauth/userinfo"),
            "revocation_endpoint": s.url("/oauth/revoke"),
            "introspection_endpoint": s.url("/oauth/introspect"),
            "end_session_endpoint": s.url("/oauth/logout"),
            "scopes_supported": list(catalogue.ALL_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ANY_CLIENT,
            "revocation_endpoint_auth_methods_supported": ANY_CLIENT,
            "introspection_endpoint_auth_methods_supported": CONFIDENTIAL,
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": algs,
            "claims_supported": list(CLAIMS),
            "prompt_values_supported": ["none", "login"],
        }

    def jwks(self) -> dict[str, Any]:
        """The published public keys: the next one, the current one, retired ones still in use."""
        return self.keyring.jwks(now())
