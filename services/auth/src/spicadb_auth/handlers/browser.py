"""What the browser-facing handlers (the login page, the code flow's login form, the upstream
login) share: their cookies, the CSRF check of their forms, the client address, the login page.

CSRF: the login form carries a random token that must equal the one in a ``SameSite=Strict``,
HttpOnly cookie set with the form (double submit; the cookie is ``__Host-`` prefixed over
https, so a sibling subdomain cannot plant one); a browser's ``Origin``, when sent, must be the
issuer's.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any, Literal
from urllib.parse import urlsplit

from litestar import Request, Response
from litestar.datastructures import Cookie

from spicadb_kit.runtime.serve import TrustedProxies

from ..addresses import client_address
from ..config import AuthSettings
from ..pages import LoginPage, page_response, upstream_link


class Browser:
    def __init__(self, settings: AuthSettings, proxies: TrustedProxies, upstream_label: str | None) -> None:
        self.settings = settings
        self.proxies = proxies
        # None: no upstream provider, no link to it on the login page
        self.upstream_label = upstream_label
        prefix = "__Host-" if settings.secure_cookies else ""
        self.session_cookie = f"{prefix}spicadb_session"
        self.csrf_cookie = f"{prefix}spicadb_csrf"
        self.upstream_cookie = f"{prefix}spicadb_upstream"

    # --- cookies ---------------------------------------------------------------------------------

    def cookie(
        self, key: str, value: str, max_age: int | None, samesite: Literal["lax", "strict"] = "strict"
    ) -> Cookie:
        return Cookie(
            key=key,
            value=value,
            path="/",
            max_age=max_age,
            httponly=True,
            secure=self.settings.secure_cookies,
            samesite=samesite,
        )

    def expired_cookie(self, key: str) -> Cookie:
        return self.cookie(key, "", 0)

    def session(self, value: str) -> Cookie:
        """The cookie of a browser session just opened (Lax: it comes back with the redirects of a
        code flow started elsewhere)."""
        return self.cookie(self.session_cookie, value, self.settings.session_lifetime, samesite="lax")

    def session_of(self, request: Request[Any, Any, Any]) -> str | None:
        return request.cookies.get(self.session_cookie)

    # --- the form --------------------------------------------------------------------------------

    def new_csrf(self) -> tuple[str, Cookie]:
        token = secrets.token_urlsafe(32)
        return token, self.cookie(self.csrf_cookie, token, 3600)

    def csrf_ok(self, request: Request[Any, Any, Any], submitted: Any) -> bool:
        origin = request.headers.get("origin")
        if origin and origin != "null" and _origin(origin) != _origin(self.settings.issuer):
            return False
        cookie = request.cookies.get(self.csrf_cookie)
        return bool(cookie and submitted and hmac.compare_digest(cookie, submitted))

    def client_address(self, request: Request[Any, Any, Any]) -> str:
        """The peer, or the client a trusted proxy in front of it names (see addresses.py)."""
        peer = request.client.host if request.client else None
        return client_address(self.proxies, peer, request.headers.getall("x-forwarded-for", []))

    def login_page(
        self,
        request: Request[Any, Any, Any],
        *,
        upstream_next: str | None = None,
        status: int = 200,
        message: str | None = None,
        username: str = "",
        client_name: str | None = None,
        signed_in_as: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response[str]:
        """The login page posting back to this URL; ``upstream_next``: where the upstream login
        returns to (this URL when None)."""
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        csrf, cookie = self.new_csrf()
        upstream = self.upstream_label is not None
        page = LoginPage(
            action=here,
            csrf=csrf,
            username=username,
            message=message,
            client_name=client_name,
            upstream_url=upstream_link(upstream_next or here) if upstream else None,
            upstream_name=self.upstream_label,
            signed_in_as=signed_in_as,
        )
        return page_response(page, status, cookies=[cookie], headers=headers)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
