"""Mint access tokens with a test key, shaped as the auth service will issue them (RFC 9068)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from ..auth import TokenVerifier

__all__ = ["TEST_AUDIENCE", "TEST_ISSUER", "TokenFactory"]

TEST_ISSUER = "http://issuer.test"
TEST_AUDIENCE = "spicadb"


class TokenFactory:
    """A test issuer of access tokens: its own RSA key, tokens minted with any scopes and claims, and a
    verifier that trusts it."""

    def __init__(self, issuer: str = TEST_ISSUER, audience: str = TEST_AUDIENCE) -> None:
        self.issuer = issuer
        self.audience = audience
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-1", "use": "sig", "alg": "RS256"})

    @property
    def jwks(self) -> dict[str, Any]:
        """The public half, as an issuer serves it."""
        return dict(KeySet([self.key]).as_dict(private=False))

    def verifier(self) -> TokenVerifier:
        """A verifier that accepts this factory's tokens (its key set given, no JWKS fetch)."""
        return TokenVerifier(
            issuer=self.issuer,
            audience=self.audience,
            key_set=KeySet.import_key_set(self.jwks),  # type: ignore[arg-type]
        )

    def mint(
        self,
        *scopes: str,
        subject: str = "alice",
        client_id: str = "spica-frontend",
        lifetime: int = 600,
        key: Any = None,
        header: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A signed access token (at+jwt) with these scopes; ``key``, ``header`` and ``claims`` make
        the broken ones the tests need."""
        now = int(time.time())
        body = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "client_id": client_id,
            "scope": " ".join(scopes),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
        }
        body.update(claims)
        head = {"alg": "RS256", "typ": "at+jwt", "kid": self.key.kid, **(header or {})}
        return jwt.encode(head, body, key or self.key, algorithms=[head["alg"]])
