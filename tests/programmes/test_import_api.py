"""Bad input loses nothing: a target list with any bad row, duplicate or unknown field is refused as a
whole with every problem named, and nothing is written; neither is anything by a dry run."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from programmes_support import (
    Client,
    ProgrammesService,
    create_programme,
    fields,
    import_json,
    outbox,
    problem,
    star,
    stars,
)

GOOD = [star("Vega", 279.2347, 38.7837), star("Deneb", 310.358, 45.280), star("Altair", 297.6958, 8.8683)]


async def nothing_written(service: ProgrammesService, targets: int = 0, imports: int = 0) -> None:
    assert await service.scalar("SELECT count(*) FROM target") == targets
    assert await service.scalar("SELECT count(*) FROM work_package") == 0
    assert len(await outbox(service, "programmes.targets.imported")) == imports
    assert await outbox(service, "programmes.target.changed") == []


async def post_csv(client: Client, service: ProgrammesService, body: str, **params: Any) -> Any:
    return await client.post(
        "/programmes/LP-1/targets/import",
        content=body.encode(),
        headers={**service.auth("ada"), "Content-Type": "text/csv"},
        params=params,
    )


async def test_a_csv_with_bad_rows_is_refused_whole_with_each_bad_cell_named(
    service: ProgrammesService,
) -> None:
    csv = (
        "name,ra,dec,V,wp\n"
        "Vega,279.2347,38.7837,0.03,WP1\n"
        "Deneb,310.358,45.280,1.25,WP1\n"
        "Altair,25h61m,8.8683,0.77,WP1\n"  # the 3rd data row: line 4 of the file
        ",100.0,10.0,5.0,WP1\n"
    )
    async with service.running() as client:
        await create_programme(client, service)
        refused = problem(await post_csv(client, service, csv), 422, "invalid-target-list")
        assert fields(refused) == ["rows[4].ra", "rows[5].name"]
        assert refused["rows_with_errors"] == 2
        assert "nothing was imported" in refused["detail"]
        listed = (await client.get("/programmes/LP-1/targets/", headers=service.auth("ada"))).json()
        assert listed["items"] == []
    await nothing_written(service)


async def test_a_json_list_with_a_bad_row_is_refused_whole(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        targets = [*GOOD, {"name": "Nowhere", "ra": 400.0, "dec": 10.0}, {"ra": 1.0, "dec": 2.0}]
        refused = problem(await import_json(client, service, "LP-1", targets), 422, "invalid-target-list")
        assert fields(refused) == ["rows[4].ra", "rows[5].name"]
    await nothing_written(service)


async def test_duplicate_names_within_the_list_or_with_the_programme_are_refused(
    service: ProgrammesService,
) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        twice = [*GOOD, star("vega ", 10.0, 10.0)]  # the same name, however written
        refused = problem(await import_json(client, service, "LP-1", twice), 422, "invalid-target-list")
        assert fields(refused) == ["rows[4].name"]
        assert "row 1" in refused["errors"][0]["message"]
        await nothing_written(service)

        assert (await import_json(client, service, "LP-1", GOOD)).status_code == 201
        again = [star("Polaris", 37.95, 89.26), star("ALTAIR", 1.0, 1.0)]
        refused = problem(await import_json(client, service, "LP-1", again), 422, "invalid-target-list")
        assert fields(refused) == ["rows[2].name"]
        assert "Altair" in refused["errors"][0]["message"]
        # one target at a time: the same answer as a conflict
        one = await client.post(
            "/programmes/LP-1/targets/", json=star("DENEB", 5.0, 5.0), headers=service.auth("ada")
        )
        problem(one, 409, "duplicate-target")
    await nothing_written(service, targets=3, imports=1)


async def test_the_same_star_under_another_name_is_reported(service: ProgrammesService) -> None:
    """Two names closer than the radius are reported and imported (issue 14: the components of a double
    star are two targets), refused under duplicates=refuse."""
    async with service.running() as client:
        await create_programme(client, service)
        # 0.5 arcsec north of Vega
        twin = star("HD 172167", 279.2347, 38.7837 + 0.5 / 3600)
        refused = problem(
            await import_json(client, service, "LP-1", [*GOOD, twin], duplicates="refuse"),
            422,
            "invalid-target-list",
        )
        assert fields(refused) == ["rows[4].name"]
        assert "row 1" in refused["errors"][0]["message"]
        assert refused["duplicates"][0]["separation"] == pytest.approx(0.5, abs=1e-3)
        await nothing_written(service)

        assert (await import_json(client, service, "LP-1", GOOD)).status_code == 201
        refused = problem(
            await import_json(client, service, "LP-1", [twin], duplicates="refuse"),
            422,
            "invalid-target-list",
        )
        assert fields(refused) == ["rows[1].name"]
        assert "Vega" in refused["errors"][0]["message"]
        # by default the twin is imported, and the pair reported
        answer = await import_json(client, service, "LP-1", [twin])
        assert answer.status_code == 201, answer.text
        (pair,) = answer.json()["duplicates"]
        assert (pair["row"], pair["name"], pair["other_target"], pair["outcome"]) == (
            1,
            "HD 172167",
            "Vega",
            "imported",
        )
        assert pair["separation"] == pytest.approx(0.5, abs=1e-3)
        # 1.5 arcsec away is another star, and no pair
        apart = star("Vega B", 279.2347, 38.7837 + 1.5 / 3600)
        answer = await import_json(client, service, "LP-1", [apart])
        assert answer.status_code == 201
        assert answer.json()["duplicates"] == []
    assert await service.scalar("SELECT count(*) FROM target") == 5


async def test_a_list_over_the_limit_is_refused_whole(service: ProgrammesService) -> None:
    async with service.running(import_max_targets=2) as client:
        await create_programme(client, service)
        problem(await import_json(client, service, "LP-1", GOOD), 413, "too-many-targets")
    await nothing_written(service)


async def test_a_taken_programme_code_is_a_conflict(service: ProgrammesService) -> None:
    async with service.running() as client:
        first = await create_programme(client, service, "LP-1")
        taken = await client.post(
            "/programmes/",
            json={"code": "LP-1", "title": "Mine", "public": True},
            headers=service.auth("bob"),
        )
        problem(taken, 409, "programme-exists")
        shown = (await client.get("/programmes/LP-1", headers=service.auth("ada"))).json()
        assert (shown["id"], shown["title"], shown["public"]) == (first["id"], first["title"], False)
    assert len(await outbox(service, "programmes.programme.created")) == 1


async def test_unknown_fields_are_named(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        listed = [*GOOD[:2], {**GOOD[2], "magnitude": 0.77, "colour": "white"}]
        refused = await import_json(client, service, "LP-1", listed)
        assert refused.status_code in (400, 422)
        document = problem(refused, refused.status_code)
        assert fields(document) == ["rows[3].magnitude", "rows[3].colour"] or sorted(
            fields(document)
        ) == sorted(["rows[3].magnitude", "rows[3].colour"])
        one = await client.post(
            "/programmes/LP-1/targets/", json={**GOOD[0], "magnitude": 0.03}, headers=service.auth("ada")
        )
        document = problem(one, one.status_code)
        assert one.status_code in (400, 422)
        assert any("magnitude" in f for f in fields(document))
        programme = await client.post(
            "/programmes/", json={"code": "LP-2", "title": "x", "owner": "bob"}, headers=service.auth("ada")
        )
        assert programme.status_code in (400, 422)
        assert any("owner" in f for f in fields(problem(programme, programme.status_code)))
    await nothing_written(service)
    assert await service.scalar("SELECT count(*) FROM programme") == 1


async def test_an_invalid_configuration_is_refused(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        for configuration, needle in ((["E1", "W2", "W1"], "3"), (["E1", "W2", "W1", "X9"], "X9")):
            refused = problem(
                await client.post(
                    "/programmes/LP-1/setups",
                    json={"name": "lr", "mode": "LR", "configuration": configuration},
                    headers=service.auth("ada"),
                ),
                422,
                "invalid-configuration",
            )
            assert fields(refused) == ["body.configuration"]
            assert needle in refused["detail"]
        unknown_mode = await client.post(
            "/programmes/LP-1/setups",
            json={"name": "lr", "mode": "XR", "configuration": ["E1", "W2", "W1", "S2"]},
            headers=service.auth("ada"),
        )
        assert "body.mode" in fields(problem(unknown_mode, unknown_mode.status_code))
        assert (await client.get("/programmes/LP-1/setups", headers=service.auth("ada"))).json() == []
        # a valid subset is kept in channel order
        ok = await client.post(
            "/programmes/LP-1/setups",
            json={"name": "lr4", "mode": "LR", "configuration": ["S1", "e1", "W2", "E2"]},
            headers=service.auth("ada"),
        )
        assert ok.status_code == 201, ok.text
        assert ok.json()["configuration"] == ["E1", "W2", "S1", "E2"]


async def test_a_dry_run_checks_everything_and_writes_nothing(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        listed = [{**t, "work_package": "WP1"} for t in GOOD]
        checked = await import_json(client, service, "LP-1", listed, dry_run="true")
        assert checked.status_code == 200, checked.text
        report = checked.json()
        assert report["dry_run"] is True
        assert report["imported"] == 3
        assert report["import_id"] is None
        assert report["created_work_packages"] == ["WP1"]
        await nothing_written(service)

        # a dry run reports the same errors as the import
        bad = [*GOOD, star("Vega", 1.0, 1.0)]
        refused = problem(await import_json(client, service, "LP-1", bad, dry_run="true"), 422)
        assert fields(refused) == ["rows[4].name"]

        done = await import_json(client, service, "LP-1", listed)
        assert done.status_code == 201
        assert done.json()["created_work_packages"] == ["WP1"]
        assert len(done.json()["targets"]) == 3
    assert await service.scalar("SELECT count(*) FROM target") == 3


async def test_a_bad_change_to_a_target_changes_nothing(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        ada = service.auth("ada")
        ids = (await import_json(client, service, "LP-1", GOOD)).json()["targets"]
        vega = f"/programmes/LP-1/targets/{ids[0]}"
        before = (await client.get(vega, headers=ada)).json()

        problem(await client.patch(vega, json={"name": "deneb"}, headers=ada), 409, "duplicate-target")
        refused = await client.patch(vega, json={"ra": 361.0}, headers=ada)
        assert "body.ra" in fields(problem(refused, refused.status_code))
        problem(
            await client.patch(vega, json={"work_package": "WP9"}, headers=ada), 422, "work-package-not-found"
        )
        assert (await client.get(vega, headers=ada)).json() == before

        # a good change: renamed, a field cleared, another set
        changed = await client.patch(
            vega, json={"name": "alf Lyr", "notes": "A0V standard", "pmra": None}, headers=ada
        )
        assert changed.status_code == 200, changed.text
        assert (changed.json()["name"], changed.json()["notes"], changed.json()["pmra"]) == (
            "alf Lyr",
            "A0V standard",
            None,
        )
        assert (await client.get(vega, headers=ada)).json()["name"] == "alf Lyr"
    events = await outbox(service, "programmes.target.changed")
    assert [(e["change"], e["target"]["name"]) for e in events] == [("updated", "alf Lyr")]


@pytest.mark.parametrize("fmt", ["json", "csv", "votable"])
async def test_an_export_imports_again_as_it_is(service: ProgrammesService, fmt: str) -> None:
    listed = [
        {
            **GOOD[0],
            "mag_v": 0.03,
            "pmra": 200.94,
            "pmdec": 286.23,
            "parallax": 130.23,
            "work_package": "WP1",
        },
        {**GOOD[1], "spectral_type": "A2Ia", "hd": "197345"},
        GOOD[2],
    ]
    async with service.running() as client:
        await create_programme(client, service, "LP-1")
        await create_programme(client, service, "LP-2")
        assert (await import_json(client, service, "LP-1", listed)).status_code == 201
        exported = await client.get(
            f"/programmes/LP-1/targets/export?format={fmt}", headers=service.auth("ada")
        )
        assert exported.status_code == 200, exported.text
        again = await client.post(
            "/programmes/LP-2/targets/import",
            content=exported.content,
            headers={**service.auth("ada"), "Content-Type": exported.headers["content-type"]},
        )
        assert again.status_code == 201, again.text
        assert again.json()["imported"] == 3

        def comparable(code: str) -> Any:
            return client.get(f"/programmes/{code}/targets/", headers=service.auth("ada"))

        keep = ("name", "ra", "dec", "epoch", "pmra", "pmdec", "parallax", "mag_v", "spectral_type", "hd")
        first, second = [
            [{k: t[k] for k in keep} for t in (await comparable(code)).json()["items"]]
            for code in ("LP-1", "LP-2")
        ]
        assert first == second


async def test_a_list_larger_than_ten_megabytes_is_taken(service: ProgrammesService) -> None:
    """The gateway lets target lists of up to 64 MiB through: the service takes them too (a web
    framework's default limit of 10 MB would answer 413 to a large programme's list)."""
    targets = stars(30_000, notes="n" * 340)
    body = msgspec.json.encode(targets)
    assert len(body) > 10_000_000
    async with service.running() as client:
        await create_programme(client, service)
        answer = await import_json(client, service, "LP-1", targets)
        assert answer.status_code == 201, answer.text[:500]
        assert answer.json()["imported"] == 30_000
    assert await service.scalar("SELECT count(*) FROM target") == 30_000
