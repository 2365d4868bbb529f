"""authlib's ``AuthorizationServer`` for Litestar, with the SPICA-DB grants and endpoints.

- client_credentials for robots (confidential clients only);
- authorization_code with PKCE required, S256 only (``CodeChallenge(required=True)`` narrowed to
  S256 and asked to refuse a request without a challenge at the authorization endpoint), plus
  authlib's OpenID Connect extension (an ID token when ``openid`` is granted);
- refresh_token with rotation (a new refresh token on every refresh) and reuse detection (a used
  refresh token presented again revokes its whole family and is refused with invalid_grant);
- RFC 9068 JWT access tokens from authlib's ``JWTBearerTokenGenerator``, signed with the current
  key of the key ring;
- RFC 7009 revocation and RFC 7662 introspection for both access and refresh tokens.

Every hook that needs storage goes through :func:`bridge.call` (see bridge.py).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidRequestError, InvalidScopeError, OAuth2Error
from authlib.oauth2.rfc6749.grants import (
    AuthorizationCodeGrant as _AuthorizationCodeGrant,
)
from authlib.oauth2.rfc6749.grants import (
    ClientCredentialsGrant as _ClientCredentialsGrant,
)
from authlib.oauth2.rfc6749.grants import (
    RefreshTokenGrant as _RefreshTokenGrant,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from authlib.oidc.core import OpenIDCode, UserInfo
from joserfc import jwt
from joserfc.errors import JoseError

from .. import bridge
from .. import scopes as catalogue
from ..config import AuthSettings
from ..keys import KeyRing
from ..models import AccessToken, Account, AuthorizationCode, Client, RefreshToken, digest, new_secret
from ..services.tokens import Revocations
from ..storage import ClientStore, GrantStore
from .request import OAuthRequest, OAuthResponse

CONFIDENTIAL = ["client_secret_basic", "client_secret_post"]
ANY_CLIENT = [*CONFIDENTIAL, "none"]
SIGNING_ALGORITHMS = ["ES256", "RS256"]


def user_info(account: Account, scope: str) -> UserInfo:
    """OpenID Connect claims of a person, filtered by the granted scopes."""
    info = UserInfo(sub=account.username)
    granted = set(scope.split())
    if "profile" in granted:
        info["preferred_username"] = account.username
        if account.name:
            info["name"] = account.name
    if "email" in granted and account.email:
        info["email"] = account.email
    return info


class SpicaAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, settings: AuthSettings, keyring: KeyRing, revocations: Revocations) -> None:
        super().__init__(scopes_supported=list(catalogue.ALL_SCOPES))
        self.settings = settings
        self.keyring = keyring
        self.revocations = revocations
        self.register_token_generator("default", AccessTokenGenerator(settings, keyring))
        self.register_grant(ClientCredentialsGrant)
        self.register_grant(
            AuthorizationCodeGrant, [RequireS256(required=True), OpenIDConnect(settings, keyring)]
        )
        self.register_grant(RefreshTokenGrant)
        self.register_endpoint(Revocation(server=self))
        self.register_endpoint(Introspection(server=self))

    # --- storage --------------------------------------------------------------------------------

    def query_client(self, client_id: str) -> Client | None:
        # a disabled client is as good as unknown: invalid_client
        return bridge.call(lambda conn: ClientStore(conn).active(client_id))

    def save_token(self, token: dict[str, Any], request: OAuthRequest) -> None:
        """Record what was issued: the access token's jti (until it expires) and the refresh
        token's digest, in the grant's family (new for a code, inherited on refresh)."""
        client: Client = request.client
        account: Account | None = request.user
        family_id: uuid.UUID | None = None
        if account is not None:
            if request.refresh_token is not None:
                family_id = request.refresh_token.family_id
            else:
                family_id = uuid.uuid4()
                if request.authorization_code is not None:
                    request.authorization_code.family_id = family_id
        claims = _unverified_claims(token["access_token"])
        settings = self.settings

        async def store(conn: Any) -> None:
            grants = GrantStore(conn)
            await grants.insert_access(
                claims["jti"],
                family_id,
                client.client_id,
                claims["sub"],
                claims.get("scope", ""),
                datetime.fromtimestamp(claims["iat"], UTC),
                datetime.fromtimestamp(claims["exp"], UTC),
            )
            if token.get("refresh_token") and account is not None and family_id is not None:
                await grants.insert_refresh(
                    digest(token["refresh_token"]),
                    family_id,
                    client.client_id,
                    account.username,
                    token.get("scope", ""),
                    datetime.now(UTC) + timedelta(seconds=settings.refresh_token_lifetime),
                )

        bridge.call(store)

    # --- framework ------------------------------------------------------------------------------

    def create_oauth2_request(self, request: Any) -> OAuthRequest:
        if not isinstance(request, OAuthRequest):
            raise TypeError("build the request with oauth.request.oauth_request() first")
        return request

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("no JSON endpoints")

    def handle_response(self, status: int, body: Any, headers: Any) -> OAuthResponse:
        return OAuthResponse(status, body, list(headers or []))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    # --- the flows the handlers run in the worker thread ----------------------------------------

    def authorize(
        self, request: OAuthRequest, account: Account | None, signed_in_now: bool
    ) -> OAuthResponse | Client:
        """Validate an authorization request; issue the code (a redirect) when the person is
        signed in, or return the client to show the login page for. Errors that may be sent to
        the client come back as a redirect; the others (unknown client, redirect_uri not
        registered) as an error response that must not redirect."""
        try:
            grant = self.get_consent_grant(request, end_user=account)
        except OAuth2Error as error:
            return self.handle_error_response(request, error)  # type: ignore[no-any-return]
        prompts = request.payload.data.get("prompt", "").split()
        if account is None or ("login" in prompts and not signed_in_now):
            client: Client = grant.client
            return client
        return self.create_authorization_response(request, grant_user=account, grant=grant)  # type: ignore[no-any-return]

    def token(self, request: OAuthRequest) -> OAuthResponse:
        return self.create_token_response(request)  # type: ignore[no-any-return]

    def endpoint(self, name: str, request: OAuthRequest) -> OAuthResponse:
        return self.create_endpoint_response(name, request)  # type: ignore[no-any-return]

    # --- token lookup (revocation, introspection) -----------------------------------------------

    def find_token(self, token_string: str, hint: str | None) -> AccessToken | RefreshToken | None:
        """Whatever we issued under this string: an access token (a JWT we signed, with any
        published key) or a refresh token (by digest). The hint only orders the attempts."""
        looks_like_jwt = token_string.count(".") == 2
        if looks_like_jwt and hint != "refresh_token":
            return self._access_token(token_string)
        found = bridge.call(lambda conn: GrantStore(conn).get_refresh(digest(token_string)))
        if found is None and looks_like_jwt:
            return self._access_token(token_string)
        return found

    def _access_token(self, token_string: str) -> AccessToken | None:
        keys = self.keyring.verification_keyset(datetime.now(UTC))
        try:
            decoded = jwt.decode(token_string, keys, algorithms=SIGNING_ALGORITHMS)
        except (JoseError, ValueError):
            return None
        if str(decoded.header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
            return None  # an ID token, not an access token
        claims = dict(decoded.claims)
        if claims.get("iss") != self.settings.issuer or "jti" not in claims or "exp" not in claims:
            return None
        revoked = bridge.call(lambda conn: GrantStore(conn).is_revoked(str(claims["jti"])))
        return AccessToken(claims=claims, revoked=revoked)


def _unverified_claims(token: str) -> dict[str, Any]:
    """The claims of a token this process has just signed."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


class AccessTokenGenerator(JWTBearerTokenGenerator):  # type: ignore[misc]
    """RFC 9068 access tokens (typ at+jwt; iss, aud, sub, client_id, scope, iat, exp, jti)."""

    def __init__(self, settings: AuthSettings, keyring: KeyRing) -> None:
        self.settings = settings
        self.keyring = keyring
        super().__init__(
            issuer=settings.issuer,
            alg=settings.signing_alg,
            refresh_token_generator=lambda **_: new_secret(),
            expires_generator=lambda client, grant_type: settings.access_token_lifetime,
        )

    @property  # type: ignore[override]
    def alg(self) -> str:
        # the algorithm of the key that signs now (a rotation may change it)
        return self.keyring.current.alg

    @alg.setter
    def alg(self, value: str) -> None:
        pass

    def get_jwks(self) -> Any:
        return self.keyring.signing_keyset()

    def get_audiences(self, client: Client, user: Account | None, scope: str) -> str:
        return self.settings.token_audience

    def get_jti(self, client: Client, grant_type: str, user: Account | None, scope: str) -> str:
        return uuid.uuid4().hex

    def generate(
        self,
        grant_type: str,
        client: Client,
        user: Account | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        """Scopes: requested ∩ client's ∩ (for a person) granted by their roles."""
        allowed = client.get_allowed_scope(scope).split()
        if user is not None:
            allowed = [s for s in allowed if s in user.scopes]
        if not allowed:
            raise InvalidScopeError("none of the requested scopes may be granted")
        return super().generate(  # type: ignore[no-any-return]
            grant_type,
            client,
            user=user,
            scope=catalogue.to_string(allowed),
            expires_in=expires_in,
            include_refresh_token=include_refresh_token,
        )


# --- grants ---------------------------------------------------------------------------------------


class ClientCredentialsGrant(_ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL


class AuthorizationCodeGrant(_AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ANY_CLIENT

    def save_authorization_code(self, code: str, request: OAuthRequest) -> None:
        account: Account = request.user
        granted = [s for s in (request.scope or "").split() if s in account.scopes]
        data = request.payload.data
        settings = self.server.settings
        record = AuthorizationCode(
            code_hash=digest(code),
            client_id=request.client.client_id,
            account=account,
            scope=catalogue.to_string(granted),
            auth_time=request.auth_time or datetime.now(UTC),
            expires_at=datetime.now(UTC) + timedelta(seconds=settings.authorization_code_lifetime),
            redirect_uri=request.payload.redirect_uri,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            nonce=data.get("nonce"),
        )
        bridge.call(lambda conn: GrantStore(conn).insert_code(record))

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        """The code, locked; a code presented a second time revokes what it gave (RFC 6749 §4.1.2)."""
        revocations = self.server.revocations

        async def claim(conn: Any) -> AuthorizationCode | None:
            found = await GrantStore(conn).lock_code(digest(code), client.client_id)
            if found is None:
                return None
            record, used_at = found
            if used_at is not None:
                if record.family_id is not None:
                    await revocations.family(conn, record.family_id, "code_reuse")
                return None
            if record.expires_at <= datetime.now(UTC) or record.account.disabled:
                return None
            return record

        return bridge.call(claim)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        # kept, marked used, until it expires: a replay must be recognised
        bridge.call(
            lambda conn: GrantStore(conn).mark_code_used(
                authorization_code.code_hash, authorization_code.family_id
            )
        )

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Account | None:
        return None if authorization_code.account.disabled else authorization_code.account


class RefreshTokenGrant(_RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ANY_CLIENT
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: every refresh returns a new refresh token

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshToken | None:
        """The refresh token, locked; one that was used (or belongs to a revoked family) revokes
        its whole family and is refused."""
        revocations = self.server.revocations

        async def claim(conn: Any) -> RefreshToken | None:
            token = await GrantStore(conn).get_refresh(digest(refresh_token), for_update=True)
            if token is None:
                return None
            if token.used_at is not None or token.revoked_at is not None:
                await revocations.family(conn, token.family_id, "refresh_reuse")
                return None
            if token.is_expired() or token.account.disabled:
                return None
            return token

        return bridge.call(claim)

    def authenticate_user(self, refresh_token: RefreshToken) -> Account | None:
        return None if refresh_token.account.disabled else refresh_token.account

    def revoke_old_credential(self, refresh_token: RefreshToken) -> None:
        bridge.call(lambda conn: GrantStore(conn).mark_refresh_used(refresh_token.token_hash))


class RequireS256(CodeChallenge):  # type: ignore[misc]
    """PKCE for every authorization request, S256 only ("plain" and a missing challenge are
    refused at the authorization endpoint already)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with code_challenge_method=S256")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)


class OpenIDConnect(OpenIDCode):  # type: ignore[misc]
    """An ID token beside the access token when ``openid`` is granted (authlib's extension)."""

    def __init__(self, settings: AuthSettings, keyring: KeyRing) -> None:
        super().__init__(require_nonce=False)
        self.settings = settings
        self.keyring = keyring
        self.DEFAULT_EXPIRES_IN = settings.access_token_lifetime

    def exists_nonce(self, nonce: str, request: OAuthRequest) -> bool:
        client_id = request.payload.client_id
        return bridge.call(lambda conn: GrantStore(conn).nonce_seen(client_id, nonce))

    def generate_user_info(self, user: Account, scope: str) -> UserInfo:
        return user_info(user, scope)

    def resolve_client_private_key(self, client: Client) -> Any:
        return self.keyring.signing_keyset()

    def get_client_algorithm(self, client: Client) -> str:
        return self.keyring.current.alg

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.settings.issuer,
            "aud": [client.client_id],
            "iat": now,
            "exp": now + self.settings.access_token_lifetime,
        }


# --- endpoints --------------------------------------------------------------------------------------


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    """RFC 7009. A public client (the frontend) may revoke its own tokens when signing out."""

    CLIENT_AUTH_METHODS = ANY_CLIENT

    def query_token(
        self, token_string: str, token_type_hint: str | None
    ) -> AccessToken | RefreshToken | None:
        return self.server.find_token(token_string, token_type_hint)  # type: ignore[no-any-return]

    def revoke_token(self, token: AccessToken | RefreshToken, request: OAuthRequest) -> None:
        revocations = self.server.revocations
        if isinstance(token, AccessToken):
            claims = token.claims
            bridge.call(
                lambda conn: revocations.access_token(
                    conn,
                    jti=token.jti,
                    exp=token.exp,
                    reason="revocation",
                    sub=str(claims.get("sub", "")),
                    client_id=str(claims.get("client_id", "")),
                )
            )
        else:
            # a refresh token stands for its grant: revoke the family and its access tokens
            bridge.call(lambda conn: revocations.family(conn, token.family_id, "revocation"))


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    """RFC 7662, for resource servers: confidential clients registered with ``token:introspect``
    (the gateway, an external resource server), and admin clients (registered with ``admin``).

    Any other authenticated client gets ``{"active": false}`` for every token, its own included:
    RFC 7662 §2.2 answers a client not allowed to introspect a token as if the token were
    inactive (rather than 403), which tells a robot holding stolen tokens nothing about them."""

    CLIENT_AUTH_METHODS = CONFIDENTIAL
    ALLOWED = frozenset({catalogue.INTROSPECT, "admin"})

    def query_token(
        self, token_string: str, token_type_hint: str | None
    ) -> AccessToken | RefreshToken | None:
        return self.server.find_token(token_string, token_type_hint)  # type: ignore[no-any-return]

    def check_permission(self, token: Any, client: Client, request: OAuthRequest) -> bool:
        # a public client cannot authenticate here at all
        return not self.ALLOWED.isdisjoint(client.scopes)

    def introspect_token(self, token: AccessToken | RefreshToken) -> dict[str, Any]:
        return token.introspection(self.server.settings.issuer)
