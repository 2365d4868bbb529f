"""Exports that give back what the lists brought (issue 14): the SPICA science database layout in and out
with every column intact (values, units, UCDs, descriptions), SPICA-DB's own columns filled from the
targets and their progress; the Aspro2 VOTable with each target's requests and progress and the kept
columns; CSV and JSON with the properties; votlint finds nothing wrong in the VOTables."""

from __future__ import annotations

import csv
import io
import json
import math
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from astropy.io.votable import parse
from programmes_support import Client, ProgrammesService, create_programme
from spicadb_targets import FIELDS, TBD_DB, cell, spicadb_votable
from votlint import votlint

VOTABLE = "application/x-votable+xml"
N = 42
OWNED = {"TARGET_ID", "TARGET_Nobs", "TARGET_Nobs_Done", "TARGET_Completion_Rate"}
SIX = ["E1", "W2", "W1", "S2", "S1", "E2"]


def table(data: bytes) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parse(io.BytesIO(data), verify="ignore").get_first_table()


def texts(data: bytes) -> tuple[list[str], list[dict[str, str]]]:
    """FIELD names and rows (name -> cell text as written) of a TABLEDATA VOTable."""
    ns = "{http://www.ivoa.net/xml/VOTable/v1.3}"
    root = ET.fromstring(data)
    names = [f.get("name", "") for f in root.iter(f"{ns}FIELD")]
    rows = [
        dict(zip(names, [td.text or "" for td in tr.findall(f"{ns}TD")], strict=True))
        for tr in root.iter(f"{ns}TR")
    ]
    return names, rows


def field_attributes(data: bytes, attribute: str) -> dict[str, str | None]:
    ns = "{http://www.ivoa.net/xml/VOTable/v1.3}"
    return {f.get("name", ""): f.get(attribute) for f in ET.fromstring(data).iter(f"{ns}FIELD")}


def same(written: str, given: str | None) -> bool:
    """A cell as written back equals the list's: the same text, or the same number."""
    given = given or ""
    if written == given:
        return True
    try:
        a, b = float(written), float(given)
    except ValueError:
        return False
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))


async def import_spicadb_list(client: Client, service: ProgrammesService) -> dict[str, str]:
    """The SPICA science database export imported into LP-1: target id by name."""
    await create_programme(client, service)
    imported = await client.post(
        "/programmes/LP-1/targets/import",
        content=spicadb_votable(N),
        headers={**service.auth("ada"), "Content-Type": VOTABLE},
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["imported"] == N
    listed = await client.get("/programmes/LP-1/targets/", headers=service.auth("ada"), params={"limit": 100})
    assert listed.status_code == 200, listed.text
    return {t["name"]: t["id"] for t in listed.json()["items"]}


async def request_visits(client: Client, service: ProgrammesService, target_id: str) -> dict[str, str]:
    """Two setups requested for the target: 3 visits in LR, 1 in MR685 (priority 1); their configurations
    as the service keeps them (in CHARA's channel order)."""
    ada = service.auth("ada")
    configurations = {}
    for name, mode, configuration in (("lr6", "LR", SIX), ("mr4", "MR685", ["S1", "S2", "E1", "E2"])):
        made = await client.post(
            "/programmes/LP-1/setups",
            json={"name": name, "mode": mode, "configuration": configuration},
            headers=ada,
        )
        assert made.status_code == 201, made.text
        configurations[name] = " ".join(made.json()["configuration"])
    for setup, visits, priority in (("lr6", 3, 2), ("mr4", 1, 1)):
        made = await client.post(
            "/programmes/LP-1/requests",
            json={"target_id": target_id, "setup": setup, "visits": visits, "priority": priority},
            headers=ada,
        )
        assert made.status_code == 201, made.text
    return configurations


async def observed(service: ProgrammesService, target_id: str, setup: str, observed: int, good: int) -> None:
    """The counters the night-log events keep (tests/programmes/test_events_progress.py drives them)."""
    assert service.pool is not None
    await service.pool.execute(
        "UPDATE request r SET observed = $3, good = $4, planned = $3 FROM setup s"
        " WHERE s.id = r.setup_id AND r.target_id = $1::uuid AND s.name = $2",
        target_id, setup, observed, good,
    )  # fmt: skip


async def export(client: Client, service: ProgrammesService, fmt: str) -> bytes:
    response = await client.get(
        "/programmes/LP-1/targets/export", params={"format": fmt}, headers=service.auth("ada")
    )
    assert response.status_code == 200, response.text
    return response.content


def name_of(row: int) -> str:
    return cell("TARGET_MAIN_ID", row) or ""


async def test_the_spicadb_layout_comes_back_with_every_column_intact(
    service: ProgrammesService, tmp_path: Path
) -> None:
    async with service.running() as client:
        ids = await import_spicadb_list(client, service)
        first = name_of(1)
        await request_visits(client, service, ids[first])
        await observed(service, ids[first], "lr6", 2, 1)  # 1 good of 3 in LR, none of 1 in MR685
        data = await export(client, service, "spicadb")
    given = table(spicadb_votable(N))
    written = table(data)
    # the same columns in the same order, each with its FIELD as it came
    assert [f.name for f in written.fields] == [f.name for f in FIELDS]
    for a, b in zip(given.fields, written.fields, strict=True):
        assert (b.datatype, b.arraysize, b.ucd, b.description) == (
            a.datatype,
            a.arraysize,
            a.ucd,
            a.description,
        )
    # units as the list wrote them (astropy would spell solRad its own way)
    assert field_attributes(data, "unit") == field_attributes(spicadb_votable(N), "unit")
    names, rows = texts(data)
    _, given_rows = texts(spicadb_votable(N))
    by_name = {r["TARGET_MAIN_ID"]: r for r in rows}
    assert len(by_name) == N
    mismatches = []
    for k in range(1, N + 1):
        row, source = by_name[name_of(k)], given_rows[k - 1]
        for name in names:
            text = cell(name, k)
            if name in OWNED or (text or "").strip() in ("-", "NaN", "TBD by PI", TBD_DB):
                continue  # SPICA-DB's own columns, and placeholders (read as null, written empty)
            if not same(row[name], source[name]):
                mismatches.append((k, name, source[name], row[name]))
    assert mismatches == [], "\n".join(map(str, mismatches))
    # sexagesimal stays sexagesimal, digit for digit
    assert by_name[first]["TARGET_RA"] == cell("TARGET_RA", 1)
    assert by_name[first]["TARGET_DEC"] == cell("TARGET_DEC", 1)
    # SPICA-DB's own columns: the target id, the visits requested and done, the completion in %
    assert {r["TARGET_ID"] for r in rows} == set(ids.values())
    assert by_name[first]["TARGET_ID"] == ids[first]
    assert by_name[first]["TARGET_Nobs"] == "4"  # the requests' visits, not the list's
    assert by_name[first]["TARGET_Nobs_Done"] == "1"
    assert float(by_name[first]["TARGET_Completion_Rate"]) == pytest.approx(25.0)
    other = by_name[name_of(2)]
    assert other["TARGET_Nobs"] == cell("TARGET_Nobs", 2)  # no request: the list's own number
    assert other["TARGET_Nobs_Done"] == "0"
    assert float(other["TARGET_Completion_Rate"]) == 0.0
    assert votlint(data, tmp_path) == []  # last: it skips when stilts is missing


async def test_a_spicadb_export_imports_again_into_the_same_targets(service: ProgrammesService) -> None:
    async with service.running() as client:
        ids = await import_spicadb_list(client, service)
        data = await export(client, service, "spicadb")
        await create_programme(client, service, "LP-2")
        again = await client.post(
            "/programmes/LP-2/targets/import",
            content=data,
            headers={**service.auth("ada"), "Content-Type": VOTABLE},
        )
        assert again.status_code == 201, again.text
        assert again.json()["imported"] == N
        first = await client.get(
            "/programmes/LP-1/targets/", headers=service.auth("ada"), params={"limit": 100}
        )
        second = await client.get(
            "/programmes/LP-2/targets/", headers=service.auth("ada"), params={"limit": 100}
        )
    keep = (
        "name",
        "ra",
        "dec",
        "pmra",
        "parallax",
        "mag_v",
        "magnitudes",
        "diameters",
        "properties",
        "priority",
    )
    before = {t["name"]: {k: t.get(k) for k in keep} for t in first.json()["items"]}
    after = {t["name"]: {k: t.get(k) for k in keep} for t in second.json()["items"]}
    assert set(before) == set(after) == set(ids)
    for name in before:
        for key in keep:
            a, b = before[name][key], after[name][key]
            if isinstance(a, float):
                assert b == pytest.approx(a, abs=1e-9), (name, key)
            else:
                assert a == b, (name, key)


async def test_the_aspro2_export_carries_requests_progress_and_kept_columns(
    service: ProgrammesService, tmp_path: Path
) -> None:
    async with service.running() as client:
        ids = await import_spicadb_list(client, service)
        first = name_of(1)
        configurations = await request_visits(client, service, ids[first])
        await observed(service, ids[first], "lr6", 3, 3)
        await observed(service, ids[first], "mr4", 1, 0)
        data = await export(client, service, "votable")
    names, rows = texts(data)
    by_name = {r["NAME"]: r for r in rows}
    # Aspro2's columns first, as before, then the requests, then the list's other columns
    assert names[:3] == ["NAME", "RA", "DEC"]
    requests = [
        "SETUPS",
        "MODES",
        "CONFIGURATIONS",
        "VISITS",
        "PRIORITY",
        "PLANNED",
        "OBSERVED",
        "GOOD",
        "PROGRESS",
    ]
    assert names[names.index("GROUP") + 1 : names.index("GROUP") + 1 + len(requests)] == requests
    row = by_name[first]
    assert row["SETUPS"] == f"mr4 (MR685; {configurations['mr4']}), lr6 (LR; {configurations['lr6']})"
    assert row["MODES"] == "MR685 LR"
    assert row["VISITS"] == "4"
    assert row["PRIORITY"] == "1"
    assert (row["OBSERVED"], row["GOOD"], row["PROGRESS"]) == ("4", "3", "partial")
    untouched = by_name[name_of(2)]
    assert (untouched["SETUPS"], untouched["VISITS"], untouched["PROGRESS"]) == ("", "", "not-observed")
    assert untouched["PRIORITY"] == cell("TARGET_Flag_Priority_PI", 2)  # the PI's, without a request
    # the kept columns with their FIELD as the list described them
    written = {f.name: f for f in table(data).fields}
    given = {f.name: f for f in table(spicadb_votable(N)).fields}
    for name in ("TARGET_TIC", "TARGET_PI", "TARGET_vsini", "TARGET_Teff_Gaia_err", "PUBLICATION"):
        assert name in names, name
        assert (written[name].datatype, written[name].ucd, written[name].description) == (
            given[name].datatype,
            given[name].ucd,
            given[name].description,
        )
        assert same(row[name], cell(name, 1)), name
    assert votlint(data, tmp_path) == []  # last: it skips when stilts is missing


async def test_csv_and_json_exports_carry_the_properties(service: ProgrammesService) -> None:
    async with service.running() as client:
        await import_spicadb_list(client, service)
        as_json = (await export(client, service, "json")).decode()
        as_csv = (await export(client, service, "csv")).decode()
    targets = {t["name"]: t for t in json.loads(as_json)["targets"]}
    assert targets[name_of(1)]["properties"]["TARGET_TIC"] == cell("TARGET_TIC", 1)
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(as_csv))}
    row = rows[name_of(1)]
    assert row["TARGET_TIC"] == cell("TARGET_TIC", 1)
    assert same(row["TARGET_vsini"], cell("TARGET_vsini", 1))
    assert same(row["Gmag"], cell("TARGET_Gmag", 1))
    assert same(row["e_Gmag"], cell("TARGET_Gmag_err", 1))
    assert same(row["JSDC2_LDD"], cell("TARGET_JSDC2_LDD", 1))


async def test_exports_take_the_property_filters_of_the_listing(service: ProgrammesService) -> None:
    async with service.running() as client:
        await import_spicadb_list(client, service)
        response = await client.get(
            "/programmes/LP-1/targets/export",
            params={"format": "spicadb", "prop.TARGET_PI": "Mourard"},
            headers=service.auth("ada"),
        )
    assert response.status_code == 200, response.text
    _, rows = texts(response.content)
    expected = {name_of(k) for k in range(1, N + 1) if cell("TARGET_PI", k) == "Mourard"}
    assert expected
    assert {r["TARGET_MAIN_ID"] for r in rows} == expected
