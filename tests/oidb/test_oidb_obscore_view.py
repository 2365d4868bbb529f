"""ivoa.obscore and spicadb.links, the oidb views the TAP service publishes, read as the TAP service reads
them (the reader role, the viewer set for the transaction): every ObsCore 1.1 mandatory column declared
and present, one row per current granule, quality following the flags, the data rights in the SQL
(counts and joins included), a reader's leaky condition unable to probe a hidden row (security_barrier),
a cone served by the GiST index, and each row's obs_publisher_did answered by the service's DataLink."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
import pytest
from harness import eventually
from oidb_support import OidbService, ago, flag, granule, indexed, push, supersede, votable_rows
from spicadb_oidb.published import MANDATORY, OBSCORE, PUBLISHED

from spicadb_kit.published import READER_ROLE, read_catalogue
from spicadb_kit.rights import Viewer, published_visible_sql, set_published_viewer

ANONYMOUS = Viewer(None)
ADA = Viewer("ada")  # LP-1's PI
BOB = Viewer("bob")  # in no programme

# ObsCore 1.1's 30 mandatory columns: name -> (unit, UCD, utype after "obscore:") (vo-interop.md §2)
OBSCORE_MANDATORY = {
    "dataproduct_type": (None, "meta.code.class", "ObsDataset.dataProductType"),
    "calib_level": (None, "meta.code;obs.calib", "ObsDataset.calibLevel"),
    "obs_collection": (None, "meta.id", "DataID.Collection"),
    "obs_id": (None, "meta.id", "DataID.observationID"),
    "obs_publisher_did": (None, "meta.ref.ivoid", "Curation.PublisherDID"),
    "access_url": (None, "meta.ref.url", "Access.Reference"),
    "access_format": (None, "meta.code.mime", "Access.Format"),
    "access_estsize": ("kbyte", "phys.size;meta.file", "Access.Size"),
    "target_name": (None, "meta.id;src", "Target.Name"),
    "s_ra": ("deg", "pos.eq.ra", "Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1"),
    "s_dec": ("deg", "pos.eq.dec", "Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C2"),
    "s_fov": ("deg", "phys.angSize;instr.fov", "Char.SpatialAxis.Coverage.Bounds.Extent.diameter"),
    "s_region": (None, "pos.outline;obs.field", "Char.SpatialAxis.Coverage.Support.Area"),
    "s_resolution": ("arcsec", "pos.angResolution", "Char.SpatialAxis.Resolution.Refval.value"),
    "s_xel1": (None, "meta.number", "Char.SpatialAxis.numBins1"),
    "s_xel2": (None, "meta.number", "Char.SpatialAxis.numBins2"),
    "t_min": ("d", "time.start;obs.exposure", "Char.TimeAxis.Coverage.Bounds.Limits.StartTime"),
    "t_max": ("d", "time.end;obs.exposure", "Char.TimeAxis.Coverage.Bounds.Limits.StopTime"),
    "t_exptime": ("s", "time.duration;obs.exposure", "Char.TimeAxis.Coverage.Support.Extent"),
    "t_resolution": ("s", "time.resolution", "Char.TimeAxis.Resolution.Refval.value"),
    "t_xel": (None, "meta.number", "Char.TimeAxis.numBins"),
    "em_min": ("m", "em.wl;stat.min", "Char.SpectralAxis.Coverage.Bounds.Limits.LoLimit"),
    "em_max": ("m", "em.wl;stat.max", "Char.SpectralAxis.Coverage.Bounds.Limits.HiLimit"),
    "em_res_power": (None, "spect.resolution", "Char.SpectralAxis.Resolution.ResolPower.refVal"),
    "em_xel": (None, "meta.number", "Char.SpectralAxis.numBins"),
    "o_ucd": (None, "meta.ucd", "Char.ObservableAxis.ucd"),
    "pol_states": (None, "meta.code;phys.polarization", "Char.PolarizationAxis.stateList"),
    "pol_xel": (None, "meta.number", "Char.PolarizationAxis.numBins"),
    "facility_name": (None, "meta.id;instr.tel", "Provenance.ObsConfig.Facility.name"),
    "instrument_name": (None, "meta.id;instr", "Provenance.ObsConfig.Instrument.name"),
}
# the optional columns taplint checks: name -> UCD (as taplint's OBS stage has them)
TAPLINT_OPTIONAL = {
    "obs_release_date": "time.release", "data_rights": "meta.code", "proposal_id": "meta.id;obs.proposal",
    "obs_creator_name": "meta.id", "target_class": "src.class", "em_resolution": "spect.resolution;stat.mean",
}  # fmt: skip
OIDB_EXTENSIONS = {
    "instrument_mode", "quality_level", "interferometer_stations", "nb_channels", "nb_vis", "nb_vis2", "nb_t3",
    "progid", "datapi", "dataproduct_category", "proposal_subid", "keywords", "access_md5",
}  # fmt: skip
CONE = "spoint(radians(s_ra), radians(s_dec)) @ scircle(spoint(radians({ra}), radians({dec})), radians({r}))"


async def read(service: OidbService, viewer: Viewer, sql: str, *args: Any) -> list[asyncpg.Record]:
    """A query as the TAP service runs one: read only, the viewer set, the reader role taken."""
    conn = await asyncpg.connect(service.admin_dsn)
    try:
        async with conn.transaction(readonly=True):
            await set_published_viewer(conn, viewer)
            await conn.execute(f'SET LOCAL ROLE "{READER_ROLE}"')
            return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def targets(service: OidbService, viewer: Viewer, where: str = "true") -> list[str]:
    rows = await read(service, viewer, f"SELECT target_name FROM ivoa.obscore WHERE {where} ORDER BY 1")
    return [r["target_name"] for r in rows]


async def settle(service: OidbService, events: Sequence[Any]) -> None:
    for event in events:
        await push(service, event)
    async with service.running():
        await eventually(service.drained, timeout=15)


def test_every_obscore_mandatory_column_is_declared_as_the_standard_says() -> None:
    declared = {c.name: c for c in OBSCORE.columns}
    assert [c.name for c in MANDATORY] == list(OBSCORE_MANDATORY)
    for name, (unit, ucd, utype) in OBSCORE_MANDATORY.items():
        column = declared[name]
        assert (column.unit, column.ucd, column.utype, column.std) == (unit, ucd, f"obscore:{utype}", True), (
            name
        )
    assert set(declared) >= set(TAPLINT_OPTIONAL) | OIDB_EXTENSIONS
    assert {name: declared[name].ucd for name in TAPLINT_OPTIONAL} == TAPLINT_OPTIONAL
    region = declared["s_region"]
    assert (region.datatype, region.arraysize, region.xtype) == ("char", "*", "adql:REGION")
    assert all(c.description for table in PUBLISHED for c in table.columns)
    assert OBSCORE.utype == "ivo://ivoa.net/std/ObsCore#core-1.1"


async def test_the_views_are_published_with_their_declared_columns(service: OidbService) -> None:
    conn = await asyncpg.connect(service.admin_dsn)
    try:
        catalogue = {t.qualified: t for t in await read_catalogue(conn)}
        barrier = await conn.fetch(
            "SELECT c.relname, c.reloptions FROM pg_class c WHERE c.oid IN"
            " ('ivoa.obscore'::regclass, 'spicadb.links'::regclass)"
        )
    finally:
        await conn.close()
    assert [c.name for c in catalogue["ivoa.ObsCore"].columns] == [c.name for c in OBSCORE.columns]
    assert catalogue["ivoa.ObsCore"].owner == "oidb"
    assert "spicadb.links" in catalogue
    assert all("security_barrier=true" in (r["reloptions"] or []) for r in barrier), barrier


async def test_obscore_rows_follow_the_granules_and_the_rights(service: OidbService) -> None:
    await service.programme("LP-1", pi="ada", months=18)
    await service.programme("LP-2", pi="carl", months=1)
    observation = uuid.uuid4()
    vega = granule("Vega", (279.2347, 38.7837), programme="LP-1", observations=[observation], quality=4)
    old_deneb = granule("Deneb", (310.3580, 45.2803), programme="LP-2", end=ago(days=90))
    new_deneb = granule("Deneb", (310.3580, 45.2803), programme="LP-2", end=ago(days=90))
    calibrator = granule("HD 1", (12.0, -5.0), programme="LP-1", category="CALIB")
    old, new = indexed(old_deneb), indexed(new_deneb)
    await settle(service, [indexed(vega), indexed(calibrator), old, new])
    await supersede(service, old, new)
    async with service.running():
        await eventually(service.drained, timeout=15)

    # anonymous: released rows only (LP-2's Deneb, one month after; a calibrator once observed)
    assert await targets(service, ANONYMOUS) == ["Deneb", "HD 1"]
    # the PI sees her programme's proprietary granule; another user does not
    assert await targets(service, ADA) == ["Deneb", "HD 1", "Vega"]
    assert await targets(service, BOB) == ["Deneb", "HD 1"]
    assert await targets(service, Viewer("robot", sees_all=True)) == ["Deneb", "HD 1", "Vega"]
    # the superseded file's granule is not there, for anyone
    dids = [
        r["obs_publisher_did"] for r in await read(service, ADA, "SELECT obs_publisher_did FROM ivoa.obscore")
    ]
    assert f"?{old_deneb.granule_id}" not in " ".join(dids)
    assert any(d.endswith(str(new_deneb.granule_id)) for d in dids)

    # counts, aggregates and joins see what the rows show
    count = "SELECT count(*) AS n, count(DISTINCT target_name) AS t, max(s_ra) AS ra FROM ivoa.obscore"
    [bob] = await read(service, BOB, count)
    assert (bob["n"], bob["t"], bob["ra"]) == (2, 2, 310.3580)
    joined = await read(
        service, BOB,
        "SELECT a.target_name FROM ivoa.obscore a JOIN ivoa.obscore b ON b.s_dec > a.s_dec - 100"
        " WHERE b.target_name = 'Vega'",
    )  # fmt: skip
    assert joined == []
    assert await read(service, BOB, "SELECT * FROM spicadb.links") == []

    # the row a member sees, with ObsCore's values
    [row] = await read(service, ADA, "SELECT * FROM ivoa.obscore WHERE target_name = 'Vega'")
    assert row["dataproduct_type"] == "visibility"
    assert row["calib_level"] == 2
    assert row["obs_publisher_did"] == f"ivo://jmmc.fr/spicadb/oidb?{vega.granule_id}"
    assert row["access_format"] == "application/fits"
    assert (row["s_ra"], row["s_dec"]) == (279.2347, 38.7837)
    assert row["s_fov"] == pytest.approx(9.0e-7 * 180 / 3.141592653589793)
    assert row["t_exptime"] == 600.0
    assert row["t_exptime_min"] == 2.5
    assert row["em_xel"] == 120
    assert row["quality_level"] == 4
    assert row["data_rights"] == "secure"
    assert row["proposal_id"] == "LP-1"
    assert row["datapi"] == "ada"
    assert row["target_class"] == "science"
    assert row["em_resolution"] == pytest.approx(7.5e-7 / 3000.0)
    # s_region is a pgSphere circle around the position, diameter s_fov
    [region] = await read(
        service, ADA,
        "SELECT degrees(long(center(s_region))) AS ra, degrees(lat(center(s_region))) AS dec,"
        " degrees(radius(s_region)) * 2 AS fov FROM ivoa.obscore WHERE target_name = 'Vega'",
    )  # fmt: skip
    assert (region["ra"], region["dec"], region["fov"]) == pytest.approx((279.2347, 38.7837, row["s_fov"]))
    # L0 <-> L2
    [linked] = await read(service, ADA, "SELECT * FROM spicadb.links")
    assert linked["observation_id"] == str(observation)
    assert linked["l0_did"] == f"ivo://jmmc.fr/spicadb/l0?{observation}"
    assert linked["obs_publisher_did"] == row["obs_publisher_did"]
    assert linked["programme"] == "LP-1"


async def test_a_leaky_condition_cannot_probe_a_hidden_row(service: OidbService) -> None:
    """1/(s_ra - x) divides by zero only on a row at x: evaluated before the rights condition, its error
    would tell anyone a hidden granule's position (security_barrier keeps it after)."""
    await service.programme("LP-1", pi="ada", months=18)
    await settle(service, [indexed(granule("Vega", (279.2347, 38.7837)))])
    probe = "SELECT count(*) AS n FROM ivoa.obscore WHERE 1 / (s_ra - 279.2347) > 0"
    assert (await read(service, BOB, probe))[0]["n"] == 0
    with pytest.raises(asyncpg.DivisionByZeroError):  # the PI sees the row, so her query divides by zero
        await read(service, ADA, probe)


async def test_a_flag_changes_the_quality_level(service: OidbService) -> None:
    await service.programme("LP-1", pi="ada", months=18)
    observation = uuid.uuid4()
    await settle(service, [indexed(granule("Vega", observations=[observation], quality=4))])
    assert [
        r["quality_level"] for r in await read(service, ADA, "SELECT quality_level FROM ivoa.obscore")
    ] == [4]
    await flag(service, observation, "bad")
    async with service.running():
        await eventually(service.drained, timeout=15)
    assert [
        r["quality_level"] for r in await read(service, ADA, "SELECT quality_level FROM ivoa.obscore")
    ] == [1]


async def test_a_cone_uses_the_gist_index_below_the_barrier(service: OidbService) -> None:
    """The planner may push a reader's cone below the security barrier only when pgSphere's functions are
    LEAKPROOF (spicadb_kit.leakproof, marked by the migration runner): then the GiST index serves it."""
    await service.programme("LP-1", pi="ada", months=18)
    await settle(service, [indexed(granule("Vega", (279.2347, 38.7837)))])
    conn = await asyncpg.connect(service.admin_dsn)
    try:  # enough rows that a sequential scan is not the cheaper plan
        await conn.execute(
            "INSERT INTO oidb.granule (calib_level, target_name, obs_collection, obs_publisher_did, access_url,"
            " s_ra, s_dec, t_min, t_max, nb_channels, subdate, granule_id, file_id, night, obs_end)"
            " SELECT 2, 'T' || i, 'SPICA', 'ivo://test?' || i, 'http://test/' || i, (i * 0.0137) % 360,"
            " (i * 0.0071) % 180 - 90, 60000, 60000.1, 10, now(), gen_random_uuid(), gen_random_uuid(),"
            " '2026-01-01', now() - interval '3 years' FROM generate_series(1, 20000) i"
        )
        await conn.execute("ANALYZE oidb.granule")
    finally:
        await conn.close()
    for where in (CONE.format(ra=279.2347, dec=38.7837, r=0.1), "s_region && scircle(spoint(radians(279.2347),"
                  " radians(38.7837)), radians(0.1))"):  # fmt: skip
        plan = "\n".join(
            r[0] for r in await read(service, ADA, f"EXPLAIN SELECT * FROM ivoa.obscore WHERE {where}")
        )
        assert "Index Scan" in plan, plan
        assert "Seq Scan on granule" not in plan, plan
        assert await targets(service, ADA, where) == ["Vega"]
    assert await targets(service, ANONYMOUS, CONE.format(ra=279.2347, dec=38.7837, r=0.1)) == []
    # DISTANCE (no index serves it) filters below the barrier too, before the view's other columns
    distance = "(spoint(radians(s_ra), radians(s_dec)) <-> spoint(radians(279.2347), radians(38.7837))) < radians(0.1)"
    plan = "\n".join(
        r[0] for r in await read(service, ADA, f"EXPLAIN SELECT * FROM ivoa.obscore WHERE {distance}")
    )
    assert "Subquery Scan" not in plan, plan
    assert await targets(service, ADA, distance) == ["Vega"]


async def test_the_publisher_did_is_answered_by_datalink(service: OidbService) -> None:
    await service.programme("LP-1", pi="ada", months=18)
    g = granule("HD 1", (12.0, -5.0), category="CALIB", end=ago(days=1))
    await settle(service, [indexed(g)])
    [row] = await read(service, ANONYMOUS, "SELECT obs_publisher_did, access_url FROM ivoa.obscore")
    async with service.running() as client:
        response = await client.get("/oidb/links", params={"ID": row["obs_publisher_did"]})
    assert response.status_code == 200
    _, links = votable_rows(response.text)
    [this] = [link for link in links if link["semantics"] == "#this"]
    assert this["ID"] == row["obs_publisher_did"]
    assert this["access_url"] == row["access_url"]
    assert not this["error_message"]


async def test_links_name_the_observations_as_the_service_configured(service: OidbService) -> None:
    """spicadb.links writes l0_did under SPICADB_L0_DID_PREFIX, which the service's DataLink answers."""
    await service.programme("LP-1", pi="ada", months=18)
    observation = uuid.uuid4()
    await push(service, indexed(granule("Vega", observations=[observation])))
    async with service.running(l0_did_prefix="ivo://example.org/l0") as client:
        await eventually(service.drained, timeout=15)
        [linked] = await read(service, ADA, "SELECT l0_did FROM spicadb.links")
        assert linked["l0_did"] == f"ivo://example.org/l0?{observation}"
        response = await client.get(
            "/oidb/links", params={"ID": linked["l0_did"]}, headers=service.auth("ada")
        )
    _, links = votable_rows(response.text)
    assert [link["semantics"] for link in links] == ["#derivation"]


async def test_the_views_hold_the_kits_rule(service: OidbService) -> None:
    """The condition written out in the views is rights.published_visible_sql: over granules of every case
    (no programme, old and new; an unknown programme; a calibrator; a member's; superseded), each viewer
    sees in ivoa.obscore and spicadb.links exactly the current granules the kit's text selects."""
    conn = await asyncpg.connect(service.admin_dsn)
    try:
        await conn.execute("SET search_path TO oidb, public")
        await conn.execute(
            "INSERT INTO programme_rights (programme_id, code, title, pi, public, proprietary_months, members)"
            " VALUES (gen_random_uuid(), 'LP-1', 'One', 'ada', false, 18, '{ada,bob}'),"
            " (gen_random_uuid(), 'LP-2', 'Two', 'carl', false, 1, '{carl}')"
        )
        await conn.execute(
            "INSERT INTO granule (calib_level, target_name, obs_collection, obs_publisher_did, access_url, s_ra,"
            " s_dec, t_min, t_max, nb_channels, subdate, granule_id, file_id, night, obs_end, programme,"
            " dataproduct_category, superseded, observation_ids)"
            " SELECT 2, 'T' || i, 'SPICA', 'ivo://test?' || i, 'http://test/' || i, i, 0, 60000, 60000.1, 10, now(),"
            " gen_random_uuid(), gen_random_uuid(), '2026-01-01', now() - (i % 7) * interval '200 days',"
            " (ARRAY[NULL, 'LP-1', 'LP-2', 'LP-X'])[1 + i % 4], CASE WHEN i % 5 = 0 THEN 'CALIB' ELSE 'SCIENCE' END,"
            " i % 11 = 0, ARRAY[gen_random_uuid()] FROM generate_series(1, 200) i"
        )
    finally:
        await conn.close()
    rule = published_visible_sql("g.programme", "g.obs_end", calibrator="g.dataproduct_category = 'CALIB'")
    for viewer in (ANONYMOUS, ADA, BOB, Viewer("carl"), Viewer("robot", sees_all=True)):
        conn = await asyncpg.connect(service.admin_dsn)
        try:
            async with conn.transaction(readonly=True):
                await conn.execute("SET LOCAL search_path TO oidb, public")
                await set_published_viewer(conn, viewer)
                expected = {
                    r[0]
                    for r in await conn.fetch(
                        f"SELECT obs_publisher_did FROM granule g WHERE NOT superseded AND {rule}"
                    )
                }
        finally:
            await conn.close()
        obscore = {r[0] for r in await read(service, viewer, "SELECT obs_publisher_did FROM ivoa.obscore")}
        links = {r[0] for r in await read(service, viewer, "SELECT obs_publisher_did FROM spicadb.links")}
        assert obscore == links == expected, viewer
        assert 0 < len(expected) < 200 - 18 or viewer.sees_all
