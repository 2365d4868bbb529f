"""TAP UPLOAD: an inline VOTable joined as TAP_UPLOAD.name, under the same rights, bounded; remote
uploads refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
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
    async with tap.client(upload_max_rows=50, upload_max_bytes=20_000) as running:
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
        ("mine,http://example.org/t.xml", {}, "this service fetches no URLs"),
        ("mine,https://example.org/t.xml", {}, "this service fetches no URLs"),
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
