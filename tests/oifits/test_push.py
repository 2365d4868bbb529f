"""Pushing files as the DRS does: stored by content with sha256 and md5, the same bytes once, a new
reduction superseding the last, events out."""

from __future__ import annotations

import hashlib

from harness import eventually
from oifits_support import OifitsService, oifits, push
from synthetic import Spec, build, reverse_wavelengths, to_bytes


async def test_a_push_is_stored_by_content_indexed_and_announced(service: OifitsService) -> None:
    data = oifits()
    async with service.running() as client:
        answer = await push(client, data, service.drs(), filename="HD1_LR.fits")
        assert answer.status_code == 201, answer.text
        record = answer.json()
        assert answer.headers["location"] == f"/oifits/files/{record['id']}"
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["md5"] == hashlib.md5(data).hexdigest()
    assert (record["size"], record["filename"], record["status"]) == (len(data), "HD1_LR.fits", "current")
    assert record["verdict"] in ("valid", "valid-with-warnings")
    (granule,) = record["granules"]
    assert (granule["target_name"], granule["insname"], granule["night"]) == (
        "HD 1",
        "SPICA_LR",
        "2026-05-14",
    )
    assert {p["kind"] for p in granule["previews"]} == {"uv", "vis2", "t3phi"}
    assert record["sha256"] in service.objects()
    assert service.incoming() == []
    (event,) = await eventually(lambda: service.events("file.indexed"))
    assert event["file_id"] == record["id"]
    assert event["access_url"] == f"http://gateway.test/oifits/files/{record['id']}/content"
    assert event["granules"][0]["granule_id"] == granule["id"]


async def test_the_same_bytes_again_are_the_same_file(service: OifitsService) -> None:
    data = oifits()
    async with service.running() as client:
        first = await push(client, data, service.drs(), filename="a.fits")
        again = await push(client, data, service.drs(), filename="renamed.fits")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["filename"] == "a.fits"
    counts = await service.counts()
    assert (counts["oifits_file"], counts["granule"]) == (1, 1)


async def test_a_new_reduction_of_a_product_supersedes_the_last_and_keeps_it(service: OifitsService) -> None:
    first_data, second_data = oifits(), oifits(extra={"PROCSOFT": "spica-drs 2.1"})
    async with service.running() as client:
        first = (await push(client, first_data, service.drs(), product="LR/2026-05-14/HD1")).json()
        answer = await push(client, second_data, service.drs(), product="LR/2026-05-14/HD1")
        assert answer.status_code == 201, answer.text
        second = answer.json()
        old = (await client.get(f"/oifits/files/{first['id']}", headers=service.drs())).json()
        current = (await client.get("/oifits/files", params={"product": "LR/2026-05-14/HD1", "status": "current"},
                                    headers=service.drs())).json()  # fmt: skip
        versions = (await client.get("/oifits/files", params={"product": "LR/2026-05-14/HD1"},
                                     headers=service.drs())).json()  # fmt: skip
    assert (first["product_version"], second["product_version"]) == (1, 2)
    assert (old["status"], old["superseded_by"]) == ("superseded", second["id"])
    assert all(g["superseded"] for g in old["granules"])
    assert [f["id"] for f in current["items"]] == [second["id"]]
    # the listing of a product's versions says which replaced which
    assert [(f["id"], f["superseded_by"]) for f in versions["items"]] == [
        (second["id"], None), (first["id"], second["id"])
    ]  # fmt: skip
    (event,) = await eventually(lambda: service.events("file.superseded"))
    assert (event["file_id"], event["superseded_by"]) == (first["id"], second["id"])
    assert event["granule_ids"] == [g["id"] for g in first["granules"]]
    indexed = await eventually(lambda: _two(service))
    assert indexed[1]["supersedes"] == first["id"]


async def _two(service: OifitsService) -> list[dict[str, object]] | None:
    events = await service.events("file.indexed")
    return events if len(events) == 2 else None


async def test_only_the_drs_scope_pushes(service: OifitsService) -> None:
    async with service.running() as client:
        answer = await push(client, oifits(), service.auth("ada", "oifits:read"))
    assert answer.status_code == 403
    assert service.objects() == []


async def test_a_file_with_warnings_is_indexed_with_its_report(service: OifitsService) -> None:
    data = to_bytes(reverse_wavelengths(build(Spec())))
    async with service.running() as client:
        answer = await push(client, data, service.drs())
    assert answer.status_code == 201, answer.text
    record = answer.json()
    assert record["verdict"] == "valid-with-warnings"
    assert [f["rule"] for f in record["report"]["findings"] if f["severity"] == "warning"] == ["W-WAVE"]
    assert record["report"]["profile"] == "archive"
    assert len(record["granules"]) == 1
