"""The tap service alone in a database of its own, with a probe table published the way owners publish
theirs (a view over a table, declared, SELECT granted to the reader role, its rows filtered by the
viewer the query sets): what the query path's tests need without the other services.

``probe.Sources`` (the view ``probe.sources``): 2,000 rows, ids 1..2000, on a line of the sky
(ra = id * 0.1 deg, decl = id * 0.01 - 10), one in ten secret (seen only by a viewer who sees all),
an scircle region, a DataLink-able ``obs_publisher_did``.
"""

from __future__ import annotations

import io
import uuid
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import nats
from litestar.testing import AsyncTestClient
from spicadb_tap.app import create_app as tap_app
from spicadb_tap.spec import SPEC as TAP

from spicadb_kit import published
from spicadb_kit.infra import PostgresCluster
from spicadb_kit.published import PublishedColumn, PublishedTable
from spicadb_kit.testing.services import InstalledService
from spicadb_kit.testing.tokens import TokenFactory

__all__ = ["PROBE", "ROWS", "SECRET_ROWS", "TapAlone", "rows_of", "tap_alone", "votable_table"]

ROWS = 2000
SECRET_ROWS = ROWS // 10
PUBLIC_URL = "http://tap.test"

PROBE = PublishedTable(
    schema="probe",
    name="Sources",
    description="test sources on a line of the sky",
    columns=(
        PublishedColumn(name="id", datatype="int", ucd="meta.id;meta.main", principal=True),
        PublishedColumn(name="name", datatype="char", arraysize="*", ucd="meta.id", description="its name"),
        PublishedColumn(
            name="ra", datatype="double", unit="deg", ucd="pos.eq.ra", utype="probe:ra", indexed=True
        ),
        PublishedColumn(name="decl", datatype="double", unit="deg", ucd="pos.eq.dec", utype="probe:dec"),
        PublishedColumn(name="mag", datatype="float", unit="mag", ucd="phot.mag"),
        PublishedColumn(name="big", datatype="long"),
        PublishedColumn(name="flag", datatype="boolean"),
        PublishedColumn(name="seen", datatype="char", arraysize="*", xtype="timestamp", ucd="time.epoch"),
        PublishedColumn(
            name="region", datatype="char", arraysize="*", xtype="adql:REGION", ucd="pos.outline"
        ),
        PublishedColumn(name="obs_publisher_did", datatype="char", arraysize="*", ucd="meta.ref.ivoid"),
    ),
)

_SETUP = f"""
CREATE SCHEMA IF NOT EXISTS probe_data;
CREATE TABLE probe_data.sources AS
SELECT i AS id, 'source ' || i AS name, i * 0.1::float8 AS ra, i * 0.01::float8 - 10 AS decl,
       ((i % 20) / 4.0)::real AS mag, i::bigint * 1000000000 AS big, i % 2 = 0 AS flag,
       timestamptz '2026-01-01 00:00:00+00' + make_interval(hours => i) AS seen,
       scircle(spoint(radians(i * 0.1), radians(i * 0.01 - 10)), radians(0.01)) AS region,
       'ivo://test/probe?' || i AS obs_publisher_did, i % 10 = 0 AS secret
FROM generate_series(1, {ROWS}) AS i;
CREATE INDEX ON probe_data.sources USING gist (spoint(radians(ra), radians(decl)));
CREATE SCHEMA IF NOT EXISTS probe;
CREATE VIEW probe.sources WITH (security_barrier) AS
SELECT id, name, ra, decl, mag, big, flag, seen, region, obs_publisher_did FROM probe_data.sources
WHERE NOT secret OR coalesce(current_setting('spicadb.sees_all', true), '') = 'on';
"""


class TapAlone:
    """The tap service installed with the probe table; ``client()`` runs its app in process."""

    def __init__(self, admin_dsn: str, service: InstalledService) -> None:
        self.admin_dsn = admin_dsn
        self.service = service

    @asynccontextmanager
    async def client(self, **overrides: Any) -> AsyncIterator[AsyncTestClient[Any]]:
        settings = {"public_url": PUBLIC_URL, **overrides}
        async with self.service.running(**settings) as client:
            yield client

    def admin_headers(self) -> dict[str, str]:
        return self.service.auth("root", "admin", "tap:query")

    async def admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.admin_dsn)

    async def snapshot(self) -> tuple[Any, ...]:
        """What abuse must not change: the probe rows, the relations and roles of the database."""
        conn = await self.admin()
        try:
            rows = await conn.fetchval(
                "SELECT count(*) || ':' || sum(id) || ':' || sum(mag) FROM probe_data.sources"
            )
            relations = await conn.fetch(
                "SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2"
            )
            roles = await conn.fetch("SELECT rolname, rolsuper, rolcreaterole FROM pg_roles ORDER BY 1")
            return rows, [tuple(r) for r in relations], [tuple(r) for r in roles]
        finally:
            await conn.close()


@asynccontextmanager
async def tap_alone(cluster: PostgresCluster, nats_url: str, tokens: TokenFactory) -> AsyncIterator[TapAlone]:
    """The tap service and the probe table in a database of their own (dropped after)."""
    name = f"tapq_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(cluster.dsn())
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    nc = await nats.connect(nats_url)
    service = InstalledService(TAP, tap_app, cluster.dsn(name), nats_url, tokens, nc.jetstream())
    try:
        await service.install()
        conn = await asyncpg.connect(cluster.dsn(name))
        try:
            await conn.execute(_SETUP)
            await published.ensure_reader_role(conn)
            await conn.execute(f'GRANT USAGE ON SCHEMA probe TO "{published.READER_ROLE}"')
            await published.publish(conn, owner="probe", tables=[PROBE])
        finally:
            await conn.close()
        yield TapAlone(cluster.dsn(name), service)
    finally:
        await service.close()
        await nc.close()
        admin = await asyncpg.connect(cluster.dsn())
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def votable_table(content: bytes) -> Any:
    """The first table of a VOTable (astropy's TableElement)."""
    from astropy.io.votable import parse

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parse(io.BytesIO(content)).get_first_table()


def rows_of(content: bytes) -> list[dict[str, Any]]:
    """A VOTable's first table as dicts (masked cells None)."""
    table = votable_table(content).to_table()
    out = []
    for row in table:
        values = {}
        for name in table.colnames:
            value = row[name]
            masked = getattr(value, "mask", False) is True or str(value) == "--"
            if masked:
                values[name] = None
            elif getattr(value, "shape", ()) != ():
                values[name] = value.tolist()
            else:
                values[name] = value.item() if hasattr(value, "item") else value
        out.append(values)
    return out
