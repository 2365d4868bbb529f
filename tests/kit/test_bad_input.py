"""Bad input from outside is a 400 problem naming what is wrong, never a 500: NUL characters in a path,
a query or a body (PostgreSQL's text cannot hold one), JSON nested deeper than any document of ours,
values asyncpg cannot send. Checked once in the kit, on the real routes of several services."""

from __future__ import annotations

import importlib
import io
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
from harness import Probe
from kit_support import assert_problem
from litestar import Litestar, get, post
from litestar.di import Provide
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient
from nats.js import JetStreamContext

from spicadb_kit.errors import EXCEPTION_HANDLERS
from spicadb_kit.infra import NatsServer
from spicadb_kit.logs import configure_logging, get_logger
from spicadb_kit.requests import MAX_JSON_DEPTH, input_guard, request_id_middleware
from spicadb_kit.responses import content_disposition
from spicadb_kit.testing.services import InstalledService
from spicadb_kit.testing.tokens import TokenFactory

Client = AsyncTestClient[Any]
EVERY_SCOPE = (
    "programmes:read",
    "programmes:write",
    "nightlogs:read",
    "nightlogs:write",
    "schedule:write",
    "oifits:read",
    "oidb:read",
)


def _fields(body: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body.get("errors") or []]


@pytest.fixture
def installed(
    database: str, jetstream: JetStreamContext, nats_server: NatsServer, tokens: TokenFactory, tmp_path: Path
) -> Callable[[str], Any]:
    """``async with installed("oidb") as (service, client)``: a service migrated in the test's database,
    its app running."""

    @asynccontextmanager
    async def run(name: str) -> AsyncIterator[tuple[InstalledService, Client]]:
        spec = importlib.import_module(f"spicadb_{name}.spec").SPEC
        create_app = importlib.import_module(f"spicadb_{name}.app").create_app
        service = InstalledService(spec, create_app, database, nats_server.url, tokens, jetstream)
        await service.install()
        extra = (
            {"store_path": str(tmp_path / "store"), "public_url": "http://gw.test"}
            if name == "oifits"
            else {}
        )
        try:
            async with service.running(**extra) as client:
                yield service, client
        finally:
            await service.close()

    return run


# --- NUL characters ---------------------------------------------------------------------------------


async def test_nul_in_a_query_is_a_400_on_the_anonymous_views(installed: Callable[[str], Any]) -> None:
    async with installed("oidb") as (_, client):
        granules = await client.get("/oidb/granules?target=%00")
        head = await client.head("/oidb/granules?target=Vega%00")
    assert _fields(assert_problem(granules, 400)) == ["query.target"]
    assert head.status_code == 400
    async with installed("oifits") as (_, client):
        files = await client.get("/oifits/files?product=%00&limit=5")
    body = assert_problem(files, 400)
    assert _fields(body) == ["query.product"]
    assert "NUL" in body["detail"]


async def test_nul_in_queries_paths_and_bodies_of_the_services(installed: Callable[[str], Any]) -> None:
    async with installed("programmes") as (service, client):
        auth = service.auth("ada", *EVERY_SCOPE)
        listed = await client.get("/programmes", params={"q": "\x00"}, headers=auth)
        by_path = await client.get("/programmes/LP%00/targets", headers=auth)
        created = await client.post(
            "/programmes",
            json={"code": "LP-1", "title": "Stars\x00", "kind": "large-programme"},
            headers=auth,
        )
        escaped = await client.post(  # a backslash before u0000 is text, not a NUL
            "/programmes",
            content=b'{"code": "\\\\u0000"}',
            headers={**auth, "Content-Type": "application/json"},
        )
        await client.post("/programmes", json={"code": "LP-2", "title": "Stars"}, headers=auth)
        csv_list = await client.post(
            "/programmes/LP-2/targets/import",
            content=b"name,ra,dec,notes\nVega,279.2,38.8,bright\nDeneb,310.4,45.3,x\x00y\n",
            headers={**auth, "Content-Type": "text/csv"},
        )
        written = await service.scalar("SELECT count(*) FROM programme WHERE code = 'LP-1'")
        targets = await service.scalar("SELECT count(*) FROM target")
    assert _fields(assert_problem(listed, 400)) == ["query.q"]
    assert _fields(assert_problem(by_path, 400)) == ["path"]
    assert _fields(assert_problem(created, 400)) == ["body.title"]
    assert escaped.status_code != 500, escaped.text
    assert "NUL" not in escaped.text, escaped.text
    assert written == 0
    body = assert_problem(csv_list, 400)
    assert _fields(body) == ["body"]
    assert "line 3" in body["detail"]
    assert targets == 0

    async with installed("nightlogs") as (service, client):
        auth = service.auth("ada", *EVERY_SCOPE)
        observations = await client.get("/nightlogs/observations?target=%00&site=CHARA", headers=auth)
        nights = await client.get("/nightlogs/nights", params={"site": "CH\x00RA"}, headers=auth)
    assert _fields(assert_problem(observations, 400)) == ["query.target"]
    assert _fields(assert_problem(nights, 400)) == ["query.site"]

    async with installed("obsportal") as (service, client):
        auth = service.auth("ada", *EVERY_SCOPE)
        exposures = await client.get("/obsportal/exposures?programme=%00", headers=auth)
        planned = await client.get("/obsportal/planned?site=%00", headers=auth)
        form = await client.post(
            "/obsportal/search.votable",
            content=b"ra=1&dec=2&date_updated_from=%00",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert _fields(assert_problem(exposures, 400)) == ["query.programme"]
    assert _fields(assert_problem(planned, 400)) == ["query.site"]
    assert _fields(assert_problem(form, 400)) == ["body.date_updated_from"]


async def test_nul_reaching_the_database_is_a_400_not_a_500(probe: Probe) -> None:
    """The backstop: a NUL that got past the request checks (here a raw body read by hand) is
    refused by PostgreSQL, and that refusal is the client's 400, with nothing written."""

    @post("/notes", sync_to_thread=False)
    async def note(body: bytes) -> None:
        conn = await asyncpg.connect(probe.service_dsn)  # in the app's own event loop
        try:
            await conn.execute(
                "INSERT INTO probe.ping (ping_id, sequence, note) VALUES ('n1', 1, $1)", body.decode()
            )
        finally:
            await conn.close()

    app = Litestar([note], exception_handlers=EXCEPTION_HANDLERS, debug=False)
    async with AsyncTestClient(app) as client:
        response = await client.post("/notes", content=b"a\x00b", headers={"Content-Type": "text/plain"})
    body = assert_problem(response, 400)
    assert "NUL" in body["detail"] or "character" in body["detail"]
    assert await probe.scalar("SELECT count(*) FROM ping") == 0
    # the exception class the handler keys on is asyncpg's for this SQLSTATE
    assert issubclass(asyncpg.CharacterNotInRepertoireError, asyncpg.DataError)


# --- deep JSON --------------------------------------------------------------------------------------


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@post("/anything", sync_to_thread=False)
def anything(data: Any) -> dict[str, str]:
    return {"type": type(data).__name__}


@get("/raw", sync_to_thread=False)
def raw() -> dict[str, str]:
    return {"ok": "yes"}


@asynccontextmanager
async def bare_app() -> AsyncIterator[Client]:
    app = Litestar(
        [anything, raw],
        middleware=[request_id_middleware, input_guard],
        exception_handlers=EXCEPTION_HANDLERS,
        debug=False,
    )
    async with AsyncTestClient(app) as client:
        yield client


async def test_json_nested_deeper_than_the_limit_is_a_400() -> None:
    json_headers = {"Content-Type": "application/json"}
    async with bare_app() as client:
        deepest = await client.post("/anything", content=_nested(MAX_JSON_DEPTH), headers=json_headers)
        too_deep = await client.post("/anything", content=_nested(MAX_JSON_DEPTH + 1), headers=json_headers)
        bomb = await client.post("/anything", content=_nested(5000), headers=json_headers)
        # the same document sent as text: Litestar decodes a `data` body as JSON whatever its type
        as_text = await client.post(
            "/anything", content=_nested(5000), headers={"Content-Type": "text/plain"}
        )
        # brackets inside strings do not nest
        in_strings = await client.post("/anything", json={"a": "[" * 5000, "b": ["{" * 300]})
        objects = await client.post(
            "/anything", content=b'{"a":' * 100 + b"1" + b"}" * 100, headers=json_headers
        )
    assert deepest.status_code == 201, deepest.text
    for response in (too_deep, bomb, as_text, objects):
        body = assert_problem(response, 400)
        assert _fields(body) == ["body"], body
        assert str(MAX_JSON_DEPTH) in body["detail"]
    assert in_strings.status_code == 201, in_strings.text
    # closing brackets inside a string hide the depth from the quick count: msgspec's limit still holds
    async with bare_app() as client:
        hidden = b'["' + b"]" * 6000 + b'", ' + _nested(5000) + b"]"
        disguised = await client.post("/anything", content=hidden, headers=json_headers)
    assert _fields(assert_problem(disguised, 400)) in (["body"], [])


async def test_deep_json_on_a_service_route_is_a_400_and_logs_no_traceback(
    installed: Callable[[str], Any],
) -> None:
    stream = io.StringIO()
    async with installed("programmes") as (service, client):
        logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
        auth = service.auth("ada", *EVERY_SCOPE)
        response = await client.post(
            "/programmes", content=_nested(5000), headers={**auth, "Content-Type": "application/json"}
        )
    assert_problem(response, 400)
    assert "Traceback" not in stream.getvalue()
    assert "RecursionError" not in stream.getvalue()


# --- Litestar's own 500s ------------------------------------------------------------------------------


class Plan(msgspec.Struct, forbid_unknown_fields=True):
    observations: list[int]
    night: str = ""


def _observations() -> list[int]:
    return []


@post(
    "/plans",
    sync_to_thread=False,
    dependencies={"observations": Provide(_observations, sync_to_thread=False)},
)
def plan(data: JSONBody[Plan], observations: list[int]) -> dict[str, int]:
    return {"planned": len(data.observations) + len(observations)}


async def test_a_body_field_named_like_a_dependency_is_a_400_not_a_500() -> None:
    """Litestar takes a wrong body field whose name is also a dependency's for a failed dependency
    (its 500): the kit answers what it is, the client's 400 naming the field."""
    app = Litestar([plan], middleware=[input_guard], exception_handlers=EXCEPTION_HANDLERS, debug=False)
    async with AsyncTestClient(app) as client:
        wrong_type = await client.post("/plans", json={"observations": 0})
        wrong_item = await client.post("/plans", json={"observations": [1, "x"]})
        fine = await client.post("/plans", json={"observations": [1, 2]})
    assert _fields(assert_problem(wrong_type, 400)) == ["body.observations"]
    assert _fields(assert_problem(wrong_item, 400)) == ["body.observations[1]"]
    assert fine.json() == {"planned": 2}


@get("/next-day", sync_to_thread=False)
def next_day(day: date) -> date:
    return day + timedelta(days=1)


async def test_arithmetic_leaving_the_range_of_a_value_is_a_400() -> None:
    """The backstop of a missing bound: a date past the calendar's end is the client's 400."""
    app = Litestar([next_day], exception_handlers=EXCEPTION_HANDLERS, debug=False)
    async with AsyncTestClient(app) as client:
        last = await client.get("/next-day", params={"day": "9999-12-31"})
        fine = await client.get("/next-day", params={"day": "2026-05-14"})
    assert "out of range" in assert_problem(last, 400)["detail"]
    assert fine.json() == "2026-05-15"


# --- names in headers ------------------------------------------------------------------------------


def test_content_disposition_carries_any_name_safely() -> None:
    assert content_disposition("spica.fits") == 'attachment; filename="spica.fits"'
    assert content_disposition("r\u00e9duit.fits") == (
        "attachment; filename=\"reduit.fits\"; filename*=UTF-8''r%C3%A9duit.fits"
    )
    injected = content_disposition('a\r\nSet-Cookie: x=1\\"b.fits')
    assert "\r" not in injected
    assert "\n" not in injected
    assert injected.startswith('attachment; filename="a__Set-Cookie: x=1\\\\\\"b.fits"; filename*=')
    assert injected.endswith("a%0D%0ASet-Cookie%3A%20x%3D1%5C%22b.fits")
    assert (
        content_disposition("\u6587\u4ef6")
        == "attachment; filename=\"__\"; filename*=UTF-8''%E6%96%87%E4%BB%B6"
    )
    assert content_disposition("") == 'attachment; filename="download"'


# --- logs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("json", [True, False])
def test_logged_exceptions_never_show_local_variables(json: bool) -> None:
    stream = io.StringIO()
    configure_logging("probe", json=json)
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]

    def connect(password: str) -> None:
        dsn = f"postgresql://spicadb:{password}@db"  # noqa: F841 - a local a rich traceback would show
        raise RuntimeError("connection refused")

    try:
        connect("".join(["hun", "ter2"]))  # spelt apart: the traceback's source lines must not hold it
    except RuntimeError:
        get_logger("test").exception("unhandled error")
    written = stream.getvalue()
    assert "connection refused" in written
    assert "Traceback" in written
    assert "hunter2" not in written, written
