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

from spicadb_kit.auth import Principal, requires
from spicadb_kit.openapi import answers

from ..config import AuthSettings
from ..models import Client
from ..oauth.request import OAuthResponse, oauth_request
from ..problems import INVALID_AUTHORIZATION_REQUEST
from ..services.login import LoginRefused, LoginService
from ..services.oauth import OAuthService
from .browser import Browser
from .deps import request_id
from .forms import INTROSPECT, REVOKE, SIGN_IN, TOKEN
from .problems import oauth_errors

ANONYMOUS = {"anonymous": True}
# the login page (HTML), also at the statuses a refused sign-in answers
LOGIN_PAGE = {**ANONYMOUS, **answers("text/html", errors=(401, 403, 429))}
REDIRECT = ResponseSpec(None, description="Back to the client's redirect URI, with a code or an OAuth error")


# --- discovery ----------------------------------------------------------------------------------

_DISCOVERY_CACHE = {"Cache-Control": "public, max-age=300"}


@get(
    "/.well-known/openid-configuration", opt=ANONYMOUS, operation_id="openidConfiguration", tags=["discovery"]
)
async def openid_configuration(oauth: NamedDependency[OAuthService]) -> Response[dict[str, Any]]:
    return Response(oauth.metadata(), headers=_DISCOVERY_CACHE)


@get(
    "/.well-known/oauth-authorization-server",
    opt=ANONYMOUS,
    operation_id="authorizationServerMetadata",
    tags=["discovery"],
)
async def authorization_server_metadata(oauth: NamedDependency[OAuthService]) -> Response[dict[str, Any]]:
    return Response(oauth.metadata(), headers=_DISCOVERY_CACHE)


@get(
    "/.well-known/jwks.json",
    opt=ANONYMOUS,
    operation_id="jwks",
    tags=["discovery"],
    media_type="application/jwk-set+json",
)
async def jwks(
    oauth: NamedDependency[OAuthService], settings: NamedDependency[AuthSettings]
) -> Response[dict[str, Any]]:
    """The public keys: the next key (not signing yet), the current one, and retired ones whose
    tokens may still be alive. Verifiers may cache this for ``max-age``."""
    return Response(
        oauth.jwks(),
        headers={"Cache-Control": f"public, max-age={settings.jwks_cache_seconds}"},
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
    raise INVALID_AUTHORIZATION_REQUEST(
        str(body.get("error_description") or body.get("error") or "invalid authorization request"),
        status=result.status,
        error=body.get("error", "invalid_request"),
    )


def _client_page(request: Request[Any, Any, Any], browser: Browser, client: Client) -> Response[str]:
    """The login page, naming the client the person signs in to."""
    return browser.login_page(request, client_name=client.name or client.client_id)


@get(
    "/oauth/authorize",
    opt={**ANONYMOUS, **answers("text/html")},
    operation_id="authorize",
    tags=["oauth"],
    responses={302: REDIRECT},
)
async def authorize(
    request: Request[Any, Any, Any],
    oauth: NamedDependency[OAuthService],
    logins: NamedDependency[LoginService],
    browser: NamedDependency[Browser],
    settings: NamedDependency[AuthSettings],
) -> Response[Any]:
    """Start the code flow: a signed-in person is sent back to the client with a code at once;
    anyone else gets the login page."""
    asked = await oauth_request(request, settings, with_form=False)
    session = await logins.session(browser.session_of(request))
    if session is not None:
        asked.auth_time = session.auth_time
    account = session.account if session else None
    result = await oauth.authorize(asked, account, False, request_id(request))
    if isinstance(result, Client):
        return _client_page(request, browser, result)
    return _authorization_answer(result)


@post(
    "/oauth/authorize",
    opt={**LOGIN_PAGE, **SIGN_IN},
    operation_id="authorizeSignIn",
    tags=["oauth"],
    status_code=302,
)
async def authorize_sign_in(
    request: Request[Any, Any, Any],
    oauth: NamedDependency[OAuthService],
    logins: NamedDependency[LoginService],
    browser: NamedDependency[Browser],
    settings: NamedDependency[AuthSettings],
) -> Response[Any]:
    """The login form of the code flow: check the credentials, then continue the flow."""
    form = await request.form()
    username = str(form.get("username") or "")
    if not browser.csrf_ok(request, form.get("csrf_token")):
        return browser.login_page(
            request,
            status=403,
            username=username,
            message="This form expired. Please sign in again.",
        )
    try:
        account = await logins.authenticate(
            username, str(form.get("password") or ""), browser.client_address(request)
        )
    except LoginRefused as refused:
        headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else None
        return browser.login_page(
            request,
            status=refused.status,
            username=username,
            message=refused.message,
            headers=headers,
        )
    session, auth_time = await logins.open_session(account)
    asked = await oauth_request(request, settings, with_form=False)
    asked.auth_time = auth_time
    result = await oauth.authorize(asked, account, True, request_id(request))
    if isinstance(result, Client):  # pragma: no cover - a signed-in person always gets an answer
        return _client_page(request, browser, result)
    return _authorization_answer(result, cookies=[browser.session(session)])


# --- token, revocation, introspection -------------------------------------------------------------


@post(
    "/oauth/token",
    opt={**ANONYMOUS, **TOKEN},
    operation_id="token",
    tags=["oauth"],
    status_code=200,
    responses=oauth_errors(400, 401, 403),
)
async def token(
    request: Request[Any, Any, Any],
    oauth: NamedDependency[OAuthService],
    settings: NamedDependency[AuthSettings],
) -> Response[bytes]:
    """RFC 6749 §3.2: client_credentials, authorization_code (+PKCE), refresh_token."""
    asked = await oauth_request(request, settings)
    result = await oauth.token(asked, request_id(request))
    return result.to_litestar()


@post(
    "/oauth/revoke",
    opt={**ANONYMOUS, **REVOKE},
    operation_id="revoke",
    tags=["oauth"],
    status_code=200,
    responses=oauth_errors(400, 401, 403),
)
async def revoke(
    request: Request[Any, Any, Any],
    oauth: NamedDependency[OAuthService],
    settings: NamedDependency[AuthSettings],
) -> Response[bytes]:
    """RFC 7009: revoke an access token (denied until it expires) or a refresh token (its grant)."""
    asked = await oauth_request(request, settings)
    result = await oauth.revoke(asked, request_id(request))
    return result.to_litestar()


@post(
    "/oauth/introspect",
    opt={**ANONYMOUS, **INTROSPECT},
    operation_id="introspect",
    tags=["oauth"],
    status_code=200,
    responses=oauth_errors(400, 401, 403),
)
async def introspect(
    request: Request[Any, Any, Any],
    oauth: NamedDependency[OAuthService],
    settings: NamedDependency[AuthSettings],
) -> Response[bytes]:
    """RFC 7662, for resource servers: confidential clients registered with ``token:introspect`` (or
    ``admin``). Any other client gets ``{"active": false}`` for every token (RFC 7662 §2.2)."""
    asked = await oauth_request(request, settings)
    result = await oauth.introspect(asked, request_id(request))
    return result.to_litestar()


# --- userinfo -----------------------------------------------------------------------------------------


@get("/oauth/userinfo", guards=[requires("openid")], operation_id="userinfo", tags=["oauth"])
async def userinfo(
    principal: NamedDependency[Principal], oauth: NamedDependency[OAuthService]
) -> dict[str, Any]:
    """OpenID Connect UserInfo: the claims of the person behind the bearer token."""
    return await oauth.userinfo(principal)


@post(
    "/oauth/userinfo",
    guards=[requires("openid")],
    operation_id="userinfoPost",
    tags=["oauth"],
    status_code=200,
)
async def userinfo_post(
    principal: NamedDependency[Principal], oauth: NamedDependency[OAuthService]
) -> dict[str, Any]:
    """The same, by POST (OpenID Connect Core §5.3.1)."""
    return await oauth.userinfo(principal)


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
