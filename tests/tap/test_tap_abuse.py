"""Abuse of /tap/sync: DDL and DML, a second statement, functions outside ADQL, system catalogues, huge
cross joins, leaky expressions. Each gets a clear error or is cut by MAXREC or the timeout; the database
is unchanged and other queries keep being answered."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from gateway_support import LocalServer
from litestar.testing import AsyncTestClient
from tap_query_support import ROWS, TapAlone, rows_of, tap_alone

from spicadb_kit.infra import NatsServer, PostgresCluster
from spicadb_kit.testing.tokens import TokenFactory

VO = "{http://www.ivoa.net/xml/VOTable/v1.3}"
CROSS_JOIN = "SELECT a.id, b.id AS other FROM probe.Sources AS a, probe.Sources AS b"
# 8e9 combinations: counted for far longer than the test's one-second timeout
HUGE_COUNT = "SELECT COUNT(*) AS n FROM probe.Sources AS a, probe.Sources AS b, probe.Sources AS c"


@pytest.fixture(scope="module")
async def tap(
    pg_cluster: PostgresCluster, nats_server: NatsServer, tokens: TokenFactory
) -> AsyncIterator[TapAlone]:
    async with tap_alone(pg_cluster, nats_server.url, tokens) as made:
        yield made


@pytest.fixture(scope="module")
async def client(tap: TapAlone) -> AsyncIterator[AsyncTestClient[Any]]:
    async with tap.client(sync_timeout=1.0) as running:
        yield running


async def sync(
    client: AsyncTestClient[Any], query: str, headers: dict[str, str] | None = None, **params: Any
) -> Any:
    data = {"LANG": "ADQL", "QUERY": query, **{k.upper(): str(v) for k, v in params.items()}}
    return await client.post("/tap/sync", data=data, headers=headers or {})


def query_status(content: bytes) -> list[tuple[str, str]]:
    root = ET.fromstring(content)
    return [
        (i.get("value") or "", i.text or "")
        for i in root.iter(f"{VO}INFO")
        if i.get("name") == "QUERY_STATUS"
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("DROP TABLE probe.Sources", "only SELECT queries are allowed, not DROP"),
        ("DELETE FROM probe.Sources", "not DELETE"),
        ("INSERT INTO probe.Sources (id) VALUES (1)", "not INSERT"),
        ("UPDATE probe.Sources SET mag = 0", "not UPDATE"),
        ("CREATE TABLE probe.x (a int)", "not CREATE"),
        ("GRANT ALL ON probe.Sources TO PUBLIC", "not GRANT"),
        (
            "SELECT id FROM probe.Sources; DELETE FROM probe.Sources",
            "only one statement is allowed (line 1, column 31)",
        ),
        ("SELECT id FROM probe.Sources; DROP TABLE probe.Sources", "only one statement"),
        ("SELECT pg_sleep(5) FROM probe.Sources", "function pg_sleep is not supported"),
        (
            "SELECT TOP 1 set_config('spicadb.sees_all', 'on', false) FROM probe.Sources",
            "function set_config",
        ),
        ("SELECT TOP 1 current_setting('spicadb.viewer') FROM probe.Sources", "function current_setting"),
        ("SELECT * FROM pg_catalog.pg_roles", "pg_catalog is not a published table"),
        ("SELECT * FROM pg_roles", "pg_roles is not a published table"),
        ("SELECT * FROM information_schema.tables", "information_schema is not a published table"),
        ("SELECT * FROM probe_data.sources", "no published table probe_data.sources"),
        ("SELECT * FROM tap.jobs", "no published table tap.jobs"),
        ("SELECT id FROM probe.Sources WHERE id IN (SELECT usesysid FROM pg_catalog.pg_user)", "pg_catalog"),
        ("SELECT lo_import('/etc/passwd') FROM probe.Sources", "function lo_import"),
    ],
)
async def test_refused_clearly(client: AsyncTestClient[Any], query: str, message: str) -> None:
    response = await sync(client, query)
    assert response.status_code == 400
    [(status, text)] = query_status(response.content)
    assert status == "ERROR"
    assert message in text


async def test_the_database_is_unchanged(tap: TapAlone, client: AsyncTestClient[Any]) -> None:
    before = await tap.snapshot()
    for query in (
        "DROP TABLE probe.Sources",
        "SELECT id FROM probe.Sources; DELETE FROM probe.Sources",
        "SELECT id FROM probe.Sources; UPDATE probe_data.sources SET secret = false",
        "SELECT TOP 1 set_config('spicadb.sees_all', 'on', false) FROM probe.Sources",
    ):
        await sync(client, query)
    assert await tap.snapshot() == before
    # nothing leaked into the next query's session either
    count = rows_of((await sync(client, "SELECT COUNT(*) AS n FROM probe.Sources")).content)[0]["n"]
    assert count == ROWS - ROWS // 10


async def test_a_cross_join_is_cut_by_maxrec(client: AsyncTestClient[Any]) -> None:
    response = await sync(client, CROSS_JOIN, MAXREC=2500)
    assert response.status_code == 200
    assert len(rows_of(response.content)) == 2500
    assert query_status(response.content) == [("OK", ""), ("OVERFLOW", "")]


async def test_a_long_query_is_stopped_while_others_are_answered(tap: TapAlone) -> None:
    # on a real port: two clients, two connections, as two users would
    app = tap.service.create_app(
        tap.service.settings(public_url="http://tap.test", sync_timeout=1.0),
        verifier=tap.service.tokens.verifier(),
    )
    server = await LocalServer(app).start()
    finished: list[str] = []

    async def ask(name: str, query: str, delay: float = 0.0) -> httpx.Response:
        await asyncio.sleep(delay)
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            response = await http.post("/tap/sync", data={"LANG": "ADQL", "QUERY": query})
        finished.append(name)
        return response

    try:
        # the short query starts once the long one runs
        slow, quick = await asyncio.gather(
            ask("long", HUGE_COUNT), ask("short", "SELECT TOP 3 id FROM probe.Sources ORDER BY id", 0.3)
        )
        again = await ask("again", "SELECT TOP 1 id FROM probe.Sources ORDER BY id")
    finally:
        await server.stop()
    assert quick.status_code == 200
    assert [r["id"] for r in rows_of(quick.content)] == [1, 2, 3]
    assert finished[:2] == ["short", "long"]
    assert slow.status_code == 400
    [(status, text)] = query_status(slow.content)
    assert status == "ERROR"
    assert "ran longer than 1 s and was stopped" in text
    # the connection went back to the pool clean: the next query is answered
    assert rows_of(again.content) == [{"id": 1}]


async def test_a_leaky_expression_cannot_probe_hidden_rows(
    tap: TapAlone, client: AsyncTestClient[Any]
) -> None:
    # row 10 is hidden from an anonymous caller: 1/(id-10) would fail on it if it were evaluated there
    leaky = "SELECT id FROM probe.Sources WHERE 1.0 / (id - 10) > 0 AND id < 20 ORDER BY id"
    anonymous = await sync(client, leaky)
    assert anonymous.status_code == 200, anonymous.text
    assert [r["id"] for r in rows_of(anonymous.content)] == [11, 12, 13, 14, 15, 16, 17, 18, 19]
    admin = await sync(client, leaky, headers=tap.admin_headers())
    assert admin.status_code == 400
    assert "division by zero" in query_status(admin.content)[0][1]


async def test_a_failure_midway_ends_the_answer_with_an_error(
    tap: TapAlone, client: AsyncTestClient[Any]
) -> None:
    # the rows before id 1501 are written (the first batch) before the division fails
    response = await sync(client, "SELECT id, 1 / (id - 1501) AS x FROM probe.Sources", MAXREC=5000)
    assert response.status_code == 200
    statuses = query_status(response.content)
    assert statuses[0] == ("OK", "")
    assert statuses[-1][0] == "ERROR"
    assert "division by zero" in statuses[-1][1]
    assert len(rows_of(response.content)) >= 1000


async def test_a_client_that_stops_reading_does_not_hold_its_connection(
    tap: TapAlone, monkeypatch: pytest.MonkeyPatch
) -> None:
    import spicadb_tap.query

    monkeypatch.setattr(spicadb_tap.query, "IDLE_SECONDS", 1)
    app = tap.service.create_app(
        tap.service.settings(public_url="http://tap.test", sync_timeout=30.0),
        verifier=tap.service.tokens.verifier(),
    )
    server = await LocalServer(app).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            # a large answer: the server waits on the client's socket, its transaction idle between batches
            data = {"LANG": "ADQL", "QUERY": CROSS_JOIN, "MAXREC": "2000000"}
            async with http.stream("POST", "/tap/sync", data=data) as response:
                chunks = response.aiter_bytes()
                first = await chunks.__anext__()
                await asyncio.sleep(3)  # reading nothing
                tail = b"".join([c async for c in chunks])
            assert first.startswith(b"<?xml")
            [*_, (status, text)] = query_status(first + tail)  # the whole document parses
            assert status == "ERROR"
            assert text == "the answer was not read for 1 s: the query was stopped"
            again = await http.post(
                "/tap/sync", data={"LANG": "ADQL", "QUERY": "SELECT TOP 1 id FROM probe.Sources"}
            )
            assert rows_of(again.content) == [{"id": 1}]
    finally:
        await server.stop()
