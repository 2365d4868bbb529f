"""The gateway's own routes: the browser session flow and the ingress auth sub-request.

Each is anonymous in the route policy (and for the kit's token middleware): it authenticates its caller
on its own terms.
"""

from __future__ import annotations

import hmac
import html
import secrets
from typing import Annotated, Any
from urllib.parse import unquote, urlencode, urlsplit

import httpx
import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect

from spicadb_kit.errors import Problem
from spicadb_kit.logs import get_logger
from spicadb_kit.openapi import problem_responses
from spicadb_kit.problems import BAD_REQUEST, METHOD_NOT_ALLOWED, NOT_FOUND
from spicadb_kit.redirects import safe_next

from .authn import Authenticator, insufficient_scope
from .gateway import Gateway, normalise_path
from .policy import NotAllowed
from .problems import AUTH_UNREACHABLE, LOGIN_REFUSED, LOGIN_STATE
from .sessions import LOGIN_STATE_SECONDS, OAuthError, SessionStore, csrf_token

log = get_logger(__name__)

ANONYMOUS = {"anonymous": True}


def _gateway(request: Request[Any, Any, Any]) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    assert gateway.authn is not None
    assert gateway.authn.sessions is not None
    return gateway


LOGIN_COOKIE_PATH = "/auth/callback"


def _login_cookie(gateway: Gateway, state: str | None) -> Cookie:
    """Binds a login in progress to the browser that started it (no login CSRF: a callback link made by
    someone else's login does not sign this browser in as them)."""
    settings = gateway.settings
    return Cookie(
        key=settings.login_cookie_name,
        value=state or "",
        path=LOGIN_COOKIE_PATH,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        max_age=LOGIN_STATE_SECONDS if state else 0,
    )


def _session_cookies(gateway: Gateway, session_id: str | None) -> list[Cookie]:
    settings = gateway.settings
    max_age = settings.session_lifetime_seconds if session_id else 0
    common: dict[str, Any] = {
        "path": "/",
        "secure": settings.secure_cookies,
        "samesite": "lax",
        "max_age": max_age,
    }
    return [
        Cookie(key=settings.session_cookie_name, value=session_id or "", httponly=True, **common),
        # readable by the frontend's script, which echoes it in X-CSRF-Token on unsafe requests
        Cookie(
            key=settings.csrf_cookie,
            value=csrf_token(session_id) if session_id else "",
            httponly=False,
            **common,
        ),
    ]


@get(
    "/auth/login",
    opt=ANONYMOUS,
    operation_id="login",
    tags=["session"],
    summary="Start a browser session",
    status_code=302,
)
async def login(
    request: Request[Any, Any, Any], next_path: Annotated[str | None, QueryParameter(name="next")] = None
) -> Redirect:
    """Redirects the browser to the auth service (authorization code + PKCE S256); it comes back to
    ``/auth/callback``, then to ``next`` (a path on this site)."""
    gateway = _gateway(request)
    sessions = gateway.authn.sessions  # type: ignore[union-attr]
    assert sessions is not None
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    await SessionStore(sessions.pool).save_login(state, verifier, safe_next(next_path))
    metadata = await sessions.endpoints.metadata()
    async with sessions.endpoints.client() as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"], state=state, code_verifier=verifier
        )
    return Redirect(
        url, status_code=302, headers={"Cache-Control": "no-store"}, cookies=[_login_cookie(gateway, state)]
    )


@get(
    "/auth/callback",
    opt=ANONYMOUS,
    operation_id="loginCallback",
    tags=["session"],
    summary="End of the login",
    status_code=302,
)
async def callback(
    request: Request[Any, Any, Any],
    login_state: Annotated[str | None, QueryParameter(name="state")] = None,
    code: FromQuery[str | None] = None,
    error: FromQuery[str | None] = None,
    error_description: FromQuery[str | None] = None,
) -> Redirect:
    gateway = _gateway(request)
    sessions = gateway.authn.sessions  # type: ignore[union-attr]
    assert sessions is not None
    assert gateway.authn is not None
    if not login_state:
        raise LOGIN_STATE("the callback has no state")
    bound = request.cookies.get(gateway.settings.login_cookie_name)
    if not bound or not hmac.compare_digest(bound, login_state):
        raise LOGIN_STATE("this login was not started by this browser: start again at /auth/login")
    pending = await SessionStore(sessions.pool).take_login(login_state)
    if pending is None:
        raise LOGIN_STATE("unknown or expired login state: start again at /auth/login")
    if error or not code:
        raise LOGIN_REFUSED(f"login refused: {error_description or error or 'no code'}")
    metadata = await sessions.endpoints.metadata()
    try:
        async with sessions.endpoints.client() as client:
            token: dict[str, Any] = dict(
                await client.fetch_token(
                    sessions.endpoints.internal(metadata["token_endpoint"]),
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending["code_verifier"],
                )
            )
    except OAuthError as exc:
        raise LOGIN_REFUSED(f"the code exchange failed: {exc.error}") from exc
    except httpx.HTTPError as exc:
        raise AUTH_UNREACHABLE("the auth service is unreachable") from exc
    principal = await gateway.authn.verify(token["access_token"])
    session_id = await sessions.create(
        token,
        subject=principal.subject,
        client_id=principal.client_id,
        scope=" ".join(sorted(principal.scopes)),
    )
    log.info("session started", subject=principal.subject)
    return Redirect(
        pending["next_path"],
        status_code=302,
        cookies=[*_session_cookies(gateway, session_id), _login_cookie(gateway, None)],
        headers={"Cache-Control": "no-store"},
    )


async def _logout(request: Request[Any, Any, Any], next_path: str | None) -> Redirect:
    """End the gateway's session, then the auth service's login session (RP-initiated logout at its
    ``end_session_endpoint``, which sends the browser on to ``next``): without the second, the next
    sign-in would pass the login page and sign the browser straight back in."""
    gateway = _gateway(request)
    sessions = gateway.authn.sessions  # type: ignore[union-attr]
    assert sessions is not None
    session_id = request.cookies.get(gateway.settings.session_cookie_name)
    if session_id:
        await sessions.end(session_id)
    target = safe_next(next_path)
    end_session = (await sessions.endpoints.metadata()).get("end_session_endpoint")
    if end_session:
        back = gateway.settings.public_url.rstrip("/") + target
        query = urlencode({"client_id": gateway.settings.oauth_client_id, "post_logout_redirect_uri": back})
        target = f"{end_session}?{query}"
    return Redirect(
        target,
        status_code=303,
        cookies=_session_cookies(gateway, None),
        headers={"Cache-Control": "no-store"},
    )


@get(
    "/auth/logout",
    opt=ANONYMOUS,
    operation_id="logout",
    tags=["session"],
    summary="End the browser session",
    status_code=303,
)
async def logout(
    request: Request[Any, Any, Any], next_path: Annotated[str | None, QueryParameter(name="next")] = None
) -> Redirect:
    return await _logout(request, next_path)


@post(
    "/auth/logout",
    opt=ANONYMOUS,
    operation_id="logoutPost",
    tags=["session"],
    summary="End the browser session",
    status_code=303,
)
async def logout_post(
    request: Request[Any, Any, Any], next_path: Annotated[str | None, QueryParameter(name="next")] = None
) -> Redirect:
    return await _logout(request, next_path)


@get(
    "/auth/ingress",
    opt=ANONYMOUS,
    operation_id="ingressAuth",
    tags=["ingress"],
    summary="Auth sub-request",
    # an empty 200 (the identity in X-Auth-Request-* headers), or a problem with a challenge
    responses={
        200: ResponseSpec(None, description="Allowed: the caller's identity in X-Auth-Request-* headers"),
        **problem_responses(401, 403, 404, 405),
    },
)
async def ingress(
    request: Request[Any, Any, Any],
    required: Annotated[list[str] | None, QueryParameter(name="scope")] = None,
    satisfy: FromQuery[str] = "all",
) -> Response[bytes]:
    """For an nginx ``auth-url``: 200 with the caller's identity in ``X-Auth-Request-*`` headers (and
    ``Authorization``, so a session's token reaches the service), or 401/403 with an RFC 6750 challenge.

    The scopes needed are the ``scope`` parameters plus those of the route policy for the original
    request (``X-Original-URL`` and ``X-Original-Method``, set by ingress-nginx)."""
    gateway = _gateway(request)
    authn = gateway.authn
    assert authn is not None
    if not gateway.settings.ingress_auth:
        raise NOT_FOUND("ingress auth sub-requests are not enabled here")
    if satisfy not in ("all", "any"):
        raise BAD_REQUEST("satisfy must be all or any")
    wanted = set(required or ())
    method = request.headers.get("x-original-method", "GET").upper()
    anonymous = False
    original = request.headers.get("x-original-url")
    if original:
        raw_path = urlsplit(original).path or "/"
        path = normalise_path({"path": unquote(raw_path), "raw_path": raw_path.encode("latin-1")})
        resolved = gateway.policy.resolve(path, method)
        if resolved is None:
            raise NOT_FOUND(f"no route for {path}")
        if isinstance(resolved, NotAllowed):
            raise METHOD_NOT_ALLOWED(f"{method} is not allowed on {path}")
        if resolved.local:  # the gateway's own path (its health, /metrics), on its way to another service
            raise NOT_FOUND(f"no route for {path}")
        anonymous = resolved.anonymous and not wanted
        wanted |= set(resolved.scopes)
    authorization = request.headers.get("authorization")
    session_id = None if authorization else request.cookies.get(gateway.settings.session_cookie_name)
    if anonymous and not authorization and not session_id:
        return Response(b"", status_code=200, headers={"Cache-Control": "no-store"})
    identity = await authn.identify(authorization, session_id)
    principal = identity.principal
    if wanted:
        granted = principal.has(*wanted) if satisfy == "all" else any(principal.has(s) for s in wanted)
        if not granted:
            raise insufficient_scope(frozenset(wanted), principal)
    Authenticator.check_csrf(
        identity,
        method,
        request.cookies.get(gateway.settings.csrf_cookie),
        request.headers.get("x-csrf-token"),
    )
    return Response(
        b"",
        status_code=200,
        headers={
            "X-Auth-Request-User": principal.subject,
            "X-Auth-Request-Client": principal.client_id,
            "X-Auth-Request-Scopes": " ".join(sorted(principal.scopes)),
            "X-Auth-Request-Token": identity.token,
            "Authorization": f"Bearer {identity.token}",
            "Cache-Control": "no-store",
        },
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SPICA-DB</title></head>
<body><h1>SPICA-DB</h1>
<p>{status}</p>
<ul><li><a href="/openapi.json">API description (OpenAPI)</a></li>{links}</ul>
</body></html>
"""


@get(
    "/auth",
    opt=ANONYMOUS,
    operation_id="sessionPage",
    tags=["session"],
    summary="Session status page",
    media_type="text/html",
)
async def session_page(request: Request[Any, Any, Any]) -> Response[str]:
    """A plain page (no script, no style): who the browser is signed in as, and the way in or out."""
    gateway = _gateway(request)
    session_id = request.cookies.get(gateway.settings.session_cookie_name)
    subject = None
    if session_id:
        try:
            identity = await gateway.authn.identify(None, session_id)  # type: ignore[union-attr]
            subject = identity.principal.subject
        except Problem:
            subject = None
    if subject:
        status = f"Signed in as <strong>{html.escape(subject)}</strong>."
        links = '<li><a href="/auth/logout">Sign out</a></li>'
    else:
        status = "Not signed in."
        links = '<li><a href="/auth/login">Sign in</a></li>'
    return Response(
        _PAGE.format(status=status, links=links),
        media_type="text/html",
        headers={"Cache-Control": "no-store"},
    )


class Caller(msgspec.Struct):
    """Who a token or a session speaks for, as the gateway sees it."""

    subject: str
    client_id: str
    scopes: list[str]
    expires_at: int | None
    via: str  # "bearer" or "session"


@get("/auth/whoami", opt=ANONYMOUS, operation_id="whoami", tags=["session"], summary="Who is calling")
async def whoami(request: Request[Any, Any, Any]) -> Caller:
    """Protected (a valid token or session, any scope): lets a robot or the frontend check its credentials."""
    gateway = _gateway(request)
    assert gateway.authn is not None
    identity = await gateway.authn.identify(
        request.headers.get("authorization"), request.cookies.get(gateway.settings.session_cookie_name)
    )
    principal = identity.principal
    return Caller(
        subject=principal.subject,
        client_id=principal.client_id,
        scopes=sorted(principal.scopes),
        expires_at=principal.expires_at,
        via="session" if identity.session_id else "bearer",
    )


ROUTE_HANDLERS = [session_page, login, callback, logout, logout_post, ingress, whoami]
