"""Where a browser may be sent after signing in or out: a path on this origin, never another site.

One rule for the auth service's login pages and the gateway's browser sessions.

Browsers are lenient with ``Location``: they drop tabs and newlines anywhere (``/\\t/evil`` is
``//evil``), read ``\\`` as ``/``, and resolve ``//host`` as another site. So a target is
refused when it, or what it decodes to (percent-decoding repeated, as a chain of redirects or a
lenient server might), holds a control character (C0, DEL, C1) or a backslash, has a scheme or
an authority, does not start with one ``/``, or has dot segments (``/.//evil`` is ``//evil``
once resolved). What passes is rebuilt from its parsed path, query and fragment, re-quoted: the
``Location`` sent is plain ASCII and means what was checked.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

__all__ = ["FALLBACK", "MAX_LENGTH", "safe_next"]

FALLBACK = "/"
MAX_LENGTH = 2048
# C0 controls, DEL and the C1 controls
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# what RFC 3986 lets a path, a query or a fragment hold besides unreserved characters; '%' is kept
# (the target is quoted already; decoding it here would change its meaning)
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
_DECODING_ROUNDS = 4


def _decodings(value: str) -> list[str] | None:
    """The value and each of its percent-decodings, until stable (None: still changing)."""
    seen = [value]
    for _ in range(_DECODING_ROUNDS):
        decoded = unquote(seen[-1], errors="strict") if "%" in seen[-1] else seen[-1]
        if decoded == seen[-1]:
            return seen
        seen.append(decoded)
    return None


def _bad_path(path: str) -> bool:
    if not path.startswith("/") or path.startswith("//"):
        return True
    return any(segment in (".", "..") for segment in path.split("/"))


def safe_next(value: str | None, fallback: str = FALLBACK) -> str:
    """``value`` normalised when it is a path on this origin, else ``fallback``."""
    if not value or len(value) > MAX_LENGTH:
        return fallback
    try:
        decodings = _decodings(value)
    except UnicodeDecodeError:
        return fallback
    if decodings is None:
        return fallback
    for form in decodings:
        if _CONTROL.search(form) or "\\" in form:
            return fallback
        if _bad_path(form.split("?", 1)[0].split("#", 1)[0]):
            return fallback
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or _bad_path(parts.path):
        return fallback
    target = quote(parts.path, safe=_PATH_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=_QUERY_SAFE)
    if parts.fragment:
        target += "#" + quote(parts.fragment, safe=_QUERY_SAFE)
    return target
