"""VOSI and DALI of the TAP service as clients read them: availability (false with a note when the database
is away), capabilities (pyvo's maxrec, hardlimit, upload methods; TAPRegExt's content), tables (detail=min,
one table, VODataService types) agreeing with TAP_SCHEMA, examples; stilts taplint's metadata stages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from xml.etree import ElementTree as ET

import asyncpg
import pytest
import pyvo
from litestar.testing import AsyncTestClient
from nats.js import JetStreamContext
from spicadb_tap.app import create_app
from spicadb_tap.catalogue import Catalogue
from spicadb_tap.spec import SPEC
from spicadb_tap.state import TapState
from tap_support import TapPlatform, run_bounded

from spicadb_kit.infra import NatsServer
from spicadb_kit.migrate import Migration, apply_migrations
from spicadb_kit.published import PublishedColumn, PublishedKey, PublishedTable
from spicadb_kit.testing.services import InstalledService
from spicadb_kit.testing.tokens import TokenFactory

NS = {
    "vosi": "http://www.ivoa.net/xml/VOSIAvailability/v1.0",
    "cap": "http://www.ivoa.net/xml/VOSICapabilities/v1.0",
    "vtm": "http://www.ivoa.net/xml/VOSITables/v1.0",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "h": "http://www.w3.org/1999/xhtml",
}
XSI_TYPE = f"{{{NS['xsi']}}}type"
PUBLIC_URL = "https://spicadb.example.org"
# inline, and URLs the service fetches (TAPRegExt makes upload-http mandatory once uploads exist)
UPLOAD_METHODS = [f"ivo://ivoa.net/std/TAPRegExt#upload-{m}" for m in ("inline", "http", "https")]

STARS = PublishedTable(
    schema="probe",
    name="Stars",
    description="Stars of a probe owner",
    utype="probe:Stars",
    columns=(
        PublishedColumn(
            name="star_id", datatype="long", ucd="meta.id;meta.main", principal=True, indexed=True
        ),
        PublishedColumn(name="size", datatype="float", unit="arcsec", std=True, description="Apparent size"),
        PublishedColumn(name="seen", datatype="char", arraysize="*", xtype="timestamp"),
        PublishedColumn(name="outline", datatype="char", arraysize="*", xtype="adql:REGION"),
    ),
)
PLANETS = PublishedTable(
    schema="probe",
    name="Planets",
    description="Planets of the probe's stars",
    columns=(
        PublishedColumn(name="planet", datatype="char", arraysize="*"),
        PublishedColumn(name="star_id", datatype="long"),
    ),
    keys=(PublishedKey(("star_id",), "probe.Stars", ("star_id",), "The planet's star"),),
)
VIEWS = Migration(
    "vosi_owner",
    1,
    "views",
    "CREATE TABLE star (id bigint PRIMARY KEY, size real, seen timestamptz);"
    " CREATE VIEW probe.stars AS SELECT id AS star_id, size, seen, NULL::text AS outline FROM star;"
    " CREATE VIEW probe.planets AS SELECT 'b'::text AS planet, id AS star_id FROM star;",
)


@pytest.fixture
async def tap(
    database: str, jetstream: JetStreamContext, nats_server: NatsServer, tokens: TokenFactory
) -> AsyncIterator[InstalledService]:
    """The tap service alone in a database, with a probe owner's two published views."""
    conn = await asyncpg.connect(database)
    try:
        await apply_migrations(
            conn,
            schema="vosi_owner",
            role="spicadb_vosi_owner",
            migrations=[VIEWS],
            publishes=(STARS, PLANETS),
        )
    finally:
        await conn.close()
    installed = InstalledService(SPEC, create_app, database, nats_server.url, tokens, jetstream)
    await installed.install()
    yield installed
    assert installed.pool is not None
    await installed.pool.close()


def catalogue_of(client: AsyncTestClient[Any]) -> Catalogue:
    state: TapState = client.app.state.context.state
    return state.catalogue


def parse(response: Any, media_type: str = "text/xml") -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media_type)
    return ET.fromstring(response.content)


# --- availability -----------------------------------------------------------------------------------


async def test_available_while_the_database_answers_and_not_when_it_is_away(tap: InstalledService) -> None:
    database = tap.admin_dsn.rpartition("/")[2]
    admin = await asyncpg.connect(tap.admin_dsn)
    try:
        async with tap.running() as client:
            up = parse(await client.get("/tap/availability"))
            assert up.tag == f"{{{NS['vosi']}}}availability"
            assert up.findtext("vosi:available", namespaces=NS) == "true"
            assert up.findtext("vosi:upSince", namespaces=NS)
            # the tap role may no longer connect, and its connections are cut
            await admin.execute(f'REVOKE CONNECT ON DATABASE "{database}" FROM PUBLIC')
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND datname = $2",
                SPEC.role,
                database,
            )
            down = parse(await client.get("/tap/availability"))
            assert down.findtext("vosi:available", namespaces=NS) == "false"
            assert "database" in (down.findtext("vosi:note", namespaces=NS) or "")
            await admin.execute(f'GRANT CONNECT ON DATABASE "{database}" TO PUBLIC')
            # the pool connects again by itself (its first attempts may still meet the cut)
            for _ in range(20):
                again = parse(await client.get("/tap/availability"))
                if again.findtext("vosi:available", namespaces=NS) == "true":
                    break
                await asyncio.sleep(0.5)
            assert again.findtext("vosi:available", namespaces=NS) == "true"
    finally:
        await admin.execute(f'GRANT CONNECT ON DATABASE "{database}" TO PUBLIC')
        await admin.close()


# --- capabilities -----------------------------------------------------------------------------------


async def test_capabilities_declare_tap_1_1_with_what_the_service_does(tap: InstalledService) -> None:
    async with tap.running(public_url=PUBLIC_URL + "/") as client:
        root = parse(await client.get("/tap/capabilities"))
    assert root.tag == f"{{{NS['cap']}}}capabilities"
    by_standard = {c.get("standardID"): c for c in root.findall("capability")}
    assert set(by_standard) == {
        "ivo://ivoa.net/std/TAP",
        "ivo://ivoa.net/std/VOSI#capabilities",
        "ivo://ivoa.net/std/VOSI#availability",
        "ivo://ivoa.net/std/VOSI#tables-1.1",
        "ivo://ivoa.net/std/DALI#examples",
    }
    tap_capability = by_standard["ivo://ivoa.net/std/TAP"]
    assert tap_capability.get(XSI_TYPE) == "tr:TableAccess"
    interface = tap_capability.find("interface")
    assert interface is not None
    assert (interface.get(XSI_TYPE), interface.get("role"), interface.get("version")) == (
        "vs:ParamHTTP",
        "std",
        "1.1",
    )
    assert interface.findtext("accessURL") == f"{PUBLIC_URL}/tap"
    assert (
        by_standard["ivo://ivoa.net/std/VOSI#tables-1.1"].findtext("interface/accessURL")
        == f"{PUBLIC_URL}/tap/tables"
    )
    data_model = tap_capability.find("dataModel")
    assert data_model is not None
    assert data_model.get("ivo-id") == "ivo://ivoa.net/std/ObsCore#core-1.1"
    version = tap_capability.find("language/version")
    assert version is not None
    assert (tap_capability.findtext("language/name"), version.get("ivo-id")) == (
        "ADQL",
        "ivo://ivoa.net/std/ADQL#v2.0",
    )
    features = {
        (group.get("type"), form.text)
        for group in tap_capability.findall("language/languageFeatures")
        for form in group.findall("feature/form")
    }
    geometry = "ivo://ivoa.net/std/TAPRegExt#features-adqlgeo"
    for function in (
        "POINT",
        "CIRCLE",
        "POLYGON",
        "BOX",
        "CONTAINS",
        "INTERSECTS",
        "DISTANCE",
        "COORD1",
        "COORD2",
    ):
        assert (geometry, function) in features
    assert ("ivo://ivoa.net/std/TAPRegExt#features-adql-offset", "OFFSET") in features
    assert ("ivo://ivoa.net/std/TAPRegExt#features-adql-string", "ILIKE") in features
    formats = {f.findtext("mime"): f.get("ivo-id") for f in tap_capability.findall("outputFormat")}
    assert formats == {
        "application/x-votable+xml": "ivo://ivoa.net/std/TAPRegExt#output-votable-td",
        "application/x-votable+xml;serialization=BINARY2": "ivo://ivoa.net/std/TAPRegExt#output-votable-binary2",
        "text/csv;header=present": None,
        "text/tab-separated-values": None,
        "application/json": None,
    }
    limits = {}
    for name in ("outputLimit", "executionDuration", "retentionPeriod", "uploadLimit"):
        for part in ("default", "hard"):
            element = tap_capability.find(f"{name}/{part}")
            limits[(name, part)] = (None, None) if element is None else (element.text, element.get("unit"))
    assert limits[("outputLimit", "default")] == ("10000", "row")
    assert limits[("outputLimit", "hard")] == ("2000000", "row")
    assert limits[("executionDuration", "default")] == ("600", None)
    assert limits[("executionDuration", "hard")] == ("3600", None)
    assert limits[("retentionPeriod", "hard")] == (str(30 * 24 * 3600), None)
    assert limits[("uploadLimit", "hard")] == (str(16 * 1024 * 1024), "byte")
    assert [m.get("ivo-id") for m in tap_capability.findall("uploadMethod")] == UPLOAD_METHODS


async def test_capabilities_follow_the_settings(tap: InstalledService) -> None:
    async with tap.running(default_maxrec=500, hard_maxrec=5000) as client:
        root = parse(await client.get("/tap/capabilities"))
    limit = root.find("capability/outputLimit")
    assert limit is not None
    assert (limit.findtext("default"), limit.findtext("hard")) == ("500", "5000")


# --- tables -----------------------------------------------------------------------------------------


def columns_of(table: ET.Element) -> list[tuple[Any, ...]]:
    """A /tables table's columns as TAP_SCHEMA.columns rows say them."""
    rows = []
    for index, column in enumerate(table.findall("column")):
        data_type = column.find("dataType")
        assert data_type is not None
        assert data_type.get(XSI_TYPE) == "vs:VOTableType"
        flags = {f.text for f in column.findall("flag")}
        rows.append(
            (
                table.findtext("name"),
                column.findtext("name"),
                data_type.text,
                data_type.get("arraysize"),
                data_type.get("extendedType"),
                column.findtext("description"),
                column.findtext("utype"),
                column.findtext("unit"),
                column.findtext("ucd"),
                int("indexed" in flags),
                int("primary" in flags),
                int(column.get("std") == "true"),
                index,
            )
        )
    return rows


async def test_tables_and_tap_schema_say_the_same(tap: InstalledService) -> None:
    async with tap.running() as client:
        root = parse(await client.get("/tap/tables"))
        catalogue = catalogue_of(client)
    assert root.tag == f"{{{NS['vtm']}}}tableset"
    listed = [t.findtext("name") for s in root.findall("schema") for t in s.findall("table")]
    assert tap.pool is not None
    assert listed == [
        r["table_name"]
        for r in await tap.pool.fetch("SELECT table_name FROM tap_schema.tables ORDER BY table_index")
    ]
    assert {"probe.Stars", "probe.Planets", "TAP_SCHEMA.columns"} <= set(listed)
    assert len(listed) == len(catalogue.tables)
    from_tables = sorted(
        row for s in root.findall("schema") for t in s.findall("table") for row in columns_of(t)
    )
    from_tap_schema = sorted(
        tuple(r)
        for r in await tap.pool.fetch(
            "SELECT table_name, column_name, datatype, arraysize, xtype, description, utype, unit, ucd,"
            " indexed, principal, std, column_index FROM tap_schema.columns"
        )
    )
    assert from_tables == from_tap_schema
    # the probe's columns as vo-interop.md §1 says: reserved words delimited, VOTable types and xtypes
    stars = next(
        t for s in root.findall("schema") for t in s.findall("table") if t.findtext("name") == "probe.Stars"
    )
    assert stars.get("type") == "view"
    assert stars.findtext("utype") == "probe:Stars"
    assert [row[1:5] for row in columns_of(stars)] == [
        ("star_id", "long", None, None),
        ('"size"', "float", None, None),
        ("seen", "char", "*", "timestamp"),
        ("outline", "char", "*", "adql:REGION"),
    ]
    planets = next(
        t for s in root.findall("schema") for t in s.findall("table") if t.findtext("name") == "probe.Planets"
    )
    keys = [
        (k.findtext("targetTable"), k.findtext("fkColumn/fromColumn"), k.findtext("fkColumn/targetColumn"))
        for k in planets.findall("foreignKey")
    ]
    assert keys == [("probe.Stars", "star_id", "star_id")]
    tap_keys = await tap.pool.fetch(
        "SELECT k.target_table, c.from_column, c.target_column FROM tap_schema.keys k"
        " JOIN tap_schema.key_columns c USING (key_id) WHERE k.from_table = 'probe.Planets'"
    )
    assert [tuple(k) for k in tap_keys] == keys


async def test_tables_detail_min_lists_tables_without_columns(tap: InstalledService) -> None:
    async with tap.running() as client:
        root = parse(await client.get("/tap/tables", params={"detail": "min"}))
        refused = await client.get("/tap/tables", params={"detail": "everything"})
    tables = [t for s in root.findall("schema") for t in s.findall("table")]
    assert {t.findtext("name") for t in tables} >= {"probe.Stars", "probe.Planets"}
    assert all(t.find("column") is None for t in tables)
    assert all(t.findtext("description") for t in tables)
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/problem+json")


async def test_one_table_by_its_name_in_any_case(tap: InstalledService) -> None:
    async with tap.running() as client:
        root = parse(await client.get("/tap/tables/PROBE.stars"))
        missing = await client.get("/tap/tables/probe.comets")
    assert root.tag == f"{{{NS['vtm']}}}table"
    assert root.findtext("name") == "probe.Stars"
    assert [c.findtext("name") for c in root.findall("column")] == ["star_id", '"size"', "seen", "outline"]
    assert missing.status_code == 404
    assert "probe.comets" in missing.json()["detail"]


# --- examples ---------------------------------------------------------------------------------------


async def test_examples_are_dali_xhtml(tap: InstalledService) -> None:
    async with tap.running() as client:
        root = parse(await client.get("/tap/examples"), "application/xhtml+xml")
    body = root.find("h:body", NS)
    assert body is not None
    assert body.get("vocab") == "http://www.ivoa.net/rdf/examples#"
    examples = body.findall("h:div[@typeof='example']", NS)
    queries = {e.get("id"): e.findtext("h:pre[@property='query']", namespaces=NS) for e in examples}
    assert all(
        e.get("resource") == f"#{e.get('id')}" and e.findtext("h:h2[@property='name']", namespaces=NS)
        for e in examples
    )
    assert "CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS'" in (queries["obscore-cone"] or "")
    assert {"obscore-cone", "exposures-cone", "programme-targets", "calibrators-near"} <= set(queries)


# --- as VO clients read them (the platform: real ports, behind the gateway) -------------------------


def _pyvo_view(url: str) -> dict[str, Any]:
    service = pyvo.dal.TAPService(url)
    tables = service.tables
    return {
        "available": service.available,
        "maxrec": service.maxrec,
        "hardlimit": service.hardlimit,
        "upload_methods": [m.ivo_id for m in service.upload_methods],
        "tables": {table.name: [c.name for c in table.columns] for table in tables},
        "examples": [e["QUERY"] if isinstance(e, dict) else e.query for e in service.examples],
    }


async def test_pyvo_reads_the_metadata(tap_platform: TapPlatform) -> None:
    view = await asyncio.to_thread(_pyvo_view, tap_platform.tap_url)
    assert view["available"] is True
    assert (view["maxrec"], view["hardlimit"]) == (10_000, 2_000_000)
    assert view["upload_methods"] == UPLOAD_METHODS
    assert {"ivoa.ObsCore", "TAP_SCHEMA.columns", "TAP_SCHEMA.key_columns"} <= set(view["tables"])
    assert {"s_ra", "s_dec", "s_region", "obs_publisher_did"} <= set(view["tables"]["ivoa.ObsCore"])
    assert len(view["examples"]) >= 4


def _taplint_errors(report: str) -> list[str]:
    return [line for line in report.splitlines() if line.startswith(("E-", "F-"))]


async def test_taplint_metadata_stages_find_no_error(tap_platform: TapPlatform) -> None:
    # the stages of what this service describes (capabilities, availability, /tables, TAP_SCHEMA and their
    # agreement, examples); the query stages are the integration's whole taplint run
    status, report = await run_bounded(
        "stilts",
        "taplint",
        f"tapurl={tap_platform.tap_url}",
        "stages=CPV CAP AVV TMV TME TMS TMC EXA",
        "report=EWF",
        "maxrepeat=3",
        timeout=300,
    )
    assert status == 0, report
    assert "Totals:" in report, report
    assert _taplint_errors(report) == [], report


# every language feature the capabilities declare, used in a query that must run
DECLARED_FEATURES = {
    "POINT CIRCLE CONTAINS": "SELECT TOP 1 obs_id FROM ivoa.ObsCore"
    " WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 83.63, 22.01, 0.5))",
    "POLYGON": "SELECT TOP 1 obs_id FROM ivoa.ObsCore"
    " WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), POLYGON('ICRS', 80.0, 20.0, 85.0, 20.0, 85.0, 25.0))",
    "BOX": "SELECT TOP 1 obs_id FROM ivoa.ObsCore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), BOX('ICRS', 83.6, 22.0, 1.0, 1.0))",
    "INTERSECTS": "SELECT TOP 1 obs_id FROM ivoa.ObsCore WHERE 1 = INTERSECTS(s_region, CIRCLE('ICRS', 83.63, 22.01, 0.5))",
    "DISTANCE": "SELECT TOP 1 obs_id, DISTANCE(POINT('ICRS', s_ra, s_dec), POINT('ICRS', 83.63, 22.01)) AS d"
    " FROM ivoa.ObsCore WHERE DISTANCE(POINT('ICRS', s_ra, s_dec), POINT('ICRS', 83.63, 22.01)) < 1.0",
    "AREA": "SELECT TOP 1 AREA(CIRCLE('ICRS', 83.63, 22.01, 0.5)) AS a FROM ivoa.ObsCore",
    "COORD1 COORD2": "SELECT TOP 1 COORD1(POINT('ICRS', s_ra, s_dec)) AS c1, COORD2(POINT('ICRS', s_ra, s_dec)) AS c2"
    " FROM ivoa.ObsCore",
    "OFFSET": "SELECT TOP 1 obs_id FROM ivoa.ObsCore ORDER BY obs_id OFFSET 1",
    "ILIKE": "SELECT TOP 1 obs_id FROM ivoa.ObsCore WHERE target_name ILIKE 'hd%'",
    "ADQL 2.1 POINT without a frame": "SELECT TOP 1 obs_id FROM ivoa.ObsCore"
    " WHERE 1 = CONTAINS(POINT(s_ra, s_dec), CIRCLE(83.63, 22.01, 0.5))",
}


def _status(votable: bytes) -> str | None:
    root = ET.fromstring(votable)
    statuses = [
        e.get("value") for e in root.iter() if e.tag.endswith("INFO") and e.get("name") == "QUERY_STATUS"
    ]
    return statuses[0] if statuses else None


@pytest.mark.parametrize("feature", list(DECLARED_FEATURES))
async def test_each_declared_feature_runs(tap_platform: TapPlatform, feature: str) -> None:
    response = await tap_platform.sync(DECLARED_FEATURES[feature])
    assert response.status_code == 200, response.text
    assert _status(response.content) == "OK", response.text


async def test_each_example_runs(tap_platform: TapPlatform) -> None:
    async with tap_platform.client() as client:
        page = ET.fromstring((await client.get("/tap/examples")).content)
    queries = {
        e.get("id"): e.findtext("h:pre[@property='query']", namespaces=NS)
        for e in page.iter(f"{{{NS['h']}}}div")
    }
    assert queries
    failed = {}
    for name, query in queries.items():
        response = await tap_platform.sync(query or "")
        if response.status_code != 200 or _status(response.content) != "OK":
            failed[name] = response.text[:500]
    assert failed == {}
