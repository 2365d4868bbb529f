"""The login page outside a code flow (``/login``), signing out, and the delegation of login to
the upstream OpenID provider (``/login/upstream`` and its callback)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency

from spicadb_kit.openapi import answers
from spicadb_kit.redirects import safe_next

from ..models import LOGIN_PAGE
from ..pages import PAGE_HEADERS, LoginPage, page_response, upstream_link
from ..runtime import AuthRuntime
from ..services.delegation import Delegation, DelegationFailed
from ..services.login import LoginRefused
from .oauth import ANONYMOUS, client_address


def _page(
    request: Request[Any, Any, Any],
    auth: AuthRuntime,
    next_url: str,
    *,
    status: int = 200,
    message: str | None = None,
    username: str = "",
    signed_in_as: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    csrf, cookie = auth.logins.new_csrf()
    page = LoginPage(
        action=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        csrf=csrf,
        username=username,
        message=message,
        upstream_url=upstream_link(next_url) if auth.upstream else None,
        upstream_name=auth.upstream.label if auth.upstream else None,
        signed_in_as=signed_in_as,
    )
    return page_response(page, status, cookies=[cookie], headers=headers)


def _redirect(location: str, status: int = 303) -> Response[str]:
    return Response("", status_code=status, headers={**PAGE_HEADERS, "Location": location})


@get("/login", opt={**ANONYMOUS, **answers("text/html")}, operation_id="loginPage", tags=["login"])
async def login_page(request: Request[Any, Any, Any], auth: NamedDependency[AuthRuntime]) -> Response[str]:
    """The plain HTML login page; after signing in, the browser goes to ``next`` (a local path)."""
    next_url = safe_next(request.query_params.get("next"), LOGIN_PAGE)
    session = await auth.logins.session(request.cookies.get(auth.logins.session_cookie))
    return _page(request, auth, next_url, signed_in_as=session.account.username if session else None)


@post(
    "/login",
    opt={**ANONYMOUS, **answers("text/html", errors=(401, 403, 429))},
    operation_id="loginSubmit",
    tags=["login"],
    status_code=303,
)
async def login_submit(request: Request[Any, Any, Any], auth: NamedDependency[AuthRuntime]) -> Response[str]:
    next_url = safe_next(request.query_params.get("next"), LOGIN_PAGE)
    form = await request.form()
    username = str(form.get("username") or "")
    if not auth.logins.csrf_ok(
        request.cookies.get(auth.logins.csrf_cookie), form.get("csrf_token"), request.headers.get("origin")
    ):
        return _page(
            request,
            auth,
            next_url,
            status=403,
            username=username,
            message="This form expired. Please sign in again.",
        )
    try:
        account = await auth.logins.authenticate(
            username, str(form.get("password") or ""), client_address(request, auth)
        )
    except LoginRefused as refused:
        headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else None
        return _page(
            request,
            auth,
            next_url,
            status=refused.status,
            username=username,
            message=refused.message,
            headers=headers,
        )
    cookie, _ = await auth.logins.open_session(account)
    response = _redirect(next_url)
    response.set_cookie(cookie)
    return response


@post(
    "/login/logout",
    opt={**ANONYMOUS, **answers("text/html", errors=(403,))},
    operation_id="logout",
    tags=["login"],
    status_code=303,
)
async def logout(request: Request[Any, Any, Any], auth: NamedDependency[AuthRuntime]) -> Response[str]:
    """End the browser session of the login page (tokens already issued live on until revoked)."""
    form = await request.form()
    if not auth.logins.csrf_ok(
        request.cookies.get(auth.logins.csrf_cookie), form.get("csrf_token"), request.headers.get("origin")
    ):
        return _page(request, auth, "/login", status=403, message="This form expired.")
    await auth.logins.close_session(request.cookies.get(auth.logins.session_cookie))
    response = _redirect("/login")
    response.set_cookie(auth.logins.expired_cookie(auth.logins.session_cookie))
    return response


@get(
    "/login/upstream",
    opt={**ANONYMOUS, **answers("text/html", errors=(400, 401, 403, 404))},
    operation_id="upstreamLogin",
    tags=["login"],
    status_code=302,
)
async def upstream_login(
    request: Request[Any, Any, Any], auth: NamedDependency[AuthRuntime]
) -> Response[str]:
    """Send the browser to the upstream provider (PKCE, state and nonce kept here)."""
    next_url = safe_next(request.query_params.get("next"), LOGIN_PAGE)
    try:
        started = await Delegation(auth).start(next_url)
    except DelegationFailed as failed:
        return _page(request, auth, next_url, status=failed.status, message=failed.message)
    response = _redirect(started.url, 302)
    # Lax: sent back with the provider's top-level redirect to the callback
    response.set_cookie(auth.logins.cookie(auth.logins.upstream_cookie, started.state, 600, samesite="lax"))
    return response


@get(
    "/login/upstream/callback",
    opt={**ANONYMOUS, **answers("text/html", errors=(400, 401, 403, 404))},
    operation_id="upstreamCallback",
    tags=["login"],
    status_code=303,
)
async def upstream_callback(
    request: Request[Any, Any, Any], auth: NamedDependency[AuthRuntime]
) -> Response[str]:
    """The provider sends the browser back here with a code: sign the person in, continue."""
    params = request.query_params
    if params.get("error") or not params.get("code") or not params.get("state"):
        message = "The sign-in provider did not sign you in" + (
            f" ({params.get('error')})." if params.get("error") else "."
        )
        return _page(request, auth, "/login", status=401, message=message)
    try:
        account, next_url = await Delegation(auth).finish(
            params["code"], params["state"], request.cookies.get(auth.logins.upstream_cookie)
        )
    except DelegationFailed as failed:
        return _page(request, auth, "/login", status=failed.status, message=failed.message)
    cookie, _ = await auth.logins.open_session(account, method="upstream")
    response = _redirect(next_url)
    response.set_cookie(cookie)
    response.set_cookie(auth.logins.expired_cookie(auth.logins.upstream_cookie))
    return response


ROUTES = [login_page, login_submit, logout, upstream_login, upstream_callback]
