"""The login page outside a code flow (``/login``), signing out, and the delegation of login to
the upstream OpenID provider (``/login/upstream`` and its callback)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter

from spicadb_kit.openapi import answers
from spicadb_kit.redirects import safe_next

from ..models import LOGIN_PAGE
from ..pages import PAGE_HEADERS, SignOutPage, page_response
from ..services.delegation import Delegation, DelegationFailed
from ..services.login import LoginRefused, LoginService
from .browser import Browser
from .forms import SIGN_IN, SIGN_OUT
from .oauth import ANONYMOUS


def _redirect(location: str, status: int = 303) -> Response[str]:
    return Response("", status_code=status, headers={**PAGE_HEADERS, "Location": location})


@get("/login", opt={**ANONYMOUS, **answers("text/html")}, operation_id="loginPage", tags=["login"])
async def login_page(
    request: Request[Any, Any, Any], logins: NamedDependency[LoginService], browser: NamedDependency[Browser]
) -> Response[str]:
    """The plain HTML login page; after signing in, the browser goes to ``next`` (a local path)."""
    next_url = safe_next(request.query_params.get("next"), LOGIN_PAGE)
    session = await logins.session(browser.session_of(request))
    return browser.login_page(
        request, upstream_next=next_url, signed_in_as=session.account.username if session else None
    )


@post(
    "/login",
    opt={**ANONYMOUS, **answers("text/html", errors=(401, 403, 429)), **SIGN_IN},
    operation_id="loginSubmit",
    tags=["login"],
    status_code=303,
)
async def login_submit(
    request: Request[Any, Any, Any], logins: NamedDependency[LoginService], browser: NamedDependency[Browser]
) -> Response[str]:
    next_url = safe_next(request.query_params.get("next"), LOGIN_PAGE)
    form = await request.form()
    username = str(form.get("username") or "")
    if not browser.csrf_ok(request, form.get("csrf_token")):
        return browser.login_page(
            request,
            upstream_next=next_url,
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
            upstream_next=next_url,
            status=refused.status,
            username=username,
            message=refused.message,
            headers=headers,
        )
    session, _ = await logins.open_session(account)
    response = _redirect(next_url)
    response.set_cookie(browser.session(session))
    return response


@post(
    "/login/logout",
    opt={**ANONYMOUS, **answers("text/html", errors=(403,)), **SIGN_OUT},
    operation_id="logout",
    tags=["login"],
    status_code=303,
)
async def logout(
    request: Request[Any, Any, Any], logins: NamedDependency[LoginService], browser: NamedDependency[Browser]
) -> Response[str]:
    """End the browser session of the login page (tokens already issued live on until revoked)."""
    form = await request.form()
    if not browser.csrf_ok(request, form.get("csrf_token")):
        return browser.login_page(request, upstream_next="/login", status=403, message="This form expired.")
    await logins.close_session(browser.session_of(request))
    response = _redirect("/login")
    response.set_cookie(browser.expired_cookie(browser.session_cookie))
    return response


END_SESSION = {
    303: ResponseSpec(None, description="Signed out: to post_logout_redirect_uri when allowed, else /login"),
}
# Sec-Fetch-Site values of a request this site (or the person, typing the address) made
FIRST_PARTY = frozenset({"same-origin", "none"})


@get(
    "/oauth/logout",
    opt={**ANONYMOUS, **answers("text/html")},
    operation_id="endSession",
    tags=["oauth"],
    status_code=303,
    responses=END_SESSION,
)
async def end_session(
    request: Request[Any, Any, Any],
    logins: NamedDependency[LoginService],
    browser: NamedDependency[Browser],
    client_id: Annotated[str | None, QueryParameter(max_length=200)] = None,
    post_logout_redirect_uri: Annotated[str | None, QueryParameter(max_length=2048)] = None,
    logout_state: Annotated[str | None, QueryParameter(name="state", max_length=500)] = None,
    id_token_hint: Annotated[str | None, QueryParameter(max_length=8192)] = None,
) -> Response[str]:
    """OpenID Connect RP-initiated logout: end the login session of this browser (its cookie), then
    go to ``post_logout_redirect_uri`` with ``state`` when it is a path on this origin or one of the
    client's registered redirect URIs; anywhere else asked for, the login page. A request another site
    started (``Sec-Fetch-Site`` cross-site or same-site) gets a page asking first (200), whose form posts
    here; ``id_token_hint`` is accepted and not needed."""
    if request.headers.get("sec-fetch-site", "none") not in FIRST_PARTY:
        return _ask_before_signing_out(request, browser)
    return await _end_session(request, logins, browser, client_id, post_logout_redirect_uri, logout_state)


@post(
    "/oauth/logout",
    opt={**ANONYMOUS, **answers("text/html", errors=(403,)), **SIGN_OUT},
    operation_id="endSessionConfirmed",
    tags=["oauth"],
    status_code=303,
    responses=END_SESSION,
)
async def end_session_confirmed(
    request: Request[Any, Any, Any],
    logins: NamedDependency[LoginService],
    browser: NamedDependency[Browser],
    client_id: Annotated[str | None, QueryParameter(max_length=200)] = None,
    post_logout_redirect_uri: Annotated[str | None, QueryParameter(max_length=2048)] = None,
    logout_state: Annotated[str | None, QueryParameter(name="state", max_length=500)] = None,
) -> Response[str]:
    """The sign-out page's button (its CSRF token checked): as ``GET /oauth/logout`` from this site."""
    form = await request.form()
    if not browser.csrf_ok(request, form.get("csrf_token")):
        return _ask_before_signing_out(request, browser, status=403, message="This form expired.")
    return await _end_session(request, logins, browser, client_id, post_logout_redirect_uri, logout_state)


def _ask_before_signing_out(
    request: Request[Any, Any, Any], browser: Browser, status: int = 200, message: str | None = None
) -> Response[str]:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    csrf, cookie = browser.new_csrf()
    return page_response(SignOutPage(action=here, csrf=csrf, message=message), status, cookies=[cookie])


async def _end_session(
    request: Request[Any, Any, Any],
    logins: LoginService,
    browser: Browser,
    client_id: str | None,
    post_logout_redirect_uri: str | None,
    logout_state: str | None,
) -> Response[str]:
    await logins.close_session(browser.session_of(request))
    target = await logins.after_logout(client_id, post_logout_redirect_uri)
    if target and logout_state:
        target += ("&" if urlsplit(target).query else "?") + urlencode({"state": logout_state})
    response = _redirect(target or "/login")
    response.set_cookie(browser.expired_cookie(browser.session_cookie))
    return response


@get(
    "/login/upstream",
    opt={**ANONYMOUS, **answers("text/html", errors=(400, 401, 403, 404))},
    operation_id="upstreamLogin",
    tags=["login"],
    status_code=302,
)
async def upstream_login(
    request: Request[Any, Any, Any],
    delegation: NamedDependency[Delegation],
    browser: NamedDependency[Browser],
) -> Response[str]:
    """Send the browser to the upstream provider (PKCE, state and nonce kept here)."""
    next_url = safe_next(request.query_params.get("next"), LOGIN_PAGE)
    try:
        started = await delegation.start(next_url)
    except DelegationFailed as failed:
        return browser.login_page(
            request, upstream_next=next_url, status=failed.status, message=failed.message
        )
    response = _redirect(started.url, 302)
    # Lax: sent back with the provider's top-level redirect to the callback
    response.set_cookie(browser.cookie(browser.upstream_cookie, started.state, 600, samesite="lax"))
    return response


@get(
    "/login/upstream/callback",
    opt={**ANONYMOUS, **answers("text/html", errors=(400, 401, 403, 404))},
    operation_id="upstreamCallback",
    tags=["login"],
    status_code=303,
)
async def upstream_callback(
    request: Request[Any, Any, Any],
    delegation: NamedDependency[Delegation],
    logins: NamedDependency[LoginService],
    browser: NamedDependency[Browser],
) -> Response[str]:
    """The provider sends the browser back here with a code: sign the person in, continue."""
    params = request.query_params
    if params.get("error") or not params.get("code") or not params.get("state"):
        message = "The sign-in provider did not sign you in" + (
            f" ({params.get('error')})." if params.get("error") else "."
        )
        return browser.login_page(request, upstream_next="/login", status=401, message=message)
    try:
        account, next_url = await delegation.finish(
            params["code"], params["state"], request.cookies.get(browser.upstream_cookie)
        )
    except DelegationFailed as failed:
        return browser.login_page(
            request, upstream_next="/login", status=failed.status, message=failed.message
        )
    session, _ = await logins.open_session(account, method="upstream")
    response = _redirect(next_url)
    response.set_cookie(browser.session(session))
    response.set_cookie(browser.expired_cookie(browser.upstream_cookie))
    return response


ROUTES = [
    login_page,
    login_submit,
    logout,
    end_session,
    end_session_confirmed,
    upstream_login,
    upstream_callback,
]
