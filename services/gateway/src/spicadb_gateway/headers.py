"""Header sets of the proxy: what never crosses a hop, what the gateway sets itself, what every answer
carries (security headers; CORS in cors.py), and the gateway's own cookies in a Cookie header."""

from __future__ import annotations

# RFC 9110 §7.6.1 connection-specific fields, and the de-facto ones
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
    }
)

# identity headers the gateway (or, in ingress mode, the ingress) sets; a client's own are dropped
IDENTITY_HEADERS = (
    b"x-auth-request-user",
    b"x-auth-request-client",
    b"x-auth-request-scopes",
    b"x-auth-request-token",
)

REQUEST_ID = b"x-request-id"

# Content-Security-Policy of the gateway's own HTML (nothing but itself, never framed)
GATEWAY_HTML_CSP = (
    b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    b"frame-ancestors 'none'; base-uri 'none'"
)
# for proxied answers that set no policy of their own: only the framing rule
DEFAULT_CSP = b"frame-ancestors 'none'"


def security_headers(hsts: bool) -> list[tuple[bytes, bytes]]:
    """Added to every answer that does not set them itself."""
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"x-frame-options", b"DENY"),
        (b"content-security-policy", DEFAULT_CSP),
    ]
    if hsts:
        headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return headers


def cookie_value(cookie_header: bytes | None, name: bytes) -> str | None:
    """One cookie's value from a Cookie header (first one wins)."""
    if not cookie_header:
        return None
    for part in cookie_header.split(b";"):
        key, sep, value = part.strip().partition(b"=")
        if sep and key == name:
            return value.strip().strip(b'"').decode("latin-1")
    return None


def without_cookies(cookie_header: bytes, names: frozenset[bytes]) -> bytes:
    """The Cookie header minus the gateway's own cookies (services never see the session id)."""
    kept = [p.strip() for p in cookie_header.split(b";") if p.strip().partition(b"=")[0] not in names]
    return b"; ".join(kept)
