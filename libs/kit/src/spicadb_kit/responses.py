"""Response headers that carry names users chose: file names in ``Content-Disposition``."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

__all__ = ["content_disposition"]

# RFC 8187 attr-char, the characters a filename* value carries unencoded
_ATTR_CHARS = "!#$&+-.^_`|~"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _ascii_fallback(filename: str) -> str:
    # accents dropped where a letter has a plain form (é -> e), anything else non-ASCII becomes "_"
    decomposed = unicodedata.normalize("NFKD", filename)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    text = _CONTROL.sub("_", "".join(c if c.isascii() else "_" for c in plain))
    return text.replace("\\", "\\\\").replace('"', '\\"')


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """``Content-Disposition`` for a file of any name (RFC 6266): a quoted ASCII ``filename`` for old
    clients, and ``filename*`` with the exact name in UTF-8 when the ASCII one is not it. Header values
    are Latin-1 on the wire: a raw non-Latin-1 name cannot be sent, and a quote would end the value."""
    fallback = _ascii_fallback(filename) or "download"
    header = f'{disposition}; filename="{fallback}"'
    if filename and fallback != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe=_ATTR_CHARS)}"
    return header
