"""The plain HTML login page (no JavaScript, no external resource), every value escaped."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode

from litestar import MediaType, Response
from litestar.datastructures import Cookie

# a login form must not be framed (clickjacking), cached or leak its URL (codes, states)
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}
main{max-width:24rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:.5rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem;margin-top:0}label{display:block;margin:.8rem 0 .2rem}
input[type=text],input[type=password]{width:100%;padding:.5rem;box-sizing:border-box}
button,.upstream{margin-top:1.2rem;padding:.6rem 1rem;width:100%;display:block;text-align:center;box-sizing:border-box}
.error{color:#a00;background:#fee;padding:.5rem;border-radius:.3rem}.muted{color:#666;font-size:.9rem}
"""


@dataclass
class LoginPage:
    action: str
    csrf: str
    username: str = ""
    message: str | None = None
    client_name: str | None = None
    upstream_url: str | None = None
    upstream_name: str | None = None
    signed_in_as: str | None = None

    def render(self) -> str:
        parts = [
            "<!doctype html><html lang=en><head><meta charset=utf-8>",
            '<meta name=viewport content="width=device-width,initial-scale=1">',
            f"<title>SPICA-DB sign in</title><style>{_STYLE}</style></head><body><main>",
            "<h1>Sign in to SPICA-DB</h1>",
        ]
        if self.client_name:
            parts.append(f"<p class=muted>to continue to <strong>{escape(self.client_name)}</strong></p>")
        if self.signed_in_as:
            parts.append(f"<p>You are signed in as <strong>{escape(self.signed_in_as)}</strong>.</p>")
        if self.message:
            parts.append(f"<p class=error role=alert>{escape(self.message)}</p>")
        parts += [
            f'<form method=post action="{escape(self.action, quote=True)}">',
            f'<input type=hidden name=csrf_token value="{escape(self.csrf, quote=True)}">',
            "<label for=username>User name</label>",
            f'<input id=username name=username type=text autocomplete=username required value="{escape(self.username, quote=True)}">',
            "<label for=password>Password</label>",
            "<input id=password name=password type=password autocomplete=current-password required>",
            "<button type=submit>Sign in</button></form>",
        ]
        if self.upstream_url:
            label = escape(self.upstream_name or "single sign-on")
            parts.append(
                f'<a class=upstream href="{escape(self.upstream_url, quote=True)}">Sign in with {label}</a>'
            )
        parts.append("</main></body></html>")
        return "".join(parts)


@dataclass
class SignOutPage:
    """Asks before signing out when another site sent the browser here (RP-initiated logout without a
    first-party request): a link elsewhere must not sign anyone out by itself."""

    action: str
    csrf: str
    message: str | None = None

    def render(self) -> str:
        parts = [
            "<!doctype html><html lang=en><head><meta charset=utf-8>",
            '<meta name=viewport content="width=device-width,initial-scale=1">',
            f"<title>SPICA-DB sign out</title><style>{_STYLE}</style></head><body><main>",
            "<h1>Sign out of SPICA-DB?</h1>",
            "<p>Another page asked to sign you out of SPICA-DB.</p>",
        ]
        if self.message:
            parts.append(f"<p class=error role=alert>{escape(self.message)}</p>")
        parts += [
            f'<form method=post action="{escape(self.action, quote=True)}">',
            f'<input type=hidden name=csrf_token value="{escape(self.csrf, quote=True)}">',
            "<button type=submit>Sign out</button></form>",
            '<p class=muted><a href="/">Stay signed in</a></p>',
            "</main></body></html>",
        ]
        return "".join(parts)


def page_response(
    page: LoginPage | SignOutPage,
    status: int = 200,
    cookies: list[Cookie] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    return Response(
        page.render(),
        status_code=status,
        # litestar adds "; charset=utf-8" to text types itself (naming it here doubled it)
        media_type=MediaType.HTML,
        headers={**PAGE_HEADERS, **(headers or {})},
        cookies=cookies or [],
    )


def upstream_link(next_url: str) -> str:
    return "/login/upstream?" + urlencode({"next": next_url})
