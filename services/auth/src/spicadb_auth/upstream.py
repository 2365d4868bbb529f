"""The upstream OpenID provider (an institute's single sign-on), seen through authlib's client:
``AsyncOAuth2Client`` (authlib.integrations.httpx_client) driven by authlib's OpenID Connect
client mixins, which read the provider's discovery document, build the authorization URL with
PKCE (S256) and a nonce, exchange the code, and check the ID token (signature against the
provider's JWKS, issuer, audience, nonce, expiry)."""

from __future__ import annotations

import warnings
from typing import Any

import httpx
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.base_client.async_app import AsyncOAuth2Mixin
from authlib.integrations.base_client.async_openid import AsyncOpenIDMixin
from authlib.integrations.base_client.sync_app import BaseApp

with warnings.catch_warnings():
    # authlib 1.9 prefers the httpx2 fork and warns when it finds httpx (our pinned client)
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from .config import AuthSettings


class UpstreamProvider(AsyncOAuth2Mixin, AsyncOpenIDMixin, BaseApp):  # type: ignore[misc]
    client_cls = AsyncOAuth2Client

    def __init__(self, settings: AuthSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        issuer = settings.upstream_issuer.rstrip("/")
        client_kwargs: dict[str, Any] = {
            "scope": settings.upstream_scope,
            "code_challenge_method": "S256",
            "timeout": 20.0,
        }
        if transport is not None:
            client_kwargs["transport"] = transport
        super().__init__(
            framework=None,
            name="upstream",
            client_id=settings.upstream_client_id,
            client_secret=settings.upstream_client_secret or None,
            server_metadata_url=f"{issuer}/.well-known/openid-configuration",
            client_kwargs=client_kwargs,
        )
        self.issuer = settings.upstream_issuer
        self.label = settings.upstream_name
        self.redirect_uri = settings.url("/login/upstream/callback")

    async def start(self) -> dict[str, str]:
        """The provider's authorization URL, with the state, PKCE verifier and nonce to keep."""
        found: dict[str, str] = await self.create_authorization_url(redirect_uri=self.redirect_uri)
        return found

    async def finish(self, code: str, code_verifier: str, nonce: str) -> dict[str, Any]:
        """Exchange the code; the checked ID token's claims, completed by the userinfo endpoint."""
        token = await self.fetch_access_token(
            redirect_uri=self.redirect_uri, code=code, code_verifier=code_verifier
        )
        options = {
            "iss": {"essential": True, "value": self.issuer},
            "aud": {"essential": True, "value": self.client_id},
        }
        claims = await self.parse_id_token(token, nonce=nonce, claims_options=options, leeway=60)
        if claims is None:
            raise ValueError("the provider returned no ID token")
        found = dict(claims)
        if "userinfo_endpoint" in self.server_metadata:
            info = await self.userinfo(token=token)
            if info.get("sub") == found["sub"]:
                found = {**dict(info), **found}
        return found
