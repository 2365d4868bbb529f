"""The kit's keyset pagination: cursors that decode to what was encoded and refuse anything else with
one 400 problem, pages of ``limit`` items with the next cursor, the ``Link`` header, and the keyset
condition of ``Where``."""

from __future__ import annotations

import base64
import math
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import msgspec
import pytest
from litestar import Litestar, Request, Response, get
from litestar.params import FromPath
from litestar.testing import AsyncTestClient

from spicadb_kit.errors import EXCEPTION_HANDLERS, Problem
from spicadb_kit.pagination import (
    LINK_HEADER,
    Cursor,
    CursorParameter,
    Limit,
    Page,
    keyset,
    linked,
    paged,
)
from spicadb_kit.sql import Where


class NightKey(Cursor):
    night: date
    site: str


class TargetKey(Cursor):
    sort: str
    value: Any
    id: UUID


class OtherKey(Cursor):
    night: date
    site: str


class Row(msgspec.Struct):
    n: int


class RowPage(Page[Row]):
    items: list[Row]


def _raw(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "value",
    ["Vega", "", "é ☃ <&>", 279.23473479, math.inf, -math.inf, None, datetime(2026, 5, 14, 3, 2, 1, 7, UTC)],
)
def test_a_cursor_decodes_to_what_it_encoded(value: Any) -> None:
    key = TargetKey("name", value, uuid4())
    text = key.encode()
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), text
    assert TargetKey.decode(text) == key
    assert NightKey.decode(NightKey(date(2026, 5, 14), "CHARA").encode()) == NightKey(
        date(2026, 5, 14), "CHARA"
    )


def test_no_cursor_is_the_first_page() -> None:
    assert NightKey.decode(None) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a cursor",
        "bm9wZQ",  # "nope"
        "W10",  # "[]" as JSON
        "A" * 2000,
        "AZKhSwI=====",
        "%2F%2F",
    ],
)
def test_a_cursor_no_page_gave_is_a_bad_cursor(text: str) -> None:
    with pytest.raises(Problem) as caught:
        NightKey.decode(text)
    problem = caught.value.document()
    assert (problem.status, problem.type) == (400, "https://spicadb.jmmc.fr/problems/bad-cursor")
    assert problem.errors is not None
    assert problem.errors[0].field == "query.cursor"


def test_a_cursor_of_another_listing_is_refused() -> None:
    # the same fields, another listing: the tag tells them apart
    text = OtherKey(date(2026, 5, 14), "CHARA").encode()
    with pytest.raises(Problem):
        NightKey.decode(text)
    with pytest.raises(Problem):
        TargetKey.decode(text)


def test_an_edited_cursor_is_refused() -> None:
    raw = _raw(NightKey(date(2026, 5, 14), "CHARA").encode())
    for edited in (raw[:-1], raw[:1], bytes([2]) + raw[1:], raw + b"\x00", raw.replace(b"2026", b"20x6")):
        with pytest.raises(Problem):
            NightKey.decode(_text(edited))


def test_keyset_keeps_limit_rows_and_names_the_last() -> None:
    rows = [Row(n) for n in range(4)]

    class RowKey(Cursor):
        n: int

    items, following = keyset(rows, 3, lambda r: RowKey(r.n))
    assert [r.n for r in items] == [0, 1, 2]
    assert following is not None
    assert RowKey.decode(following) == RowKey(2)
    assert keyset(rows, 4, lambda r: RowKey(r.n)) == (rows, None)
    page = RowPage.of(rows[:2], 3, lambda r: RowKey(r.n))
    assert page == RowPage(items=rows[:2], next=None)
    assert msgspec.json.decode(msgspec.json.encode(page)) == {"items": [{"n": 0}, {"n": 1}], "next": None}


class PageKey(Cursor):
    n: int


@get("/rows/{group:str}", response_headers=[LINK_HEADER])
async def rows_listing(
    request: Request[Any, Any, Any], group: FromPath[str], limit: Limit = 100, cursor: CursorParameter = None
) -> Response[RowPage]:
    after = PageKey.decode(cursor)
    start = after.n + 1 if after else 0
    rows = [Row(n) for n in range(start, min(start + limit + 1, 7))]
    return paged(request, RowPage.of(rows, limit, lambda r: PageKey(r.n)))


async def test_pages_follow_the_link_header_to_the_end() -> None:
    app = Litestar([rows_listing], exception_handlers=EXCEPTION_HANDLERS)
    seen: list[int] = []
    async with AsyncTestClient(app) as client:
        url = "/rows/a b?limit=3&q=x%26y&q=z"
        while True:
            response = await client.get(url)
            assert response.status_code == 200, response.text
            body = response.json()
            seen += [r["n"] for r in body["items"]]
            link = response.headers.get("link")
            if body["next"] is None:
                assert link is None
                break
            assert link is not None
            assert link.endswith('>; rel="next"'), link
            url = link[1 : link.index(">")]
            # the same path and query, the cursor replaced
            assert url.startswith("/rows/a%20b?limit=3&q=x%26y&q=z&cursor="), url
            assert url.count("cursor=") == 1
        bad = await client.get("/rows/a?cursor=bm9wZQ")
        too_many = await client.get("/rows/a?limit=1001")
    assert seen == list(range(7))
    assert bad.status_code == 400, bad.text
    assert bad.json()["type"].endswith("/bad-cursor"), bad.text
    assert too_many.status_code == 400, too_many.text


@get("/array", response_headers=[LINK_HEADER])
async def array_listing(
    request: Request[Any, Any, Any], limit: Limit = 100, cursor: CursorParameter = None
) -> Response[list[Row]]:
    after = PageKey.decode(cursor)
    start = after.n + 1 if after else 0
    return linked(
        request, [Row(n) for n in range(start, min(start + limit + 1, 5))], limit, lambda r: PageKey(r.n)
    )


async def test_an_array_listing_pages_by_the_link_header_alone() -> None:
    app = Litestar([array_listing], exception_handlers=EXCEPTION_HANDLERS)
    async with AsyncTestClient(app) as client:
        first = await client.get("/array?limit=3")
        link = first.headers["link"]
        second = await client.get(link[1 : link.index(">")])
    assert first.json() == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert second.json() == [{"n": 3}, {"n": 4}]
    assert "link" not in second.headers


def test_where_after_is_a_row_comparison_in_the_listing_order() -> None:
    where = Where("ada", conditions=["v($1)"])
    where.when("o.site = {}", None)
    where.when("o.site = {}", "CHARA")
    where.after(["o.mjd_start", "o.id"], None)
    where.after(["o.mjd_start", "o.id"], (61000.5, "x"))
    assert where.clause() == "v($1) AND o.site = $2 AND (o.mjd_start, o.id) > ($3, $4)"
    assert where.args == ["ada", "CHARA", 61000.5, "x"]
    newest = Where()
    newest.after(["f.pushed_at", "f.id"], ("t", "i"), descending=True)
    assert newest.clause() == "(f.pushed_at, f.id) < ($1, $2)"
    with pytest.raises(ValueError, match="2 keyset columns and 1 values"):
        newest.after(["a", "b"], ("only one",))
