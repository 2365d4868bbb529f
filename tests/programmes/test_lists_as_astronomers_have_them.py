"""Issue 14, import side: the target lists SPICA astronomers really have (the SPICA science database export,
Aspro2 over SAMP, a VizieR cone with a double star) import whole, every column kept, read as TOPCAT and
Aspro2 read them; only what cannot be a target is refused, and then nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
import spicadb_targets as lists
from programmes_support import Client, ProgrammesService, create_programme, fields, import_json, problem, star
from spicadb_programmes.spec import SPEC
from spicadb_programmes.targetlists import parse_target_list

from spicadb_kit.runtime.openapi import document

VOTABLE = "application/x-votable+xml"


async def post_list(
    client: Client, service: ProgrammesService, body: bytes, media: str = VOTABLE, **params: Any
) -> Any:
    return await client.post(
        "/programmes/LP-1/targets/import",
        content=body,
        headers={**service.auth("ada"), "Content-Type": media},
        params=params,
    )


async def all_targets(client: Client, service: ProgrammesService, **params: Any) -> list[dict[str, Any]]:
    answer = await client.get(
        "/programmes/LP-1/targets", params={"limit": 1000, **params}, headers=service.auth("ada")
    )
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def nothing_written(service: ProgrammesService) -> None:
    assert await service.scalar("SELECT count(*) FROM target") == 0
    assert await service.scalar("SELECT count(*) FROM target_column") == 0
    assert await service.scalar("SELECT count(*) FROM work_package") == 0


# ------------------------------------------------------------------------------ the SPICA database export


@pytest.mark.parametrize("serialization", ["tabledata", "binary2", "fits"])
async def test_the_spica_database_export_imports_with_every_column_kept(
    service: ProgrammesService, serialization: str
) -> None:
    body = (
        lists.fits_serialized(lists.spicadb_votable())
        if serialization == "fits"
        else lists.spicadb_votable(serialization=serialization)  # type: ignore[arg-type]
    )
    async with service.running() as client:
        await create_programme(client, service)
        answer = await post_list(client, service, body)
        assert answer.status_code == 201, answer.text
        report = answer.json()
        assert report["imported"] == 42
        assert report["ignored_columns"] == []
        # placeholders: one warning per column, not per cell
        by_column = {w["column"]: w["message"] for w in report["warnings"]}
        assert len(by_column) == len(report["warnings"])
        assert "'TBD by PI'" in by_column["TARGET_SPICA_SETUP"]
        assert "'TBD by SPICA-DB'" in by_column["TARGET_CHARA_ID"]
        assert by_column["TARGET_HIP"].startswith("5 cells")  # rows 8, 16, 24, 32, 40 say "-"

        # every column described once, in the list's order, with its FIELD as it came
        columns = (await client.get("/programmes/LP-1/columns", headers=service.auth("ada"))).json()
        assert [c["name"] for c in columns] == lists.FIELD_NAMES
        described = {c["name"]: c for c in columns}
        for f in lists.FIELDS:
            c = described[f.name]
            assert (c["datatype"], c["ucd"], c["description"]) == (f.datatype, f.ucd, f.description), f.name
            if serialization != "binary2":  # astropy wrote that one, in its own unit spellings
                assert c["unit"] == f.unit, f.name
        if serialization != "binary2":
            assert described["TARGET_PMRA"]["unit"] == "mas/yr"  # as written, not astropy's "mas / yr"
        maps = {name: c["maps_to"] for name, c in described.items()}
        assert maps["TARGET_MAIN_ID"] == "name"
        assert maps["TARGET_Gaia_ID"] == "gaia_dr3"
        assert maps["TARGET_GaiaDR2_ID"] == "gaia_dr2"
        assert maps["TARGET_PROGNAME"] == "work_package"
        assert maps["TARGET_Gmag_err"] == "magnitudes.G.error"
        assert maps["TARGET_JSDC2_UDD_V"] == "diameters.JSDC2.UD.V"
        assert maps["TARGET_ID"] == "id"
        assert maps["TARGET_Completion_Rate"] == "completion_rate"
        assert maps["TARGET_RUWE"] is None
        assert maps["PUBLICATION"] is None

        targets = {t["name"]: t for t in await all_targets(client, service)}
    assert len(targets) == 42
    t = targets["HD 1037"]  # data row 1
    assert (t["ra"], t["dec"]) == (pytest.approx(8.493, abs=1e-6), pytest.approx(-11.29, abs=1e-6))
    assert t["gaia_dr3"] == lists.cell("TARGET_Gaia_ID", 1)
    assert t["chara_id"] == "CHARA-0001"
    assert t["work_package"] == lists.cell("TARGET_PROGNAME", 1)
    assert t["science_case"] == lists.cell("TARGET_Flag_Type", 1)
    assert (t["priority"], t["observations_requested"]) == (2, 2)
    assert (t["spica_setup"], t["chara_setup"]) == ("LR", "S1 S2 E1 E2")
    assert t["calibrator_ids"] == "HD 501,HD 601"
    assert t["mag_v"] == float(lists.cell("TARGET_Vmag", 1) or "nan")
    assert t["magnitudes"]["G"] == {"mag": 4.01, "error": 0.017}
    assert t["magnitudes"]["V"] == {"error": 0.008}  # the value is mag_v
    assert {"kind": "LD", "catalogue": "JSDC2", "value": 0.373, "error": 0.014} in t["diameters"]
    assert (t["teff"], t["logg"], t["feh"]) == (3597.0, 1.63, -0.93)
    props = t["properties"]
    assert props["TARGET_RUWE"] == 0.9  # a float FIELD: its decimal as written
    assert props["TARGET_Flag_Binary"] is False
    assert props["TARGET_Resolved"] is True
    assert props["TARGET_TIC"] == "TIC 30000011"
    assert props["PUBLICATION"] == "2024A&A...601A..1B"
    assert props["TARGET_Last_Update"] == "2026-02-11T10:00:00"
    assert len(props) == sum(1 for m in maps.values() if m is None)
    # placeholders are absent, not text
    assert targets["HD 1185"]["spica_setup"] is None  # row 5: "TBD by PI"
    assert "PUBLICATION" not in targets[lists.cell("TARGET_MAIN_ID", 4) or ""]["properties"]


async def test_properties_are_filterable_in_the_listing(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        assert (await post_list(client, service, lists.spicadb_votable())).status_code == 201
        nardetto = await all_targets(client, service, **{"prop.TARGET_PI": "Nardetto"})
        assert len(nardetto) == 11  # rows 1, 5, 9 ... 41
        assert {t["properties"]["TARGET_PI"] for t in nardetto} == {"Nardetto"}
        # typed as the column: a number and a boolean
        flares = await all_targets(
            client, service, **{"prop.TARGET_Resolved": "true", "prop.TARGET_PI": "Nardetto"}
        )
        assert flares
        assert all(t["properties"]["TARGET_Resolved"] is True for t in flares)
        ruwe = await all_targets(client, service, **{"prop.TARGET_RUWE": "0.9"})
        assert {t["properties"]["TARGET_RUWE"] for t in ruwe} == {0.9}
        bad = await client.get(
            "/programmes/LP-1/targets", params={"prop.TARGET_RUWE": "high"}, headers=service.auth("ada")
        )
        problem(bad, 400)
        assert await all_targets(client, service, **{"prop.NO_SUCH_COLUMN": "x"}) == []


# ------------------------------------------------------------------------------------- Aspro2 over SAMP


async def test_an_aspro2_list_with_a_short_and_a_long_row_imports(service: ProgrammesService) -> None:
    """Aspro2 reads it (astropy's strict reader said E21 and the import was a 422): the short row's
    missing cell is null, the long row's extra cell dropped, each a warning naming its row."""
    async with service.running() as client:
        await create_programme(client, service)
        answer = await post_list(client, service, lists.aspro2_votable())
        assert answer.status_code == 201, answer.text
        report = answer.json()
        assert report["imported"] == 3
        rows = {w["row"]: w["message"] for w in report["warnings"] if w.get("row")}
        assert rows.keys() == {2, 3}
        assert "LDD read as null" in rows[2]
        assert "dropped" in rows[3]
        targets = {t["name"]: t for t in await all_targets(client, service)}
    assert targets["HD 5678"]["diameters"] == []  # the missing cell
    assert targets["HD 9012"]["diameters"] == [{"kind": "LD", "value": 1.4}]
    assert targets["HD 9012"]["properties"] == {"RA_d": 125.673, "DEC_d": 70.65, "PARA_ERR": 0.05}


async def test_a_row_that_cannot_be_a_target_is_still_refused(service: ProgrammesService) -> None:
    body = lists.aspro2_votable().replace(b"<TD>HD 5678</TD>", b"<TD>TBD by PI</TD>")
    body = body.replace(b"<TD>08 22 41.520</TD>", b"<TD>25 00 00.000</TD>")
    async with service.running() as client:
        await create_programme(client, service)
        refused = problem(await post_list(client, service, body), 422, "invalid-target-list")
        assert fields(refused) == ["rows[2].NAME", "rows[3].RA"]
    await nothing_written(service)


async def test_data_by_reference_is_not_fetched(service: ProgrammesService) -> None:
    body = lists.aspro2_votable()
    start, end = body.index(b"<DATA>"), body.index(b"</DATA>") + len(b"</DATA>")
    body = body[:start] + b'<DATA><BINARY><STREAM href="file:///etc/passwd"/></BINARY></DATA>' + body[end:]
    async with service.running() as client:
        await create_programme(client, service)
        refused = problem(await post_list(client, service, body), 422, "invalid-target-list")
        assert "STREAM href" in refused["detail"]
    await nothing_written(service)


# ------------------------------------------------------------------------------------------ duplicates


async def test_a_double_star_is_two_targets(service: ProgrammesService) -> None:
    body = lists.double_star_votable()
    primary, companion = lists.DOUBLE_STAR_ROWS
    async with service.running() as client:
        await create_programme(client, service)
        refused = problem(
            await post_list(client, service, body, duplicates="refuse"), 422, "invalid-target-list"
        )
        assert fields(refused) == [f"rows[{companion}].name"]
        (pair,) = refused["duplicates"]
        assert pair["separation"] == pytest.approx(lists.DOUBLE_STAR_SEPARATION, abs=1e-3)
        await nothing_written(service)

        answer = await post_list(client, service, body)
        assert answer.status_code == 201, answer.text
        report = answer.json()
        assert report["imported"] == 500
        (pair,) = report["duplicates"]
        assert (pair["row"], pair["other_row"], pair["same_name"], pair["outcome"]) == (
            companion,
            primary,
            False,
            "imported",
        )
        assert (pair["name"], pair["other_name"]) == ("WDS J18369+3847B", "WDS J18369+3847A")
        assert pair["separation"] == pytest.approx(lists.DOUBLE_STAR_SEPARATION, abs=1e-3)
    assert await service.scalar("SELECT count(*) FROM target") == 500


@pytest.mark.parametrize("policy", ["keep", "skip", "refuse"])
async def test_a_name_twice_under_each_policy(service: ProgrammesService, policy: str) -> None:
    twice = [star("Vega", 279.2347, 38.7837), star("Deneb", 310.358, 45.28), star("vega ", 279.2347, 38.7837)]
    async with service.running() as client:
        await create_programme(client, service)
        answer = await import_json(client, service, "LP-1", twice, duplicates=policy)
        if policy == "skip":
            assert answer.status_code == 201, answer.text
            report = answer.json()
            assert (report["imported"], report["skipped"]) == (2, 1)
            (pair,) = report["duplicates"]
            assert (pair["row"], pair["other_row"], pair["same_name"], pair["outcome"]) == (
                3,
                1,
                True,
                "skipped",
            )
            assert pair["separation"] == 0.0
            assert await service.scalar("SELECT count(*) FROM target") == 2
        else:
            refused = problem(answer, 422, "invalid-target-list")
            assert fields(refused) == ["rows[3].name"]
            assert refused["duplicates"][0]["outcome"] == "refused"
            await nothing_written(service)


# ------------------------------------------------------------------------------------------ OpenAPI


def test_the_import_declares_its_request_body() -> None:
    schema = document(SPEC)
    body = schema["paths"]["/programmes/{code}/targets/import"]["post"]["requestBody"]
    assert body["required"] is True
    content = body["content"]
    assert set(content) == {
        "application/x-votable+xml",
        "text/xml",
        "text/csv",
        "application/json",
        "application/fits",
    }
    assert content["text/csv"]["schema"]["type"] == "string"
    assert content["application/fits"]["schema"] == {
        "type": "string",
        "format": "binary",
        "description": content["application/fits"]["schema"]["description"],
    }
    targets = content["application/json"]["schema"]["oneOf"]
    assert targets[0]["items"] == {"$ref": "#/components/schemas/TargetIn"}
    assert "TargetIn" in schema["components"]["schemas"]
    parameters = {
        p["name"]: p for p in schema["paths"]["/programmes/{code}/targets/import"]["post"]["parameters"]
    }
    assert parameters["duplicates"]["schema"]["enum"] == ["keep", "skip", "refuse"]


# ------------------------------------------------------------------------------------------ the reader


def test_placeholders_are_null_and_reported_once_per_column() -> None:
    body = (
        b"name,ra,dec,V,spica_setup,PUBLICATION\n"
        b"HD 1,10,20,NaN,TBD by PI,-\n"
        b"HD 2,11,21,5.1,TBD by PI,2024A&A...1\n"
        b"HD 3,12,22,,TBD,-\n"
    )
    parsed = parse_target_list(body, "text/csv")
    assert parsed.errors == []
    assert [t.spica_setup for t in parsed.targets] == [None, None, None]
    assert [t.mag_v for t in parsed.targets] == [None, 5.1, None]
    assert [t.properties for t in parsed.targets] == [{}, {"PUBLICATION": "2024A&A...1"}, {}]
    notices = {n.column: n.message for n in parsed.warnings}
    assert notices == {
        "V": "1 cell read as null ('NaN')",
        "spica_setup": "3 cells read as null ('TBD', 'TBD by PI')",
        "PUBLICATION": "2 cells read as null ('-')",
    }


async def test_a_json_list_keeps_its_properties_and_the_columns_described_before(
    service: ProgrammesService,
) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        assert (await post_list(client, service, lists.spicadb_votable())).status_code == 201
        extra = star(
            "HD 99999", 10.0, 10.0, properties={"TARGET_PI": "Ligi", "TARGET_RUWE": 1.1, "Seen": True}
        )
        answer = await import_json(client, service, "LP-1", [extra])
        assert answer.status_code == 201, answer.text
        assert answer.json()["properties"] == ["TARGET_PI", "TARGET_RUWE", "Seen"]
        columns = {
            c["name"]: c
            for c in (await client.get("/programmes/LP-1/columns", headers=service.auth("ada"))).json()
        }
        (target,) = await all_targets(client, service, q="HD 99999")
    assert target["properties"] == {"TARGET_PI": "Ligi", "TARGET_RUWE": 1.1, "Seen": True}
    # the VOTable's FIELDs stay as they came; the new property is described after them
    assert (columns["TARGET_RUWE"]["datatype"], columns["TARGET_RUWE"]["ucd"]) == (
        "float",
        "stat.fit.goodness",
    )
    assert columns["TARGET_PI"]["description"] == "PI of the science case"
    assert columns["Seen"]["datatype"] == "boolean"
    assert columns["Seen"]["position"] > max(c["position"] for name, c in columns.items() if name != "Seen")


def test_a_bad_magnitude_or_diameter_names_its_column() -> None:
    body = (
        b"name,ra,dec,Gmag,e_Gmag,JSDC2_LDD\n"
        b"HD 1,10,20,5.1,0.01,1.2\n"
        b"HD 2,11,21,5.2,99,1.3\n"
        b"HD 3,12,22,bright,0.01,-1\n"
    )
    parsed = parse_target_list(body, "text/csv")
    assert sorted((e.row, e.column) for e in parsed.errors) == [(3, "e_Gmag"), (4, "Gmag"), (4, "JSDC2_LDD")]
    assert "99 is not a magnitude error" in next(e.message for e in parsed.errors if e.row == 3)
    assert [t.name for t in parsed.targets] == ["HD 1"]
