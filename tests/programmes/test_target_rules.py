"""One rule set for targets on every write path (spicadb_astro.targets): one target created, one
changed, whole lists imported. A proper motion of 1.79e308 mas/yr or a name with a control character
is refused with the field named, and nothing is written (issues 12 and 13)."""

from __future__ import annotations

from typing import Any

import pytest
from programmes_support import (
    ProgrammesService,
    create_programme,
    fields,
    import_json,
    outbox,
    problem,
    star,
)

HUGE = 1.79e308
# U+009B, the C1 control "control sequence introducer" (not a blank: str.split keeps it)
C1 = "\u009b"


async def nothing_written(service: ProgrammesService) -> None:
    assert await service.scalar("SELECT count(*) FROM target") == 0
    assert await outbox(service, "programmes.targets.imported") == []
    assert await outbox(service, "programmes.target.changed") == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pmra", HUGE),
        ("pmdec", -HUGE),
        ("parallax", HUGE),
        ("mag_k", HUGE),
        ("name", f"Vega{C1}"),
        ("hd", "1\x01"),
    ],
)
async def test_a_target_breaking_a_rule_is_refused_on_creation(
    service: ProgrammesService, field: str, value: Any
) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        body = {**star("Vega", 279.2347, 38.7837), field: value}
        refused = await client.post("/programmes/LP-1/targets/", json=body, headers=service.auth("ada"))
        # the kit answers a body that breaks its documented schema with 400 naming the field
        assert fields(problem(refused, 400, "validation")) == [f"body.{field}"]
    await nothing_written(service)


async def test_a_change_breaking_a_rule_is_refused_and_changes_nothing(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        ada = service.auth("ada")
        created = await client.post(
            "/programmes/LP-1/targets/", json=star("Vega", 279.2347, 38.7837, pmra=200.94), headers=ada
        )
        assert created.status_code == 201, created.text
        vega = f"/programmes/LP-1/targets/{created.json()['id']}"
        before = (await client.get(vega, headers=ada)).json()
        json = {**ada, "Content-Type": "application/json"}
        for field, change in (("pmra", '{"pmra": 1.79e308}'), ("name", '{"name": "Vega\\u009b"}')):
            refused = await client.patch(vega, content=change, headers=json)
            assert fields(problem(refused, 400, "validation")) == [f"body.{field}"]
        # a number beyond the float range is no JSON number msgspec decodes: 400 too
        problem(await client.patch(vega, content='{"pmdec": -1e999}', headers=json), 400)
        assert (await client.get(vega, headers=ada)).json() == before
    assert [e["change"] for e in await outbox(service, "programmes.target.changed")] == ["created"]


async def test_a_value_stored_before_the_rules_is_named_when_the_target_is_changed(
    service: ProgrammesService,
) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        ada = service.auth("ada")
        created = await client.post(
            "/programmes/LP-1/targets/", json=star("Vega", 279.2347, 38.7837), headers=ada
        )
        target = created.json()["id"]
        await service.scalar("UPDATE target SET pmra = $1 WHERE id = $2", HUGE, target)  # a row of old
        refused = await client.patch(f"/programmes/LP-1/targets/{target}", json={"notes": "A0V"}, headers=ada)
        assert fields(problem(refused, 422, "invalid-target")) == ["body.pmra"]
        fixed = await client.patch(
            f"/programmes/LP-1/targets/{target}", json={"notes": "A0V", "pmra": 200.94}, headers=ada
        )
        assert fixed.status_code == 200, fixed.text


async def test_imports_follow_the_same_rules(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        bad = [star("Vega", 279.2347, 38.7837, pmra=HUGE), star(f"Deneb{C1}", 310.358, 45.28)]
        refused = problem(await import_json(client, service, "LP-1", bad), 422, "invalid-target-list")
        assert fields(refused) == ["rows[1].pmra", "rows[2].name"]
        csv = f"name,ra,dec,hd\nVega,279.2347,38.7837,{C1}172167\nDeneb{C1},310.358,45.28,\n"
        refused = await client.post(
            "/programmes/LP-1/targets/import",
            content=csv.encode(),
            headers={**service.auth("ada"), "Content-Type": "text/csv"},
        )
        assert fields(problem(refused, 422, "invalid-target-list")) == [
            "rows[2].hd",
            "rows[3].name",
        ]  # lines of the file
    await nothing_written(service)
