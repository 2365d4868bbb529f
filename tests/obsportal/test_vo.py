"""The VO edge: Aspro2's raw-observation request to search.votable answers ObsPortal's exact FIELDs
(vo-interop.md §11), OiDB's harvesting filters work, and the Simple Cone Search 1.03 follows its rules
(metadata query, errors as one INFO name="Error", a maximum SR); both pass votlint."""

from __future__ import annotations

import io
import json
import warnings
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from astropy.io.votable import parse
from harness import eventually
from obsportal_support import VO, ObsportalService, flagged, log, logged, votable_rows, votlint

VEGA = (279.2347, 38.7837)
# QueryRawObservationsAction: one POST per target, these four form fields
ASPRO2 = {"ra": str(VEGA[0]), "dec": str(VEGA[1] + 25 / 3600), "radius": "30.0", "all_fields": "false"}
FIELDS = [
    "exp_id", "exp_header_id", "exp_mjd_start", "exp_mjd_end", "exp_projected_baselines",
    "exp_validation_level", "exp_validation_log", "exp_tau0", "exp_temperature", "exp_seeing",
    "exp_date_updated", "exp_date_release", "obs_id", "obs_type", "obs_program", "obs_program_title",
    "obs_program_pi_coi", "interferometer_name", "interferometer_stations", "instrument_name",
    "instrument_mode", "instrument_submode", "instrument_em_min", "instrument_em_max",
    "instrument_em_res_power", "target_id", "target_name", "target_ra", "target_dec",
    # not ObsPortal's, last: the ID the answer's DataLink service descriptor refers to
    "obs_publisher_did",
]  # fmt: skip
SHAPE = {  # name: (datatype, unit, ucd)
    "exp_id": ("unicodeChar", None, "meta.id"),
    "exp_mjd_start": ("double", "d", "time.start;obs.exposure"),
    "exp_mjd_end": ("double", "d", "time.end;obs.exposure"),
    "exp_projected_baselines": ("unicodeChar", None, "instr.baseline"),
    "exp_validation_level": ("int", None, "meta.code.qual"),
    "exp_tau0": ("double", "s", "time.processing"),
    "exp_temperature": ("double", "deg", "phys.temperature"),
    "exp_seeing": ("double", "as", "instr.obsty.seeing"),
    "obs_id": ("int", None, "meta.id"),
    "obs_type": ("unicodeChar", None, "meta.id;class"),
    "instrument_em_min": ("double", "m", "em.wl;stat.min"),
    "instrument_em_res_power": ("double", None, "spect.resolution"),
    "target_id": ("int", None, "meta.id"),
    "target_name": ("unicodeChar", None, "meta.id;meta.main"),
    "target_ra": ("double", "deg", "pos.eq.ra;meta.main"),
    "target_dec": ("double", "deg", "pos.eq.dec;meta.main"),
}


async def released_vega(service: ObsportalService, client: Any) -> Any:
    """Vega observed in 2020 by LP-1 (18 months proprietary: public now), flagged good."""
    await service.programme("LP-1", title="Stellar diameters", pi="ada")
    observation = logged("Vega", *VEGA, start=datetime(2020, 9, 24, 17, 25, 45, 325079, tzinfo=UTC),
                         kind="science", planned_sequence=3)  # fmt: skip
    await log(service, observation)
    await service.publish(flagged(observation, "good"), str(observation.observation_id))
    await eventually(service.drained, timeout=10)
    return observation


def astropy_table(text: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parse(io.BytesIO(text.encode())).get_first_table()


async def test_aspro2_request_returns_obsportal_fields_in_order(
    service: ObsportalService, tmp_path: Path
) -> None:
    async with service.running() as client:
        observation = await released_vega(service, client)
        response = await client.post("/obsportal/search.votable", data=ASPRO2)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/x-votable+xml")
        text = response.text
    root = ET.fromstring(text)
    assert root.get("version") == "1.4"
    resource = root.find(f"{VO}RESOURCE")
    assert resource is not None
    assert resource.get("type") == "results"
    params = {p.get("name"): p for p in resource.findall(f"{VO}PARAM")}
    assert params["status"].get("value") == "OK"
    assert params["last_mod_date"].get("value", "").endswith("+00:00")
    fields = root.iter(f"{VO}FIELD")
    shapes = {
        f.get("name"): (f.get("datatype"), f.get("unit"), f.get("ucd"), f.get("arraysize")) for f in fields
    }
    names, rows = votable_rows(text)
    assert names == FIELDS
    for name, (datatype, unit, ucd) in SHAPE.items():
        assert shapes[name][:3] == (datatype, unit, ucd), name
    assert all(s[3] == "*" for s in shapes.values() if s[0] == "unicodeChar")
    [row] = rows
    assert row["exp_id"] == f"SPICA.2020-09-24T17:25:45.325079_{row['obs_id']}"
    assert row["exp_header_id"] == "SPICA.2020-09-24T17:25:45.325079"
    assert abs(float(row["exp_mjd_start"]) - observation.mjd_start) < 1e-9
    assert row["exp_validation_level"] == "1"
    assert row["exp_validation_log"] == "[]"
    assert row["exp_projected_baselines"] == (
        "{'S1-E1': {'length': {'start': '317.8720', 'end': '329.7210'},"
        " 'angle': {'start': '38.3000', 'end': '22.3000'}}}"
    )
    assert float(row["exp_tau0"]) == 0.005  # 5 ms
    assert float(row["exp_seeing"]) == 0.8
    assert float(row["exp_temperature"]) == 12.5
    assert row["exp_date_release"] == "2022-03-24 17:45:45+00:00"
    assert row["obs_type"] == "science"
    assert (row["obs_program"], row["obs_program_title"], row["obs_program_pi_coi"]) == (
        "LP-1", "Stellar diameters", "ada",
    )  # fmt: skip
    assert (row["interferometer_name"], row["interferometer_stations"]) == ("CHARA", "E1 W2 W1 S2 S1 E2")
    assert (row["instrument_name"], row["instrument_mode"], row["instrument_submode"]) == ("SPICA", "LR", "")
    assert float(row["instrument_em_min"]) == 6e-07
    assert float(row["instrument_em_max"]) == 9e-07
    assert float(row["instrument_em_res_power"]) == 150.0
    assert row["target_name"] == "Vega"
    assert (float(row["target_ra"]), float(row["target_dec"])) == VEGA
    # astropy reads it the same way
    table = astropy_table(text)
    assert table.array.dtype.names == tuple(FIELDS)
    assert str(table.array["target_name"][0]) == "Vega"
    assert int(table.array["exp_validation_level"][0]) == 1
    assert table.get_field_by_id("target_ra").unit.to_string() == "deg"
    votlint(text, tmp_path)


async def test_search_finds_a_target_within_30_arcsec_not_at_40(service: ObsportalService) -> None:
    async with service.running() as client:
        await released_vega(service, client)
        near = await client.post("/obsportal/search.votable", data=ASPRO2)
        far = await client.post("/obsportal/search.votable", data={**ASPRO2, "dec": str(VEGA[1] + 40 / 3600)})
        # the same request as GET
        by_get = await client.get("/obsportal/search.votable", params=ASPRO2)
        # across RA = 0: a target at 359.9999 found from 0.0001
        await log(service, logged("Edge", 359.9999, 0.0, programme=None,
                                  start=datetime(2020, 1, 1, tzinfo=UTC)))  # fmt: skip
        await eventually(service.drained, timeout=10)
        wrap = await client.post("/obsportal/search.votable",
                                 data={"ra": "0.0001", "dec": "0", "radius": "1", "all_fields": "false"},
                                 headers=service.auth("root", "admin"))  # fmt: skip
    assert len(votable_rows(near.text)[1]) == 1
    assert len(votable_rows(far.text)[1]) == 0
    assert votable_rows(by_get.text) == votable_rows(near.text)
    assert [r["target_name"] for r in votable_rows(wrap.text)[1]] == ["Edge"]


async def test_harvesting_filters(service: ObsportalService) -> None:
    async with service.running() as client:
        await released_vega(service, client)
        stamp = await service.scalar("SELECT max(updated_at) FROM exposure")
        day = stamp.date().isoformat()
        everything = await client.get("/obsportal/search.votable", params={"instrument": "SPICA"})
        today = await client.get(
            "/obsportal/search.votable",
            params={"instrument": "SPICA", "date_updated_from": day, "date_updated_to": day},
        )
        later = await client.get(
            "/obsportal/search.votable", params={"date_updated_from": "2999-01-01T00:00:00"}
        )
        other = await client.get("/obsportal/search.votable", params={"instrument": "GRAVITY"})
        vlti = await client.get("/obsportal/search.votable", params={"interferometer": "VLTI"})
        bad = await client.get("/obsportal/search.votable", params={"date_updated_from": "yesterday"})
        bad_ra = await client.post("/obsportal/search.votable", data={**ASPRO2, "ra": "north"})
    assert len(votable_rows(everything.text)[1]) == 1
    assert len(votable_rows(today.text)[1]) == 1
    assert votable_rows(later.text)[1] == []
    assert votable_rows(other.text)[1] == []
    assert votable_rows(vlti.text)[1] == []
    for response in (bad, bad_ra):
        assert response.status_code == 400
        root = ET.fromstring(response.text)
        params = {p.get("name"): p.get("value") for p in root.iter(f"{VO}PARAM")}
        assert params["status"] == "ERROR"


def _scs_fields(text: str) -> dict[str, list[str]]:
    root = ET.fromstring(text)
    ucds: dict[str, list[str]] = {}
    for f in root.iter(f"{VO}FIELD"):
        ucds.setdefault(f.get("ucd") or "", []).append(f.get("name") or "")
    return ucds


def _error(text: str) -> str | None:
    root = ET.fromstring(text)
    errors = [i for i in root.findall(f"{VO}INFO") if i.get("name") == "Error"]
    assert len(errors) <= 1
    assert not [i for i in root.iter(f"{VO}INFO") if i.get("name") == "Error" and i not in errors]
    return errors[0].get("value") if errors else None


async def test_cone_search_metadata_hit_and_errors(service: ObsportalService, tmp_path: Path) -> None:
    async with service.running() as client:
        await released_vega(service, client)
        metadata = await client.get("/obsportal/scs", params={"RA": "0", "DEC": "0", "SR": "0"})
        hit = await client.get("/obsportal/scs", params={"RA": VEGA[0], "DEC": VEGA[1], "SR": "0.01"})
        miss = await client.get("/obsportal/scs", params={"RA": VEGA[0], "DEC": VEGA[1] + 1, "SR": "0.01"})
        full = await client.get("/obsportal/scs",
                                params={"RA": VEGA[0], "DEC": VEGA[1], "SR": "0.01", "VERB": "3", "X": "y"})  # fmt: skip
        terse = await client.get(
            "/obsportal/scs", params={"RA": VEGA[0], "DEC": VEGA[1], "SR": "0.01", "VERB": "1"}
        )
        errors = {
            query: await client.get(f"/obsportal/scs?{query}")
            for query in ("DEC=0&SR=0.1", "RA=0&SR=0.1", "RA=0&DEC=0", "RA=abc&DEC=0&SR=0.1",
                          "RA=0&DEC=95&SR=0.1", "RA=0&DEC=0&SR=-1", "RA=0&DEC=0&SR=5", "RA=&DEC=0&SR=1")
        }  # fmt: skip
    for response in (metadata, hit, full, terse):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-votable+xml")
        assert _error(response.text) is None
        ucds = _scs_fields(response.text)
        assert len(ucds["meta.id;meta.main"]) == 1
        assert len(ucds["pos.eq.ra;meta.main"]) == 1
        assert len(ucds["pos.eq.dec;meta.main"]) == 1
    assert votable_rows(metadata.text)[1] == []
    assert [r["exp_id"] for r in votable_rows(hit.text)[1]] == [
        r["exp_id"] for r in votable_rows(full.text)[1]
    ]
    assert len(votable_rows(hit.text)[1]) == 1
    assert votable_rows(miss.text)[1] == []
    assert votable_rows(full.text)[0] == FIELDS
    assert votable_rows(terse.text)[0] == ["exp_id", "target_ra", "target_dec", "obs_publisher_did"]
    root = ET.fromstring(metadata.text)
    assert [i.get("value") for i in root.iter(f"{VO}INFO") if i.get("name") == "maxSR"] == ["1.0"]
    for query, response in errors.items():
        assert response.status_code == 200, query
        message = _error(response.text)
        assert message, query
    assert "above the largest cone" in (_error(errors["RA=0&DEC=0&SR=5"].text) or "")
    assert "RA is required" in (_error(errors["DEC=0&SR=0.1"].text) or "")
    for response in (metadata, hit, full, errors["RA=0&DEC=0&SR=5"]):
        votlint(response.text, tmp_path)


async def test_the_database_renders_baselines_and_log_as_obsportal_does(service: ObsportalService) -> None:
    """Migration 0002 renders exp_projected_baselines and exp_validation_log as rows are written
    (any writer: the consumer, a bulk COPY): four decimals exactly as Python's ``:.4f``, the messages
    in ObsPortal's order, re-rendered when a flag changes the row."""
    values = [317.872, 329.721, -0.00001, -179.99995, 0.00005, 0.00015, 12.34565, 1234.56789, 30.0, -38.3]
    items = [
        {"stations": f"S{i}-E{i}", "length_start": a, "length_end": b, "angle_start": -a, "angle_end": -b}
        for i, (a, b) in enumerate(zip(values, reversed(values), strict=True))
    ]
    expected = (
        "{"
        + ", ".join(
            f"'{b['stations']}': {{'length': {{'start': '{b['length_start']:.4f}', 'end': '{b['length_end']:.4f}'}},"
            f" 'angle': {{'start': '{b['angle_start']:.4f}', 'end': '{b['angle_end']:.4f}'}}}}"
            for b in items
        )
        + "}"
    )
    assert await service.scalar("SELECT exposure_baselines_text($1)", json.dumps(items)) == expected
    assert await service.scalar("SELECT exposure_baselines_text('[]')") == ""
    await service.scalar("INSERT INTO target (name_key, name) VALUES ('x', 'X') RETURNING id")
    row = await service.fetch(
        "INSERT INTO exposure (observation_id, exp_header_id, site, night, log_version, target_id, mode,"
        " mjd_start, mjd_end, date_end, logged_at, baselines, temperature)"
        " VALUES (gen_random_uuid(), 'SPICA.x', 'CHARA', '2024-01-01', 1, 1, 'LR', 1, 2, now(), now(), $1, 1.5)"
        " RETURNING id, projected_baselines, validation_log",
        json.dumps(items[:1]),
    )
    assert row[0]["projected_baselines"] == expected.split(", 'S1-E1'")[0] + "}"
    assert json.loads(row[0]["validation_log"]) == [
        "Missing seeing (no seeing recorded)", "Missing tau0 (no coherence time recorded)", "Missing stations",
        "Unmatched target (no programme target recognised)", "No programme", "Missing target position",
        "Not in the night's plan", "Not validated (no quality flag)",
    ]  # fmt: skip
    [updated] = await service.fetch(
        "UPDATE exposure SET level = 'degraded', flag_reasons = '{clouds,wind}', flag_comment = 'a \"b\"',"
        " seeing = 1.0, tau0 = 0.004, stations = '{S1,E1}', matched_by = 'name', programme = 'LP-1', ra = 1,"
        " dec = 2, planned_sequence = 3 WHERE id = $1 RETURNING validation_log",
        row[0]["id"],
    )
    assert json.loads(updated["validation_log"]) == ['Flagged degraded: clouds, wind (a "b")']
