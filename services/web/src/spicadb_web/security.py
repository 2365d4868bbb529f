"""The console's security headers on every answer: a strict Content-Security-Policy (nothing inline,
nothing from elsewhere: scripts and styles are the console's own files), no framing, no sniffing."""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

# connect-src: the console itself, and the SAMP Web Profile hub on the visitor's own machine (its port is
# fixed by the standard), which static/samp.js calls to send the selected targets to Aspro2 or TOPCAT
SAMP_HUB = "http://localhost:21012"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    f"connect-src 'self' {SAMP_HUB}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)


def security_headers(app: ASGIApp) -> ASGIApp:
    """ASGI middleware adding HEADERS to every HTTP answer that does not set them itself."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in HEADERS if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
