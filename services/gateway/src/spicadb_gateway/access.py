"""Who is calling and whether they may: the bearer token or session cookie checked (scopes, CSRF), and
the rate limit per client (per person for browser users) or, for anonymous callers and failed
attempts, per address."""

from __future__ import annotations

import math

from spicadb_kit.errors import Problem
from spicadb_kit.runtime.serve import TrustedProxies

from .asgi import Scope
from .authn import Authenticator, Identity
from .config import GatewaySettings
from .headers import cookie_value
from .policy import Route
from .problems import RATE_LIMITED
from .ratelimit import RateLimiter
from .request import Request, client_address


class Access:
    def __init__(self, settings: GatewaySettings) -> None:
        self.limiter = RateLimiter(settings.rate_limit_rate, settings.rate_limit_burst)
        self.proxies = TrustedProxies(settings.forwarded_allow_ips)
        self.session_cookie = settings.session_cookie_name.encode()
        self.csrf_cookie = settings.csrf_cookie.encode()

    async def identify(
        self, authn: Authenticator, scope: Scope, request: Request, route: Route, method: str
    ) -> Identity:
        """The caller of a protected route, with the route's scopes (401/403 otherwise)."""
        authorization = request.authorization.decode("latin-1") if request.authorization is not None else None
        session_id = None
        if authorization is None and request.cookie is not None:
            session_id = cookie_value(request.cookie, self.session_cookie)
        try:
            identity = await authn.identify(authorization, session_id)
        except Problem as problem:
            if problem.status == 401:  # failed attempts count against the caller's address
                self.limit(scope, request, None)
            raise
        Authenticator.authorize(identity, route.scopes)
        csrf = request.csrf.decode("latin-1") if request.csrf is not None else None
        Authenticator.check_csrf(identity, method, cookie_value(request.cookie, self.csrf_cookie), csrf)
        return identity

    async def identify_optional(
        self, authn: Authenticator, scope: Scope, request: Request, method: str
    ) -> Identity | None:
        """Routes that also answer without credentials (downloads, previews, the VO endpoints): a bearer
        token sent is still verified, revocation included (a revoked or invalid one is 401, never
        silently anonymous); a session cookie that no longer works, or an unsafe method without the CSRF
        header, leaves the call anonymous (a stale cookie must not break public pages)."""
        # other schemes are the service's own business (Basic client credentials at /oauth/token)
        if request.authorization is not None and request.authorization[:7].lower() == b"bearer ":
            try:
                return await authn.identify(request.authorization.decode("latin-1"), None)
            except Problem as problem:
                if problem.status == 401:  # failed attempts count against the caller's address
                    self.limit(scope, request, None)
                raise
        session_id = cookie_value(request.cookie, self.session_cookie)
        if not session_id:
            return None
        try:
            identity = await authn.identify(None, session_id)
            csrf = request.csrf.decode("latin-1") if request.csrf is not None else None
            Authenticator.check_csrf(identity, method, cookie_value(request.cookie, self.csrf_cookie), csrf)
        except Problem:
            return None
        return identity

    def limit(self, scope: Scope, request: Request, identity: Identity | None) -> None:
        """429 with Retry-After when the caller's bucket is empty."""
        if not self.limiter.enabled:
            return
        if identity is not None:
            # per client and, for people, per person: every browser user shares the frontend's client_id
            principal = identity.principal
            key = "c:" + principal.client_id + "/" + principal.subject
        else:
            key = "ip:" + client_address(self.proxies, scope, request)
        wait = self.limiter.take(key)
        if wait:
            raise RATE_LIMITED(
                "too many requests: slow down",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
