"""spicadb.targets, the programme targets the TAP service publishes, read as the TAP service reads them (the
reader role, the viewer set for the transaction): public programmes' targets for everyone, a private
programme's for its members only (counts and joins included), a leaky condition unable to probe a hidden
target, membership changes applying at once, the cone on the GiST index."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from programmes_support import ProgrammesService, create_programme, import_json, star
from spicadb_programmes.published import TARGETS

from spicadb_kit.published import READER_ROLE, read_catalogue
from spicadb_kit.rights import Viewer, set_published_viewer

ANONYMOUS = Viewer(None)
CONE = "spoint(radians(ra), radians(dec)) @ scircle(spoint(radians({}), radians({})), radians(0.1))"


async def read(service: ProgrammesService, viewer: Viewer, sql: str) -> list[asyncpg.Record]:
    """A query as the TAP service runs one: read only, the viewer set, the reader role taken."""
    conn = await asyncpg.connect(service.admin_dsn)
    try:
        async with conn.transaction(readonly=True):
            await set_published_viewer(conn, viewer)
            await conn.execute(f'SET LOCAL ROLE "{READER_ROLE}"')
            return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def names(service: ProgrammesService, viewer: Viewer, where: str = "true") -> list[str]:
    rows = await read(service, viewer, f"SELECT name FROM spicadb.targets WHERE {where} ORDER BY 1")
    return [r["name"] for r in rows]


async def programmes(client: Any, service: ProgrammesService) -> None:
    """LP-1 private (ada PI, bob viewer), OPEN-1 public (carl PI)."""
    await create_programme(client, service, "LP-1", members=[("bob", "viewer")])
    await create_programme(client, service, "OPEN-1", pi="carl", public=True)
    imported = await import_json(client, service, "LP-1", [
        star("Vega", 279.2347, 38.7837, pmra=200.94, pmdec=286.23, parallax=130.23, mag_v=0.03,
             spectral_type="A0V", priority=1),
        star("Deneb", 310.358, 45.2803),
    ])  # fmt: skip
    assert imported.status_code in (200, 201), imported.text
    opened = await import_json(client, service, "OPEN-1", [star("Altair", 297.6958, 8.8683)], user="carl")
    assert opened.status_code in (200, 201), opened.text


def test_every_column_is_described() -> None:
    assert all(c.description for c in TARGETS.columns)
    units = {c.name: (c.unit, c.ucd) for c in TARGETS.columns}
    assert units["ra"] == ("deg", "pos.eq.ra;meta.main")
    assert units["pmra"] == ("mas/yr", "pos.pm;pos.eq.ra")


async def test_targets_of_public_and_own_programmes(service: ProgrammesService) -> None:
    async with service.running() as client:
        await programmes(client, service)
        conn = await asyncpg.connect(service.admin_dsn)
        try:
            assert "spicadb.targets" in {t.qualified for t in await read_catalogue(conn)}
        finally:
            await conn.close()
        assert await names(service, ANONYMOUS) == ["Altair"]
        assert await names(service, Viewer("eve")) == ["Altair"]
        assert await names(service, Viewer("ada")) == ["Altair", "Deneb", "Vega"]
        assert await names(service, Viewer("bob")) == ["Altair", "Deneb", "Vega"]
        assert await names(service, Viewer("robot", sees_all=True)) == ["Altair", "Deneb", "Vega"]
        [count] = await read(
            service, Viewer("eve"), "SELECT count(*) AS n, max(dec) AS d FROM spicadb.targets"
        )
        assert (count["n"], count["d"]) == (1, 8.8683)
        joined = await read(
            service, Viewer("eve"),
            "SELECT a.name FROM spicadb.targets a JOIN spicadb.targets b ON b.programme <> a.programme",
        )  # fmt: skip
        assert joined == []

        [vega] = await read(service, Viewer("bob"), "SELECT * FROM spicadb.targets WHERE name = 'Vega'")
        assert (vega["programme"], vega["ra"], vega["dec"]) == ("LP-1", 279.2347, 38.7837)
        assert (vega["pmra"], vega["pmdec"], vega["parallax"], vega["mag_v"]) == (
            200.94,
            286.23,
            130.23,
            0.03,
        )
        assert (vega["spectral_type"], vega["priority"], vega["progress"]) == ("A0V", 1, "not-observed")

        # a member removed no longer sees the programme's targets, at once
        removed = await client.delete("/programmes/LP-1/members/bob", headers=service.auth("ada"))
        assert removed.status_code in (200, 204), removed.text
        assert await names(service, Viewer("bob")) == ["Altair"]


async def test_a_leaky_condition_cannot_probe_a_hidden_target(service: ProgrammesService) -> None:
    async with service.running() as client:
        await programmes(client, service)
    probe = "SELECT count(*) AS n FROM spicadb.targets WHERE 1 / (ra - 279.2347) > 0"
    assert (await read(service, Viewer("eve"), probe))[0]["n"] == 1  # Altair only
    with pytest.raises(asyncpg.DivisionByZeroError):
        await read(service, Viewer("ada"), probe)


async def test_a_cone_uses_the_gist_index_below_the_barrier(service: ProgrammesService) -> None:
    async with service.running() as client:
        await programmes(client, service)
    conn = await asyncpg.connect(service.admin_dsn)
    try:  # enough rows that a sequential scan is not the cheaper plan
        await conn.execute(
            "INSERT INTO programmes.target (id, programme_id, name, name_key, ra, dec)"
            " SELECT gen_random_uuid(), (SELECT id FROM programmes.programme WHERE code = 'OPEN-1'), 'T' || i,"
            " 't' || i, (i * 0.0137) % 360, (i * 0.0071) % 180 - 90 FROM generate_series(1, 20000) i"
        )
        await conn.execute("ANALYZE programmes.target")
    finally:
        await conn.close()
    cone = CONE.format(279.2347, 38.7837)
    plan = "\n".join(
        r[0]
        for r in await read(service, Viewer("ada"), f"EXPLAIN SELECT * FROM spicadb.targets WHERE {cone}")
    )
    assert "Index Scan on target_position" in plan, plan
    assert "Seq Scan on target" not in plan, plan
    assert await names(service, Viewer("ada"), cone) == ["Vega"]
    assert await names(service, ANONYMOUS, cone) == []
