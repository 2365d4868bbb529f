"""TAP UPLOAD: an inline VOTable joined as TAP_UPLOAD.name, under the same rights, bounded; a VOTable
by http(s) URL fetched by the service (from a real HTTP server the test runs on a free port), bounded,
and refused when its host is not public (unless allowed)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from tap_query_support import TapAlone, rows_of, tap_alone, votable_table

from spicadb_kit import votable
from spicadb_kit.infra import NatsServer, PostgresCluster
from spicadb_kit.testing.tokens import TokenFactory

JOIN = (
    "SELECT s.id, s.name, m.label, m.weight FROM probe.Sources AS s "
    "JOIN TAP_UPLOAD.mine AS m ON s.id = m.id ORDER BY s.id"
)


@pytest.fixture(scope="module")
async def tap(
    pg_cluster: PostgresCluster, nats_server: NatsServer, tokens: TokenFactory
) -> AsyncIterator[TapAlone]:
    async with tap_alone(pg_cluster, nats_server.url, tokens) as made:
        yield made


@pytest.fixture(scope="module")
async def client(tap: TapAlone) -> AsyncIterator[AsyncTestClient[Any]]:
    # no async runner here: the jobs of this module run in `allowed`, whose allow-list they need
    async with tap.client(upload_max_rows=50, upload_max_bytes=20_000, async_workers=0) as running:
        yield running


def upload(rows: list[tuple[Any, ...]]) -> bytes:
    fields = [votable.Field("id", "int"), votable.Field("label", "char"), votable.Field("weight", "double")]
    return votable.document(fields, rows)


async def post(
    client: AsyncTestClient[Any], query: str, files: dict[str, bytes], upload_param: str, **extra: str
) -> Any:
    data = {"LANG": "ADQL", "QUERY": query, "UPLOAD": upload_param, **extra}
    parts = {name: (f"{name}.xml", content, "application/x-votable+xml") for name, content in files.items()}
    return await client.post("/tap/sync", data=data, files=parts)


async def test_an_upload_joined_in_a_query(client: AsyncTestClient[Any]) -> None:
    mine = upload([(5, "five", 0.5), (10, "ten (secret)", 1.0), (11, "eleven", None), (99999, "none", 2.0)])
    response = await post(client, JOIN, {"t1": mine}, "mine,param:t1")
    assert response.status_code == 200, response.text
    rows = rows_of(response.content)
    # row 10 of the probe is secret to an anonymous caller: the join cannot reveal it
    assert [(r["id"], r["label"], r["weight"]) for r in rows] == [(5, "five", 0.5), (11, "eleven", None)]


async def test_two_uploads_and_any_case(client: AsyncTestClient[Any]) -> None:
    query = "SELECT a.id FROM TAP_UPLOAD.A AS a JOIN tap_upload.b AS b ON a.id = b.id"
    files = {"one": upload([(1, "x", 1.0), (2, "y", 2.0)]), "two": upload([(2, "z", 3.0)])}
    response = await post(client, query, files, "A,param:one;b,param:two")
    assert response.status_code == 200, response.text
    assert [r["id"] for r in rows_of(response.content)] == [2]


async def test_the_upload_lives_only_in_its_query(client: AsyncTestClient[Any]) -> None:
    await post(client, JOIN, {"t1": upload([(5, "five", 0.5)])}, "mine,param:t1")
    later = await client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.mine"})
    assert later.status_code == 400
    assert b"no upload named mine" in later.content


@pytest.mark.parametrize(
    ("upload_param", "files", "message"),
    [
        ("mine,ftp://example.org/t.xml", {}, "the source as param:&lt;part&gt; or an http(s) URL"),
        ("mine,param:absent", {"t1": b"<VOTABLE/>"}, "no part named absent"),
        ("mine,param:t1", {"t1": b"not a votable"}, "not a VOTable"),
        ("mine,param:t1", {"t1": upload([(i, "x", 1.0) for i in range(51)])}, "more than 50"),
        (
            "mine,param:t1",
            {"t1": upload([(i, "x" * 600, 1.0) for i in range(40)])},
            "larger than 20000 bytes",
        ),
        ("2bad,param:t1", {"t1": upload([])}, "a table name is a letter"),
    ],
)
async def test_refused_uploads(
    client: AsyncTestClient[Any], upload_param: str, files: dict[str, bytes], message: str
) -> None:
    response = await post(client, JOIN, files, upload_param)
    assert response.status_code == 400
    assert message in response.text


async def test_an_upload_cannot_write_anything(tap: TapAlone, client: AsyncTestClient[Any]) -> None:
    before = await tap.snapshot()
    mine = upload([(1, "'); DROP TABLE probe_data.sources; --", 1.0)])
    response = await post(client, JOIN, {"t1": mine}, "mine,param:t1")
    assert response.status_code == 200
    assert rows_of(response.content)[0]["label"] == "'); DROP TABLE probe_data.sources; --"
    assert await tap.snapshot() == before


async def test_upload_given_twice(client: AsyncTestClient[Any]) -> None:
    query = "SELECT a.id FROM TAP_UPLOAD.a AS a JOIN TAP_UPLOAD.b AS b ON a.id = b.id"
    data = {"LANG": "ADQL", "QUERY": query, "UPLOAD": ["a,param:one", "b,param:two"]}
    parts = {
        "one": ("one.xml", upload([(1, "x", 1.0), (2, "y", 2.0)]), "application/x-votable+xml"),
        "two": ("two.xml", upload([(2, "z", 3.0)]), "application/x-votable+xml"),
    }
    response = await client.post("/tap/sync", data=data, files=parts)
    assert response.status_code == 200, response.text
    assert [r["id"] for r in rows_of(response.content)] == [2]


async def test_an_uploaded_timestamp_stays_a_timestamp(client: AsyncTestClient[Any]) -> None:
    fields = [votable.Field("id", "int"), votable.Field("taken", "char", xtype="timestamp")]
    table = votable.document(fields, [(1, "2026-05-14T06:30:00"), (2, "2026-05-14T06:30:00.250Z"), (3, None)])
    response = await post(client, "SELECT id, taken FROM TAP_UPLOAD.t ORDER BY id", {"p": table}, "t,param:p")
    assert response.status_code == 200, response.text
    taken = next(f for f in votable_table(response.content).fields if f.name == "taken")
    assert taken.xtype == "timestamp"
    assert [r["taken"] for r in rows_of(response.content)] == [
        "2026-05-14T06:30:00",
        "2026-05-14T06:30:00.250",
        "",  # a null string is an empty TD
    ]
    bad = votable.document(fields, [(1, "yesterday")])
    refused = await post(client, "SELECT id FROM TAP_UPLOAD.t", {"p": bad}, "t,param:p")
    assert refused.status_code == 400
    assert "row 1 has a timestamp that is not ISO 8601" in refused.text


# --- UPLOAD by URL ---------------------------------------------------------------------------------

FETCHED = upload([(5, "five", 0.5), (10, "ten (secret)", 1.0), (11, "eleven", None)])


class _Pages(BaseHTTPRequestHandler):
    """What the test's HTTP server answers, by path (HTTP/1.0: a body without length ends at close)."""

    pages: dict[str, tuple[int, dict[str, str], bytes]] = {
        "/t.xml": (200, {"Content-Type": "application/x-votable+xml"}, FETCHED),
        "/moved": (302, {"Location": "/t.xml"}, b""),
        "/to-metadata": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
        "/loop": (302, {"Location": "/loop"}, b""),
        "/big": (200, {}, b"<VOTABLE>" + b" " * 30_000),  # no Content-Length: cut while read
        "/text": (200, {"Content-Type": "text/plain"}, b"hello, not a table"),
    }

    def do_GET(self) -> None:
        status, headers, body = self.pages.get(self.path, (404, {}, b"no such page"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def pages() -> Iterator[str]:
    """A real HTTP server on a free port of 127.0.0.1 (its base URL), stopped at the end."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
async def allowed(tap: TapAlone) -> AsyncIterator[AsyncTestClient[Any]]:
    """The service allowed to fetch from 127.0.0.1 (the test's server), public addresses otherwise."""
    async with tap.client(upload_max_rows=50, upload_max_bytes=20_000, upload_allow_hosts="127.0.0.1") as c:
        yield c


async def sync_by_url(client: AsyncTestClient[Any], query: str, upload_param: str) -> Any:
    return await client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": query, "UPLOAD": upload_param})


async def test_an_upload_by_url_is_fetched_and_joined(allowed: AsyncTestClient[Any], pages: str) -> None:
    for source in (f"{pages}/t.xml", f"{pages}/moved"):  # directly, and through a redirect
        response = await sync_by_url(allowed, JOIN, f"mine,{source}")
        assert response.status_code == 200, response.text
        # the rights apply to a fetched table as to an inline one: row 10 stays hidden
        assert [(r["id"], r["label"]) for r in rows_of(response.content)] == [(5, "five"), (11, "eleven")]


async def async_job(client: AsyncTestClient[Any], upload_param: str) -> tuple[str, str]:
    """An async job of JOIN run to its end: its path and its last phase."""
    data = {"LANG": "ADQL", "QUERY": JOIN, "UPLOAD": upload_param, "PHASE": "RUN"}
    created = await client.post("/tap/async", data=data, follow_redirects=False)
    assert created.status_code == 303, created.text
    job = "/tap/async/" + created.headers["location"].rstrip("/").rsplit("/", 1)[1]
    phase = ""
    for _ in range(60):
        phase = (await client.get(f"{job}/phase")).text.strip()
        if phase in ("COMPLETED", "ERROR"):
            break
        await asyncio.sleep(0.5)
    return job, phase


async def test_an_async_job_fetches_its_upload_when_it_runs(
    allowed: AsyncTestClient[Any], pages: str
) -> None:
    job, phase = await async_job(allowed, f"mine,{pages}/t.xml")
    assert phase == "COMPLETED", (await allowed.get(f"{job}/error")).text
    result = await allowed.get(f"{job}/results/result")
    assert [r["id"] for r in rows_of(result.content)] == [5, 11]


async def test_an_async_job_with_a_refused_url_ends_in_error(
    allowed: AsyncTestClient[Any], pages: str
) -> None:
    job, phase = await async_job(allowed, f"mine,{pages}/to-metadata")
    assert phase == "ERROR"
    error = (await allowed.get(f"{job}/error")).text
    assert "UPLOAD mine: refused to fetch from 169.254.169.254: not a public address" in error


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/t.xml",  # the test's own server, without the allow-list
        "http://10.0.0.1/t.xml",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/t.xml",
        "http://[::ffff:127.0.0.1]:{port}/t.xml",
        "http://0x7f000001:{port}/t.xml",
        "http://100.64.0.1/t.xml",
        "http://localhost:{port}/t.xml",
    ],
)
async def test_an_upload_url_to_a_non_public_address_is_refused(
    client: AsyncTestClient[Any], pages: str, url: str
) -> None:
    source = url.format(port=pages.rsplit(":", 1)[1])
    response = await sync_by_url(client, JOIN, f"mine,{source}")
    assert response.status_code == 400
    assert "UPLOAD mine: refused to fetch from" in response.text
    assert "not a public address" in response.text or "could not be resolved" in response.text


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/to-metadata", "refused to fetch from 169.254.169.254: not a public address"),
        ("/loop", "more than 3 redirects (last: 127.0.0.1)"),
        ("/big", "UPLOAD mine: larger than 20000 bytes (from 127.0.0.1)"),
        ("/text", "UPLOAD mine: not a VOTable astropy can read"),
        ("/absent", "UPLOAD mine: 127.0.0.1 answered 404"),
    ],
)
async def test_a_fetched_upload_is_bounded_and_checked(
    allowed: AsyncTestClient[Any], pages: str, path: str, message: str
) -> None:
    response = await sync_by_url(allowed, JOIN, f"mine,{pages}{path}")
    assert response.status_code == 400
    assert message in response.text
