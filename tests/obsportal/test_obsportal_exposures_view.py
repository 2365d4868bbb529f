"""obsportal.exposures, the L0 view the TAP service publishes, read as the TAP service reads it (the reader
role, the viewer set for the transaction): ObsPortal's column names and values, the observation's uuid as a
DataLink ID, the data rights in the SQL (counts and joins included), a leaky condition unable to probe a
hidden row, withdrawn observations absent, a flag changing the validation level, the cone on the index."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from harness import eventually
from obsportal_support import ObsportalService, flagged, logged
from spicadb_obsportal.published import EXPOSURES
from spicadb_obsportal.services.exposures import FIELDS

from spicadb_kit.published import READER_ROLE, read_catalogue
from spicadb_kit.rights import Viewer, published_visible_sql, set_published_viewer

ANONYMOUS = Viewer(None)
ADA = Viewer("ada")  # LP-1's PI
BOB = Viewer("bob")  # in no programme
VEGA = (279.2347, 38.7837)
# vo-interop.md §11: ObsPortal's search.votable FIELDs, in order
OBSPORTAL = [
    "exp_id", "exp_header_id", "exp_mjd_start", "exp_mjd_end", "exp_projected_baselines",
    "exp_validation_level", "exp_validation_log", "exp_tau0", "exp_temperature", "exp_seeing",
    "exp_date_updated", "exp_date_release", "obs_id", "obs_type", "obs_program", "obs_program_title",
    "obs_program_pi_coi", "interferometer_name", "interferometer_stations", "instrument_name",
    "instrument_mode", "instrument_submode", "instrument_em_min", "instrument_em_max",
    "instrument_em_res_power", "target_id", "target_name", "target_ra", "target_dec",
]  # fmt: skip
CONE = "spoint(radians(target_ra), radians(target_dec)) @ scircle(spoint(radians({}), radians({})), radians(0.1))"


async def read(service: ObsportalService, viewer: Viewer, sql: str) -> list[asyncpg.Record]:
    """A query as the TAP service runs one: read only, the viewer set, the reader role taken."""
    conn = await asyncpg.connect(service.admin_dsn)
    try:
        async with conn.transaction(readonly=True):
            await set_published_viewer(conn, viewer)
            await conn.execute(f'SET LOCAL ROLE "{READER_ROLE}"')
            return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def names(service: ObsportalService, viewer: Viewer, where: str = "true") -> list[str]:
    rows = await read(
        service, viewer, f"SELECT target_name FROM obsportal.exposures WHERE {where} ORDER BY 1"
    )
    return [r["target_name"] for r in rows]


async def settle(service: ObsportalService, *events: Any) -> None:
    for event in events:
        await service.publish(event, str(event.observation_id))
    async with service.running():
        await eventually(service.drained, timeout=15)


def test_the_columns_are_obsportals() -> None:
    declared = {c.name: c for c in EXPOSURES.columns}
    assert [c.name for c in EXPOSURES.columns][: len(OBSPORTAL)] == OBSPORTAL
    for field in FIELDS:
        if field.name in declared:
            assert (declared[field.name].unit, declared[field.name].ucd) == (field.unit, field.ucd), (
                field.name
            )
    assert all(c.description for c in EXPOSURES.columns)
    assert "observation_id" in declared


async def test_exposures_follow_the_logs_and_the_rights(service: ObsportalService) -> None:
    await service.programme("LP-1", pi="ada", months=18)
    fresh = logged("Vega", *VEGA)
    old = logged("Vega*", *VEGA, start=datetime(2020, 1, 10, 5, tzinfo=UTC))
    unknown = logged("Vega?", *VEGA, programme="LP-X")  # a programme nobody announced
    await settle(service, fresh, old, unknown)
    conn = await asyncpg.connect(service.admin_dsn)
    try:
        assert "obsportal.exposures" in {t.qualified for t in await read_catalogue(conn)}
    finally:
        await conn.close()

    assert await names(service, ANONYMOUS) == ["Vega*"]
    assert await names(service, BOB) == ["Vega*"]
    assert await names(service, ADA) == ["Vega", "Vega*"]
    assert await names(service, Viewer("admin", sees_all=True)) == ["Vega", "Vega*", "Vega?"]
    [count] = await read(service, BOB, "SELECT count(*) AS n, max(exp_mjd_end) AS m FROM obsportal.exposures")
    assert (count["n"], count["m"]) == (1, old.mjd_end)
    joined = await read(
        service, BOB,
        "SELECT a.exp_id FROM obsportal.exposures a JOIN obsportal.exposures b ON b.target_id <> a.target_id",
    )  # fmt: skip
    assert joined == []

    [row] = await read(service, ADA, "SELECT * FROM obsportal.exposures WHERE target_name = 'Vega'")
    assert list(row.keys())[: len(OBSPORTAL)] == OBSPORTAL
    assert row["exp_id"] == f"{row['exp_header_id']}_{row['obs_id']}"
    assert row["observation_id"] == str(fresh.observation_id)
    assert (row["target_ra"], row["target_dec"]) == VEGA
    assert (row["obs_program"], row["obs_program_pi_coi"], row["instrument_name"]) == ("LP-1", "ada", "SPICA")
    assert row["exp_validation_level"] == 0
    assert row["exp_date_release"].endswith("+00:00")
    async with service.running() as client:  # ObsPortal's own answer gives the same values
        answer = await client.get(f"/obsportal/exposures/{row['exp_id']}", headers=service.auth("ada"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["observation_id"] == row["observation_id"]


async def test_a_leaky_condition_cannot_probe_a_hidden_row(service: ObsportalService) -> None:
    await service.programme("LP-1", pi="ada", months=18)
    await settle(service, logged("Vega", *VEGA))
    probe = f"SELECT count(*) AS n FROM obsportal.exposures WHERE 1 / (target_ra - {VEGA[0]}) > 0"
    assert (await read(service, BOB, probe))[0]["n"] == 0
    with pytest.raises(asyncpg.DivisionByZeroError):
        await read(service, ADA, probe)


async def test_a_flag_changes_the_level_and_a_withdrawn_observation_goes(service: ObsportalService) -> None:
    await service.programme("LP-1", pi="ada", months=18)
    vega, deneb = logged("Vega", *VEGA), logged("Deneb", 310.358, 45.2803)
    await settle(service, vega, deneb, flagged(vega, "degraded", "seeing"))
    levels = "SELECT target_name, exp_validation_level FROM obsportal.exposures ORDER BY 1"
    assert [tuple(r) for r in await read(service, ADA, levels)] == [("Deneb", 0), ("Vega", 3)]
    withdrawn = logged("Deneb", 310.358, 45.2803, observation_id=deneb.observation_id, log_version=2,
                       withdrawn=True)  # fmt: skip
    await settle(service, withdrawn)
    assert await names(service, ADA) == ["Vega"]


async def test_a_cone_uses_the_gist_index_below_the_barrier(service: ObsportalService) -> None:
    await service.programme("LP-1", pi="ada", months=18)
    await settle(service, logged("Vega", *VEGA))
    conn = await asyncpg.connect(service.admin_dsn)
    try:  # enough rows that a sequential scan is not the cheaper plan
        await conn.execute("SET search_path TO obsportal, public")  # (the rendering trigger's)
        await conn.execute(
            "INSERT INTO obsportal.exposure (observation_id, exp_header_id, site, night, log_version, target_id,"
            " mode, mjd_start, mjd_end, date_end, ra, dec, logged_at)"
            " SELECT gen_random_uuid(), 'SPICA.x', 'CHARA', '2026-01-01', 1, (SELECT min(id) FROM obsportal.target),"
            " 'LR', 60000, 60000.01, now() - interval '3 years', (i * 0.0137) % 360, (i * 0.0071) % 180 - 90, now()"
            " FROM generate_series(1, 20000) i"
        )
        await conn.execute("ANALYZE obsportal.exposure")
    finally:
        await conn.close()
    cone = CONE.format(*VEGA)
    plan = "\n".join(
        r[0] for r in await read(service, ADA, f"EXPLAIN SELECT * FROM obsportal.exposures WHERE {cone}")
    )
    assert "Index Scan on exposure_position" in plan, plan
    assert "Seq Scan on exposure" not in plan, plan
    assert await names(service, ADA, cone) == ["Vega"]
    assert await names(service, ANONYMOUS, cone) == []


async def test_the_view_holds_the_kits_rule(service: ObsportalService) -> None:
    """The condition written out in the view is rights.published_visible_sql: over exposures of every case
    (no programme, old and new; an unknown programme; a calibrator; a member's; withdrawn), each viewer sees
    exactly the exposures the kit's text selects."""
    conn = await asyncpg.connect(service.admin_dsn)
    try:
        await conn.execute("SET search_path TO obsportal, public")
        await conn.execute(
            "INSERT INTO programme_rights (programme_id, code, title, pi, public, proprietary_months, members)"
            " VALUES (gen_random_uuid(), 'LP-1', 'One', 'ada', false, 18, '{ada,bob}'),"
            " (gen_random_uuid(), 'LP-2', 'Two', 'carl', false, 1, '{carl}')"
        )
        await conn.execute("INSERT INTO target (name_key, name) VALUES ('t', 'T')")
        await conn.execute(
            "INSERT INTO exposure (observation_id, exp_header_id, site, night, log_version, programme, target_id,"
            " kind, mode, mjd_start, mjd_end, date_end, ra, dec, withdrawn, logged_at)"
            " SELECT gen_random_uuid(), 'SPICA.x', 'CHARA', '2026-01-01', 1, (ARRAY[NULL, 'LP-1', 'LP-2', 'LP-X'])[1 + i % 4],"
            " (SELECT id FROM target), CASE WHEN i % 5 = 0 THEN 'calibrator' ELSE 'science' END, 'LR', 60000, 60000.01,"
            " now() - (i % 7) * interval '200 days', i, 0, i % 11 = 0, now() FROM generate_series(1, 200) i"
        )
    finally:
        await conn.close()
    rule = published_visible_sql("e.programme", "e.date_end", calibrator="e.kind = 'calibrator'")
    for viewer in (ANONYMOUS, ADA, BOB, Viewer("carl"), Viewer("admin", sees_all=True)):
        conn = await asyncpg.connect(service.admin_dsn)
        try:
            async with conn.transaction(readonly=True):
                await conn.execute("SET LOCAL search_path TO obsportal, public")
                await set_published_viewer(conn, viewer)
                expected = {
                    str(r[0])
                    for r in await conn.fetch(
                        f"SELECT observation_id FROM exposure e WHERE NOT withdrawn AND {rule}"
                    )
                }
        finally:
            await conn.close()
        seen = {r[0] for r in await read(service, viewer, "SELECT observation_id FROM obsportal.exposures")}
        assert seen == expected, viewer
        assert expected
