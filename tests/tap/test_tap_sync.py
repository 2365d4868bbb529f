"""/tap/sync against the real database: a published probe table read through the reader role, in every
format, with MAXREC's overflow, the viewer's rights, result FIELDs carrying the published declarations,
DataLink descriptors, and errors as VOTable error documents."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from tap_query_support import ROWS, SECRET_ROWS, TapAlone, rows_of, tap_alone, votable_table

from spicadb_kit.infra import NatsServer, PostgresCluster
from spicadb_kit.testing.tokens import TokenFactory

VO = "{http://www.ivoa.net/xml/VOTable/v1.3}"
CONE = (
    "SELECT id, ra, decl FROM probe.Sources "
    "WHERE 1 = CONTAINS(POINT('ICRS', ra, decl), CIRCLE('ICRS', 10.0, -9.0, 0.35)) ORDER BY id"
)


@pytest.fixture(scope="module")
async def tap(
    pg_cluster: PostgresCluster, nats_server: NatsServer, tokens: TokenFactory
) -> AsyncIterator[TapAlone]:
    async with tap_alone(pg_cluster, nats_server.url, tokens) as made:
        yield made


@pytest.fixture(scope="module")
async def client(tap: TapAlone) -> AsyncIterator[AsyncTestClient[Any]]:
    async with tap.client() as running:
        yield running


async def sync(client: AsyncTestClient[Any], query: str, method: str = "POST", **params: Any) -> Any:
    values = {"LANG": "ADQL", "QUERY": query, **{k.upper(): str(v) for k, v in params.items()}}
    if method == "GET":
        return await client.get("/tap/sync", params=values)
    return await client.post("/tap/sync", data=values)


def status_infos(content: bytes) -> list[tuple[str, str, str]]:
    """(where, value, text) of each QUERY_STATUS INFO: 'before' or 'after' the TABLE."""
    root = ET.fromstring(content)
    resource = root.find(f"{VO}RESOURCE")
    assert resource is not None
    found, seen_table = [], False
    for child in resource:
        if child.tag == f"{VO}TABLE":
            seen_table = True
        if child.tag == f"{VO}INFO" and child.get("name") == "QUERY_STATUS":
            found.append(("after" if seen_table else "before", child.get("value") or "", child.text or ""))
    return found


async def test_cone_search_through_the_reader_role(client: AsyncTestClient[Any]) -> None:
    response = await sync(client, CONE)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    rows = rows_of(response.content)
    # ra = id/10, decl = id/100 - 10: ids 97..103 lie within 0.35 deg of (10, -9); 100 is secret
    assert [r["id"] for r in rows] == [97, 98, 99, 101, 102, 103]
    assert status_infos(response.content) == [("before", "OK", "")]


async def test_get_and_parameter_names_in_any_case(client: AsyncTestClient[Any]) -> None:
    params = {"lang": "ADQL", "query": "SELECT TOP 3 id FROM probe.Sources ORDER BY id", "MaxRec": "2",
              "request": "doQuery", "whatever": "x"}  # fmt: skip
    response = await client.get("/tap/sync", params=params)
    assert response.status_code == 200, response.text
    assert [r["id"] for r in rows_of(response.content)] == [1, 2]


async def test_maxrec_overflow_info_after_the_table(client: AsyncTestClient[Any]) -> None:
    response = await sync(client, "SELECT id FROM probe.Sources ORDER BY id", MAXREC=5)
    assert [r["id"] for r in rows_of(response.content)] == [1, 2, 3, 4, 5]
    assert status_infos(response.content) == [("before", "OK", ""), ("after", "OVERFLOW", "")]
    assert b'ID="QUERY_STATUS"' not in response.content  # no duplicate IDs
    exact = await sync(client, "SELECT TOP 5 id FROM probe.Sources ORDER BY id", MAXREC=5)
    assert status_infos(exact.content) == [("before", "OK", "")]


async def test_maxrec_zero_answers_the_columns_only(client: AsyncTestClient[Any]) -> None:
    response = await sync(client, "SELECT id, name FROM probe.Sources", MAXREC=0)
    table = votable_table(response.content)
    assert [f.name for f in table.fields] == ["id", "name"]
    assert len(table.array) == 0
    # rows exist: MAXREC cut them all (taplint asks MAXREC=0 of a table it knows has rows)
    assert status_infos(response.content) == [("before", "OK", ""), ("after", "OVERFLOW", "")]
    empty = await sync(client, "SELECT id FROM probe.Sources WHERE id < 0", MAXREC=0)
    assert status_infos(empty.content) == [("before", "OK", "")]


async def test_more_than_one_batch_streams_every_row(client: AsyncTestClient[Any]) -> None:
    response = await sync(client, "SELECT id, name, ra FROM probe.Sources", MAXREC=100_000)
    rows = rows_of(response.content)
    assert len(rows) == ROWS - SECRET_ROWS
    assert status_infos(response.content) == [("before", "OK", "")]


async def test_fields_carry_the_published_declarations(client: AsyncTestClient[Any]) -> None:
    response = await sync(client, "SELECT TOP 1 * FROM probe.Sources ORDER BY id")
    fields = {f.name: f for f in votable_table(response.content).fields}
    assert fields["ra"].unit == "deg"
    assert fields["ra"].ucd == "pos.eq.ra"
    assert fields["ra"].utype == "probe:ra"
    assert fields["decl"].datatype == "double"
    assert fields["mag"].datatype == "float"
    assert str(fields["mag"].unit) == "mag"
    assert fields["big"].datatype == "long"
    assert fields["flag"].datatype == "boolean"
    assert fields["seen"].datatype == "char"
    assert fields["seen"].xtype == "timestamp"
    assert fields["region"].xtype == "adql:REGION"
    row = rows_of(response.content)[0]
    assert row["seen"] == "2026-01-01T01:00:00"
    assert row["region"] == "Circle ICRS 0.1 -9.99 0.01"
    assert row["big"] == 1_000_000_000
    assert row["flag"] is False
    # an alias keeps its column's declaration; an expression is typed by the database
    aliased = await sync(client, "SELECT TOP 1 ra AS alpha, COUNT(*) AS n FROM probe.Sources GROUP BY ra")
    fields = {f.name: f for f in votable_table(aliased.content).fields}
    assert fields["alpha"].ucd == "pos.eq.ra"
    assert fields["n"].datatype == "long"


async def test_geometry_functions(client: AsyncTestClient[Any]) -> None:
    query = (
        "SELECT id, COORD1(POINT('ICRS', ra, decl)) AS c1, COORD2(POINT('ICRS', ra, decl)) AS c2, "
        "DISTANCE(POINT('ICRS', ra, decl), POINT('ICRS', 10.0, -9.0)) AS d, POINT('ICRS', ra, decl) AS p "
        "FROM probe.Sources WHERE DISTANCE(POINT('ICRS', ra, decl), POINT('ICRS', 10.0, -9.0)) < 0.15 "
        "AND INTERSECTS(region, CIRCLE('ICRS', 10.0, -9.0, 1)) = 1 ORDER BY id"
    )
    response = await sync(client, query)
    assert response.status_code == 200, response.text
    rows = rows_of(response.content)
    assert [r["id"] for r in rows] == [99, 101]
    assert rows[0]["c1"] == pytest.approx(9.9)
    assert rows[0]["c2"] == pytest.approx(-9.01)
    assert rows[0]["d"] == pytest.approx(0.0993, abs=1e-4)  # 0.1 deg of RA at dec -9, 0.01 of dec
    assert list(rows[0]["p"]) == pytest.approx([9.9, -9.01])
    area = await sync(client, "SELECT TOP 1 AREA(CIRCLE('ICRS', 0, 0, 1)) AS a FROM probe.Sources")
    assert rows_of(area.content)[0]["a"] == pytest.approx(3.1414, abs=1e-3)


async def test_numbers_top_offset(client: AsyncTestClient[Any]) -> None:
    response = await sync(client, "SELECT TOP 3 id FROM probe.Sources WHERE big > 5E11 ORDER BY id OFFSET 2")
    assert response.status_code == 200, response.text
    assert [r["id"] for r in rows_of(response.content)] == [503, 504, 505]


@pytest.mark.parametrize("fmt", ["votable", "application/x-votable+xml", "text/xml", "votable/td"])
async def test_votable_tabledata(client: AsyncTestClient[Any], fmt: str) -> None:
    response = await sync(client, CONE, RESPONSEFORMAT=fmt)
    assert b"<TABLEDATA>" in response.content
    assert [r["id"] for r in rows_of(response.content)] == [97, 98, 99, 101, 102, 103]


@pytest.mark.parametrize("fmt", ["votable/b2", "ivo://ivoa.net/std/TAPRegExt#output-votable-binary2"])
async def test_votable_binary2(client: AsyncTestClient[Any], fmt: str) -> None:
    query = (
        "SELECT id, name, ra, mag, big, flag, seen, region, POINT('ICRS', ra, decl) AS p FROM probe.Sources"
    )
    response = await sync(client, query, RESPONSEFORMAT=fmt, MAXREC=1500)
    assert b"<BINARY2>" in response.content
    rows = rows_of(response.content)
    assert len(rows) == 1500
    assert rows[0]["name"] == "source 1"
    assert rows[0]["region"] == "Circle ICRS 0.1 -9.99 0.01"
    assert rows[1]["flag"] is True
    assert rows[0]["big"] == 1_000_000_000
    assert status_infos(response.content)[-1] == ("after", "OVERFLOW", "")


async def test_csv_tsv_json(client: AsyncTestClient[Any]) -> None:
    query = "SELECT id, name, ra, seen FROM probe.Sources WHERE id < 4 ORDER BY id"
    as_csv = await sync(client, query, RESPONSEFORMAT="csv")
    assert as_csv.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(as_csv.text)))
    assert lines == [["id", "name", "ra", "seen"], ["1", "source 1", "0.1", "2026-01-01T01:00:00"],
                     ["2", "source 2", "0.2", "2026-01-01T02:00:00"], ["3", "source 3", "0.30000000000000004",
                     "2026-01-01T03:00:00"]]  # fmt: skip
    assert as_csv.content.endswith(b"\r\n")
    as_tsv = await sync(client, query, FORMAT="text/tab-separated-values")
    assert as_tsv.text.splitlines()[1].split("\t") == ["1", "source 1", "0.1", "2026-01-01T01:00:00"]
    as_json = await sync(client, query, RESPONSEFORMAT="application/json", MAXREC=2)
    document = json.loads(as_json.content)
    assert [c["name"] for c in document["columns"]] == ["id", "name", "ra", "seen"]
    assert document["columns"][2]["unit"] == "deg"
    assert document["rows"] == [
        [1, "source 1", 0.1, "2026-01-01T01:00:00"],
        [2, "source 2", 0.2, "2026-01-01T02:00:00"],
    ]
    assert document["overflow"] is True


async def test_datalink_service_descriptor(client: AsyncTestClient[Any]) -> None:
    response = await sync(client, "SELECT TOP 2 id, obs_publisher_did FROM probe.Sources ORDER BY id")
    root = ET.fromstring(response.content)
    meta = [r for r in root.findall(f"{VO}RESOURCE") if r.get("type") == "meta"]
    assert len(meta) == 1
    assert meta[0].get("utype") == "adhoc:service"
    params = {p.get("name"): p for p in meta[0].iter(f"{VO}PARAM")}
    assert params["standardID"].get("value") == "ivo://ivoa.net/std/DataLink#links-1.1"
    assert params["accessURL"].get("value") == "http://tap.test/oidb/links"
    field_ids = {f.get("name"): f.get("ID") for f in root.iter(f"{VO}FIELD")}
    assert params["ID"].get("ref") == field_ids["obs_publisher_did"]
    none = await sync(client, "SELECT TOP 2 id FROM probe.Sources")
    assert b"adhoc:service" not in none.content


async def test_the_viewer_decides_the_rows(tap: TapAlone, client: AsyncTestClient[Any]) -> None:
    query = "SELECT COUNT(*) AS n FROM probe.Sources"
    anonymous = rows_of((await sync(client, query)).content)[0]["n"]
    admin = await client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": query}, headers=tap.admin_headers())
    assert (anonymous, rows_of(admin.content)[0]["n"]) == (ROWS - SECRET_ROWS, ROWS)


async def test_runid_and_lang_variants(client: AsyncTestClient[Any]) -> None:
    response = await sync(client, "SELECT TOP 1 id FROM probe.Sources", LANG="ADQL-2.0", RUNID="run-42")
    assert response.status_code == 200, response.text
    assert b'name="RUNID" value="run-42"' in response.content


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"LANG": "SQL", "QUERY": "SELECT 1"}, "LANG=SQL is not supported"),
        ({"QUERY": "SELECT TOP 1 id FROM probe.Sources"}, "LANG is required"),
        ({"LANG": "ADQL"}, "QUERY is required"),
        ({"LANG": "ADQL", "QUERY": "SELECT id FROM probe.Sources", "MAXREC": "many"}, "MAXREC=many"),
        (
            {"LANG": "ADQL", "QUERY": "SELECT id FROM probe.Sources", "RESPONSEFORMAT": "fits"},
            "RESPONSEFORMAT=fits",
        ),
        ({"LANG": "ADQL", "QUERY": "SELECT id\nFROM probe.Sources\nWHERE id > > 2"}, "(line 3, column 12)"),
        ({"LANG": "ADQL", "QUERY": "SELECT nope FROM probe.Sources"}, "no column nope"),
        ({"LANG": "ADQL", "QUERY": "SELECT id FROM probe.Nothing"}, "no published table probe.Nothing"),
        ({"LANG": "ADQL", "QUERY": "SELECT id FROM probe.Sources WHERE name > 3"}, "the query failed:"),
    ],
)
async def test_errors_are_votable_error_documents(
    client: AsyncTestClient[Any], params: dict[str, str], message: str
) -> None:
    response = await client.post("/tap/sync", data=params)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    infos = status_infos(response.content)
    assert len(infos) == 1
    assert infos[0][1] == "ERROR"
    assert message in infos[0][2]


@pytest.mark.parametrize(
    "condition",
    [
        "1 = CONTAINS(POINT('ICRS', ra, decl), CIRCLE('ICRS', 10.0, -9.0, 0.35))",
        "DISTANCE(POINT('ICRS', ra, decl), POINT('ICRS', 10.0, -9.0)) < 0.35",
        "DISTANCE(POINT('ICRS', 10.0, -9.0), POINT('ICRS', ra, decl)) < 0.35",
    ],
)
async def test_cones_use_the_index_through_the_security_barrier(tap: TapAlone, condition: str) -> None:
    from spicadb_tap.adql import translate
    from spicadb_tap.catalogue import load_catalogue

    from spicadb_kit.published import READER_ROLE

    conn = await tap.admin()
    try:
        translated = translate(
            f"SELECT id FROM probe.Sources WHERE {condition}", await load_catalogue(conn), ()
        )
        async with conn.transaction():
            # what the planner can do, not what it prefers on 2,000 rows: no index, no plan without a scan
            await conn.execute("SET LOCAL enable_seqscan = off")
            await conn.execute(f'SET LOCAL ROLE "{READER_ROLE}"')
            plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN SELECT * FROM ({translated.sql}) AS q"))
    finally:
        await conn.close()
    assert "sources_spoint_idx" in plan, plan


@pytest.mark.parametrize("fmt", ["votable", "votable-b2", "csv", "json"])
async def test_a_value_that_cannot_be_written_ends_the_answer_plainly(fmt: str) -> None:
    from spicadb_tap.results import ResultColumn, stream

    def convert(value: Any) -> Any:
        if value == 1500:
            raise ValueError("a value this writer does not know")
        return value

    class Batches:
        columns = [ResultColumn("id", "int", convert=convert)]
        overflow = False

        async def __aiter__(self) -> Any:
            for start in range(0, 2000, 1000):
                yield [(i,) for i in range(start, start + 1000)]

    failed: list[str] = []
    content = b"".join([chunk async for chunk in stream(fmt, Batches(), failed=failed)])
    assert failed == ["the service could not write a value of the answer"]
    if fmt.startswith("votable"):
        assert status_infos(content) == [("before", "OK", ""), ("after", "ERROR", failed[0])]
        assert len(votable_table(content).array) == 1000  # the first batch, whole
    elif fmt == "csv":
        assert content.decode().splitlines()[-1] == f"ERROR: {failed[0]}"
    else:
        assert json.loads(content)["error"] == failed[0]


async def test_a_form_field_that_is_not_text_is_a_400_error_document(client: AsyncTestClient[Any]) -> None:
    # a VOTable's bytes sent as a plain multipart field (no filename): the form parser's decode error
    # answered 500 before (found by schemathesis)
    response = await client.post(
        "/tap/sync",
        files={"LANG": (None, b"ADQL"), "QUERY": (None, b"\x89PNG\xff")},
    )
    assert response.status_code == 400, response.text
    assert "not UTF-8 text" in response.text
    assert status_infos(response.content)[0][1] == "ERROR"
