"""OAuth 2.0 and OpenID Connect endpoints: discovery, JWKS, authorize (with the login page),
token, revoke, introspect, userinfo.

Errors: the token, revocation and introspection endpoints answer as RFC 6749/7009/7662 say
(``{"error": ..., "error_description": ...}``, made by authlib); the authorization endpoint
redirects errors to the client when the client and its redirect URI are known, and otherwise
answers an RFC 9457 problem document (never a redirect to an unregistered URI); the login page
is HTML.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from spicadb_kit.auth import Principal, invalid_token, requires
from spicadb_kit.errors import Problem
from spicadb_kit.openapi import answers

from .. import scopes as catalogue
from ..addresses import client_address as client_address_of
from ..models import Client, now
from ..oauth.request import OAuthResponse, oauth_request
from ..oauth.server import ANY_CLIENT, CONFIDENTIAL, user_info
from ..pages import LoginPage, page_response, upstream_link
from ..runtime import AuthRuntime
from ..services.login import LoginRefused
from ..storage import AccountStore
from .problems import oauth_errors

ANONYMOUS = {"anonymous": True}
# the login page (HTML), also at the statuses a refused sign-in answers
LOGIN_PAGE = {**ANONYMOUS, **answers("text/html", errors=(401, 403, 429))}
REDIRECT = ResponseSpec(None, description="Back to the client's redirect URI, with a code or an OAuth error")


def _request_id(request: Request[Any, Any, Any]) -> str | None:
    value = request.scope.get("state", {}).get("request_id")
    return str(value) if value else None


def client_address(request: Request[Any, Any, Any], auth: AuthRuntime) -> str:
    """The peer, or the client a trusted proxy in front of it names (see addresses.py)."""
    peer = request.client.host if request.client else None
    return client_address_of(auth.proxies, peer, request.headers.getall("x-forwarded-for", []))


# --- discovery ----------------------------------------------------------------------------------


def server_metadata(auth: AuthRuntime) -> dict[str, Any]:
    """RFC 8414 / OpenID Connect Discovery 1.0 metadata, every URL from the issuer."""
    s = auth.settings
    algs = sorted({k.alg for k in auth.keyring.keys} or {s.signing_alg})
    return {
        "issuer": s.issuer,
        "authorization_endpoint": s.url("/oauth/authorize"),
        "token_endpoint": s.url("/oauth/token"),
        "jwks_uri": s.url("/.well-known/jwks.json"),
        "userinfo_endpoint": s.url("/oauth/userinfo"),
        "revocation_endpoint": s.url("/oauth/revoke"),
        "introspection_endpoint": s.url("/oauth/introspect"),
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
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "preferred_username",
            "name",
            "email",
        ],
        "prompt_values_supported": ["none", "login"],
    }


_DISCOVERY_CACHE = {"Cache-Control": "public, max-age=300"}


@get(
    "/.well-known/openid-configuration", opt=ANONYMOUS, operation_id="openidConfiguration", tags=["discovery"]
)
async def openid_configuration(auth: NamedDependency[AuthRuntime]) -> Response[dict[str, Any]]:
    return Response(server_metadata(auth), headers=_DISCOVERY_CACHE)


@get(
    "/.well-known/oauth-authorization-server",
    opt=ANONYMOUS,
    operation_id="authorizationServerMetadata",
    tags=["discovery"],
)
async def authorization_server_metadata(auth: NamedDependency[AuthRuntime]) -> Response[dict[str, Any]]:
    return Response(server_metadata(auth), headers=_DISCOVERY_CACHE)


@get(
    "/.well-known/jwks.json",
    opt=ANONYMOUS,
    operation_id="jwks",
    tags=["discovery"],
    media_type="application/jwk-set+json",
)
async def jwks(auth: NamedDependency[AuthRuntime]) -> Response[dict[str, Any]]:
    """The public keys: the next key (not signing yet), the current one, and retired ones whose
    tokens may still be alive. Verifiers may cache this for ``max-age``."""
    return Response(
        auth.keyring.jwks(now()),
        headers={"Cache-Control": f"public, max-age={auth.settings.jwks_cache_seconds}"},
        media_type="application/jwk-set+json",
    )


# --- authorization endpoint ---------------------------------------------------------------------


def _authorization_answer(result: OAuthResponse, cookies: list[Any] | None = None) -> Response[Any]:
    if result.location is not None:  # the code, or an error the client may receive
        response = result.to_litestar({"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
        for cookie in cookies or []:
            response.set_cookie(cookie)
        return response
    body = result.json
    raise Problem(
        str(body.get("error_description") or body.get("error") or "invalid authorization request"),
        status=result.status,
        code="invalid-authorization-request",
        title="Invalid authorization request",
        error=body.get("error", "invalid_request"),
    )


def _login_page(
    request: Request[Any, Any, Any],
    auth: AuthRuntime,
    *,
    status: int = 200,
    message: str | None = None,
    username: str = "",
    client: Client | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    csrf, cookie = auth.logins.new_csrf()
    page = LoginPage(
        action=here,
        csrf=csrf,
        username=username,
        message=message,
        client_name=(client.name or client.client_id) if client else None,
        upstream_url=upstream_link(here) if auth.upstream else None,
        upstream_name=auth.upstream.label if auth.upstream else None,
    )
    return page_response(page, status, cookies=[cookie], headers=headers)


@get(
    "/oauth/authorize",
    opt={**ANONYMOUS, **answers("text/html")},
    operation_id="authorize",
    tags=["oauth"],
    responses={302: REDIRECT},
)
async def authorize(request: Request[Any, Any, Any], auth: NamedDependency[AuthRuntime]) -> Response[Any]:
    """Start the code flow: a signed-in person is sent back to the client with a code at once;
    anyone else gets the login page."""
    oauth = await oauth_request(request, auth.settings, with_form=False)
    session = await auth.logins.session(request.cookies.get(auth.logins.session_cookie))
    if session is not None:
        oauth.auth_time = session.auth_time
    account = session.account if session else None
    result = await auth.run_oauth(
        auth.server.authorize, oauth, account, False, request_id=_request_id(request)
    )
    if isinstance(result, Client):
        return _login_page(request, auth, client=result)
    return _authorization_answer(result)


@post("/oauth/authorize", opt=LOGIN_PAGE, operation_id="authorizeSignIn", tags=["oauth"], status_code=302)
async def authorize_sign_in(
    request: Request[Any, Any, Any], auth: NamedDependency[AuthRuntime]
) -> Response[Any]:
    """The login form of the code flow: check the credentials, then continue the flow."""
    form = await request.form()
    username = str(form.get("username") or "")
    if not auth.logins.csrf_ok(
        request.cookies.get(auth.logins.csrf_cookie), form.get("csrf_token"), request.headers.get("origin")
    ):
        return _login_page(
            request, auth, status=403, username=username, message="This form expired. Please sign in again."
        )
    try:
        account = await auth.logins.authenticate(
            username, str(form.get("password") or ""), client_address(request, auth)
        )
    except LoginRefused as refused:
        headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else None
        return _login_page(
            request, auth, status=refused.status, username=username, message=refused.message, headers=headers
        )
    cookie, auth_time = await auth.logins.open_session(account)
    oauth = await oauth_request(request, auth.settings, with_form=False)
    oauth.auth_time = auth_time
    result = await auth.run_oauth(
        auth.server.authorize, oauth, account, True, request_id=_request_id(request)
    )
    if isinstance(result, Client):  # pragma: no cover - a signed-in person always gets an answer
        return _login_page(request, auth, client=result)
    return _authorization_answer(result, cookies=[cookie])


# --- token, revocation, introspection -------------------------------------------------------------


@post(
    "/oauth/token",
    opt=ANONYMOUS,
    operation_id="token",
    tags=["oauth"],
    status_code=200,
    responses=oauth_errors(400, 401, 403),
)
async def token(request: Request[Any, Any, Any], auth: NamedDependency[AuthRuntime]) -> Response[bytes]:
    """RFC 6749 §3.2: client_credentials, authorization_code (+PKCE), refresh_token."""
    oauth = await oauth_request(request, auth.settings)
    result: OAuthResponse = await auth.run_oauth(auth.server.token, oauth, request_id=_request_id(request))
    return result.to_litestar()


@post(
    "/oauth/revoke",
    opt=ANONYMOUS,
    operation_id="revoke",
    tags=["oauth"],
    status_code=200,
    responses=oauth_errors(400, 401, 403),
)
async def revoke(request: Request[Any, Any, Any], auth: NamedDependency[AuthRuntime]) -> Response[bytes]:
    """RFC 7009: revoke an access token (denied until it expires) or a refresh token (its grant)."""
    oauth = await oauth_request(request, auth.settings)
    result: OAuthResponse = await auth.run_oauth(
        auth.server.endpoint, "revocation", oauth, request_id=_request_id(request)
    )
    return result.to_litestar()


@post(
    "/oauth/introspect",
    opt=ANONYMOUS,
    operation_id="introspect",
    tags=["oauth"],
    status_code=200,
    responses=oauth_errors(400, 401, 403),
)
async def introspect(request: Request[Any, Any, Any], auth: NamedDependency[AuthRuntime]) -> Response[bytes]:
    """RFC 7662, for resource servers: confidential clients registered with ``token:introspect`` (or
    ``admin``). Any other client gets ``{"active": false}`` for every token (RFC 7662 §2.2)."""
    oauth = await oauth_request(request, auth.settings)
    result: OAuthResponse = await auth.run_oauth(
        auth.server.endpoint, "introspection", oauth, request_id=_request_id(request)
    )
    return result.to_litestar()


# --- userinfo -----------------------------------------------------------------------------------------


async def _userinfo(principal: Principal, auth: AuthRuntime) -> dict[str, Any]:
    async with auth.db.acquire() as conn:
        account = await AccountStore(conn).get(principal.subject)
    if account is None or account.disabled or principal.subject == principal.client_id:
        raise invalid_token("no active person behind this token")
    return dict(user_info(account, " ".join(principal.scopes)))


@get("/oauth/userinfo", guards=[requires("openid")], operation_id="userinfo", tags=["oauth"])
async def userinfo(
    principal: NamedDependency[Principal], auth: NamedDependency[AuthRuntime]
) -> dict[str, Any]:
    """OpenID Connect UserInfo: the claims of the person behind the bearer token."""
    return await _userinfo(principal, auth)


@post(
    "/oauth/userinfo",
    guards=[requires("openid")],
    operation_id="userinfoPost",
    tags=["oauth"],
    status_code=200,
)
async def userinfo_post(
    principal: NamedDependency[Principal], auth: NamedDependency[AuthRuntime]
) -> dict[str, Any]:
    """The same, by POST (OpenID Connect Core §5.3.1)."""
    return await _userinfo(principal, auth)


ROUTES = [
    openid_configuration,
    authorization_server_metadata,
    jwks,
    authorize,
    authorize_sign_in,
    token,
    revoke,
    introspect,
    userinfo,
    userinfo_post,
]
