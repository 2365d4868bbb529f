"""DataLink 1.1 {links}: a granule's file (#this), quick-look plots (#preview) and night-log
observations (#progenitor); an L0 observation's granules (#derivation); one NotFoundFault row for an
ID unknown or not visible; a DALI error for a RESPONSEFORMAT that is not a VOTable. The answers pass
votlint and datalinklint."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

from harness import eventually
from oidb_support import (
    DID,
    L0,
    PUBLIC,
    VO,
    OidbService,
    ago,
    datalinklint,
    granule,
    indexed,
    push,
    supersede,
    votable_rows,
    votlint,
)

COLUMNS = {  # DataLink 1.1 §3.2: name -> UCD, in this order
    "ID": "meta.id;meta.main",
    "access_url": "meta.ref.url",
    "service_def": "meta.ref",
    "error_message": "meta.code.error",
    "description": "meta.note",
    "semantics": "meta.code",
    "content_type": "meta.code.mime",
    "content_length": "phys.size;meta.file",
}


def one_of_three(rows: list[dict[str, str]]) -> None:
    for row in rows:
        assert sum(bool(row[c]) for c in ("access_url", "service_def", "error_message")) == 1, row


def consecutive(rows: list[dict[str, str]]) -> None:
    order = [r["ID"] for r in rows]
    runs = [k for n, k in enumerate(order) if n == 0 or order[n - 1] != k]
    assert len(runs) == len(set(runs)), order


async def test_links_of_a_granule_and_of_an_observation(service: OidbService, tmp_path: Path) -> None:
    await service.programme("LP-1", months=0)
    first, second = uuid.uuid4(), uuid.uuid4()
    vega = granule("Vega", observations=[first, second], end=ago(days=2))
    deneb = granule("Deneb", observations=[first], end=ago(days=2), mode="LR")
    file = indexed(vega, deneb, size=2_345_678)
    await push(service, file)
    async with service.running() as client:
        await eventually(service.drained, timeout=10)
        did = f"{DID}?{vega.granule_id}"
        response = await client.get("/oidb/links", params=[("ID", did), ("ID", f"{L0}?{first}")])
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/x-votable+xml;content=datalink"
        root = ET.fromstring(response.text)
        resource = root.find(f"{VO}RESOURCE")
        assert resource is not None
        assert resource.get("type") == "results"
        infos = {i.get("name"): i.get("value") for i in resource.findall(f"{VO}INFO")}
        assert infos["standardID"] == "ivo://ivoa.net/std/DataLink#links-1.1"
        fields = {f.get("name"): f.get("ucd") for f in root.iter(f"{VO}FIELD")}
        assert list(fields) == list(COLUMNS)
        assert fields == COLUMNS
        _names, rows = votable_rows(response.text)
        one_of_three(rows)
        consecutive(rows)
        mine = [r for r in rows if r["ID"] == did]
        assert [r["semantics"] for r in mine] == ["#this", "#preview", "#preview", "#preview",
                                                 "#progenitor", "#progenitor"]  # fmt: skip
        this = mine[0]
        assert this["access_url"] == f"{PUBLIC}/oifits/files/{file.file_id}"
        assert (this["content_type"], this["content_length"]) == ("application/fits", "2345678")
        assert "Vega" in this["description"]
        previews = mine[1:4]
        assert [p["access_url"] for p in previews] == [p.url for p in vega.previews]
        assert {p["content_type"] for p in previews} == {"image/png"}
        assert [p["content_length"] for p in previews] == [str(p.size) for p in vega.previews]
        assert "UV coverage" in previews[0]["description"]
        progenitors = mine[4:]
        assert [p["access_url"] for p in progenitors] == [
            f"{PUBLIC}/nightlogs/observations/{first}", f"{PUBLIC}/nightlogs/observations/{second}",
        ]  # fmt: skip
        assert {p["content_type"] for p in progenitors} == {"application/json"}
        # from the observation: the granules reduced from it
        derived = [r for r in rows if r["ID"] == f"{L0}?{first}"]
        assert {r["semantics"] for r in derived} == {"#derivation"}
        assert sorted(r["description"].split(",")[0] for r in derived) == ["Reduced OIFITS of Deneb",
                                                                          "Reduced OIFITS of Vega"]  # fmt: skip
        assert {r["access_url"] for r in derived} == {f"{PUBLIC}/oifits/files/{file.file_id}"}
        assert all("SPICA" in r["description"] and "night" in r["description"] for r in derived)
        # bare uuids: the granule's links, the observation's derivations
        bare = await client.get("/oidb/links", params=[("id", str(vega.granule_id)), ("ID", str(second))])
        rows = votable_rows(bare.text)[1]
        assert next(r["semantics"] for r in rows if r["ID"] == str(vega.granule_id)) == "#this"
        assert [r["semantics"] for r in rows if r["ID"] == str(second)] == ["#derivation"]
    # last: the linters skip the test when stilts is missing, and must not skip the assertions above
    votlint(response.text, tmp_path)
    datalinklint(response.text, tmp_path)


async def test_unknown_and_invisible_ids_get_a_not_found_fault(service: OidbService, tmp_path: Path) -> None:
    await service.programme("LP-1", pi="ada", months=18)
    observation = uuid.uuid4()
    hidden = granule("Vega", observations=[observation])  # proprietary
    await push(service, indexed(hidden))
    async with service.running() as client:
        await eventually(service.drained, timeout=10)
        asked = [f"{DID}?{hidden.granule_id}", f"{L0}?{observation}", f"{DID}?{uuid.uuid4()}", "nonsense"]
        response = await client.get("/oidb/links", params=[("ID", i) for i in asked])
        assert response.status_code == 200
        rows = votable_rows(response.text)[1]
        assert [(r["ID"], r["error_message"]) for r in rows] == [(i, f"NotFoundFault: {i}") for i in asked]
        one_of_three(rows)
        # the programme's member sees them
        member = await client.get("/oidb/links", params={"ID": asked[1]}, headers=service.auth("ada"))
        assert [r["semantics"] for r in votable_rows(member.text)[1]] == ["#derivation"]
        # no ID: an empty table
        empty = await client.get("/oidb/links")
        assert empty.status_code == 200
        assert votable_rows(empty.text)[1] == []
    votlint(response.text, tmp_path)  # last: it skips when stilts is missing
    datalinklint(response.text, tmp_path)


async def test_a_superseded_granule_is_no_derivation(service: OidbService) -> None:
    await service.programme("LP-1", months=0)
    observation = uuid.uuid4()
    old = indexed(granule("Vega", observations=[observation], end=ago(days=1)))
    new = indexed(granule("Vega", observations=[observation], end=ago(days=1)), supersedes=old.file_id)
    for event in (old, new):
        await push(service, event)
    await supersede(service, old, new)
    async with service.running() as client:
        await eventually(service.drained, timeout=10)
        response = await client.get("/oidb/links", params={"ID": f"{L0}?{observation}"})
        [row] = votable_rows(response.text)[1]
        assert row["access_url"] == new.access_url


async def test_a_response_format_other_than_votable_is_a_dali_error(
    service: OidbService, tmp_path: Path
) -> None:
    async with service.running() as client:
        for fmt in ("votable", "application/x-votable+xml", "application/x-votable+xml;content=datalink"):
            ok = await client.get("/oidb/links", params={"ID": "x", "RESPONSEFORMAT": fmt})
            assert ok.status_code == 200, fmt
        response = await client.get("/oidb/links", params={"ID": "x", "RESPONSEFORMAT": "application/json"})
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("application/x-votable+xml")
        root = ET.fromstring(response.text)
        [info] = [i for i in root.iter(f"{VO}INFO") if i.get("name") == "QUERY_STATUS"]
        assert info.get("value") == "ERROR"
        assert "RESPONSEFORMAT" in (info.text or "")
        # too many IDs at once
        many = await client.get("/oidb/links", params=[("ID", str(uuid.uuid4())) for _ in range(101)])
        assert many.status_code == 400
    votlint(response.text, tmp_path)  # last: it skips when stilts is missing
