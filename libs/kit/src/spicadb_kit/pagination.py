"""Keyset pagination, the same for every listing: an opaque cursor, the page answered, the ``limit`` and
``cursor`` query parameters, and the RFC 8288 ``Link`` header of the next page.

A listing subclasses :class:`Cursor` with its keyset (the ORDER BY columns, in order), reads
``limit + 1`` rows after the decoded cursor (:meth:`spicadb_kit.sql.Where.after`) and answers
:meth:`Page.of` through :func:`paged`. A cursor is the url-safe base64 of a version byte and the
msgpack of the struct, tagged with its class name: one listing's cursor is not another's, and one that
does not decode into the listing's keyset is a 400 problem of type ``bad-cursor``. A cursor carries no
rights (the listing's WHERE applies them on every page): one forged to decode only moves where a page
starts.
"""

from __future__ import annotations

import base64
import binascii
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, Self, TypeVar
from urllib.parse import parse_qsl, quote, urlencode

import msgspec
from litestar import Request, Response
from litestar.datastructures import ResponseHeader
from litestar.params import QueryParameter

from .errors import FieldError, Problem
from .problems import BAD_CURSOR

__all__ = [
    "BAD_CURSOR",
    "DEFAULT_LIMIT",
    "LINK_HEADER",
    "MAX_LIMIT",
    "Cursor",
    "CursorParameter",
    "Float8",
    "Int8",
    "Limit",
    "Page",
    "bad_cursor",
    "keyset",
    "linked",
    "next_link",
    "paged",
]

VERSION = 1
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# far above any keyset's encoding (a name of 200 characters and a uuid): longer is no cursor of ours
MAX_CURSOR_LENGTH = 1024

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description=f"items per page, 1 to {MAX_LIMIT}")]
CursorParameter = Annotated[
    str | None,
    QueryParameter(
        description="where the page starts: the previous page's `next` (the cursor of its `Link`"
        " header), as given, with the same filters and order; one no page gave is a 400 problem of"
        f" type {BAD_CURSOR.uri}"
    ),
]
LINK_HEADER = ResponseHeader(
    name="Link",
    description='`<next page>; rel="next"` (RFC 8288) when there is one: the same query with `cursor`',
    documentation_only=True,
    required=False,
    value='<?cursor=...>; rel="next"',  # never sent as is: it gives the document the header's type
)

# keyset fields a PostgreSQL float8 or int8 column takes: a forged cursor with NaN, an infinity or an
# integer beyond 64 bits is a bad cursor, not a database error
Float8 = Annotated[float, msgspec.Meta(ge=-sys.float_info.max, le=sys.float_info.max)]
Int8 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]

T = TypeVar("T")
R = TypeVar("R")


def bad_cursor(reason: str) -> Problem:
    """The 400 problem of a ``cursor`` that no page of this listing gave (truncated, edited, from
    another listing or order), type ``bad-cursor``."""
    return BAD_CURSOR(
        f"the cursor is not the `next` of a page of this listing: {reason}",
        errors=[FieldError("query.cursor", reason)],
    )


class Cursor(msgspec.Struct, frozen=True, array_like=True, tag=True):
    """The keyset of one listing's last row: subclass with the ORDER BY values as fields, in order
    (the subclass's name tags the encoding, so keep it unique per listing). A subclass says
    ``frozen=True`` again: msgspec inherits it, but mypy's dataclass view of a Struct does not."""

    def encode(self) -> str:
        """The opaque, url-safe text given as a page's ``next``."""
        raw = bytes([VERSION]) + msgspec.msgpack.encode(self)
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, text: str | None) -> Self | None:
        """The cursor ``text`` encodes (None without one); a :func:`bad_cursor` problem when it is none of this
        listing's."""
        if text is None:
            return None
        if not text or len(text) > MAX_CURSOR_LENGTH:
            raise bad_cursor("empty" if not text else "too long")
        try:
            raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise bad_cursor("not url-safe base64") from None
        if not raw or raw[0] != VERSION:
            raise bad_cursor("unknown version")
        try:
            return msgspec.msgpack.decode(raw[1:], type=cls)
        except msgspec.DecodeError:
            raise bad_cursor("not a keyset of this listing") from None

    def values(self) -> tuple[Any, ...]:
        """The keyset's values in ORDER BY order (the arguments of ``Where.after``)."""
        return tuple(getattr(self, name) for name in self.__struct_fields__)


def keyset(rows: Sequence[R], limit: int, cursor: Callable[[R], Cursor]) -> tuple[list[R], str | None]:
    """The page of ``rows`` (read with ``limit + 1``, the extra one telling that more follow) and its
    ``next``: the cursor of its last row, None on the last page."""
    if len(rows) <= limit:
        return list(rows), None
    page = list(rows[:limit])
    return page, cursor(page[-1]).encode()


class Page(msgspec.Struct, Generic[T]):
    """One page of a listing: pass ``next`` back as ``cursor`` for the following one (None: the last).

    Subclass it per listing and declare ``items`` again with the item type
    (``class TargetPage(Page[TargetOut]): items: list[TargetOut]``): the OpenAPI documents name the
    page after the subclass and read the item type from that field."""

    items: list[T]
    next: str | None

    @classmethod
    def of(cls, rows: Sequence[T], limit: int, cursor: Callable[[T], Cursor]) -> Self:
        """The page of ``rows`` read with ``limit + 1`` (see :func:`keyset`)."""
        items, following = keyset(rows, limit, cursor)
        return cls(items=items, next=following)


def next_link(request: Request[Any, Any, Any], following: str) -> str:
    """``Link`` header value of the next page: this request's path and query with ``cursor`` replaced,
    as a reference relative to this origin (RFC 8288 resolves it against the request's URI, so it holds
    behind the gateway too)."""
    raw = request.scope.get("query_string", b"").decode("utf-8", "replace")  # in the client's order
    query = [(k, v) for k, v in parse_qsl(raw, keep_blank_values=True) if k != "cursor"]
    query.append(("cursor", following))
    return f'<{quote(request.url.path)}?{urlencode(query, quote_via=quote)}>; rel="next"'


def paged(request: Request[Any, Any, Any], page: T) -> Response[T]:
    """``page`` answered with the ``Link`` header of the next page when there is one."""
    following = getattr(page, "next", None)
    headers = {"Link": next_link(request, following)} if following else None
    return Response(page, headers=headers)


def linked(
    request: Request[Any, Any, Any], rows: Sequence[R], limit: int, cursor: Callable[[R], Cursor]
) -> Response[list[R]]:
    """A listing whose answer is a bare JSON array (kept so for the clients that read one), paged by
    the ``Link`` header alone: ``rows`` read with ``limit + 1`` as for :func:`keyset`."""
    items, following = keyset(rows, limit, cursor)
    headers = {"Link": next_link(request, following)} if following else None
    return Response(items, headers=headers)
