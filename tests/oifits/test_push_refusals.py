"""Bad pushes: each a clear 4xx problem, nothing half-stored, the store and the tables unchanged (a file
that cannot be indexed keeps only its report)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from gateway_support import LocalServer
from oifits_support import OifitsService, oifits, push
from synthetic import Spec, build, drop, to_bytes, truncate

NOTHING = {
    "oifits_file": 0,
    "granule": 0,
    "preview": 0,
    "granule_observation": 0,
    "rejection": 0,
    "outbox": 0,
}


async def _unchanged(service: OifitsService) -> None:
    assert await service.counts() == NOTHING
    assert service.objects() == []
    assert service.incoming() == []


async def test_a_truncated_file_is_refused_with_its_report_and_only_the_report_is_kept(
    service: OifitsService,
) -> None:
    data = oifits()
    cut = truncate(data, len(data) - 2880)
    async with service.running() as client:
        answer = await push(client, cut, service.drs(), filename="cut.fits")
        again = await push(client, cut, service.drs(), filename="cut.fits")
        rejections = (await client.get("/oifits/rejections", headers=service.auth("ada"))).json()
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["type"].endswith("/invalid-oifits")
    assert problem["report"]["verdict"] == "invalid"
    assert "R-FITS" in {f["rule"] for f in problem["report"]["findings"]}
    assert again.status_code == 422
    counts = await service.counts()
    assert (counts["oifits_file"], counts["granule"], counts["rejection"]) == (0, 0, 1)
    assert service.objects() == []
    assert service.incoming() == []
    (rejection,) = rejections["items"]
    assert (rejection["id"], rejection["attempts"], rejection["filename"]) == (
        problem["rejection_id"],
        2,
        "cut.fits",
    )


async def test_bytes_that_are_not_fits_are_refused(service: OifitsService) -> None:
    async with service.running() as client:
        answer = await push(client, b"SIMPLE? no, a CSV\n1,2,3\n" * 200, service.drs())
    assert answer.status_code == 422
    assert [f["rule"] for f in answer.json()["report"]["findings"]] == ["R-FITS"]
    assert service.objects() == []


async def test_a_file_without_data_tables_is_refused(service: OifitsService) -> None:
    hdus = build(Spec())
    for table in ("OI_VIS", "OI_VIS2", "OI_T3"):
        hdus = drop(hdus, table)
    async with service.running() as client:
        answer = await push(client, to_bytes(hdus), service.drs())
    assert answer.status_code == 422
    assert "R-DATA" in {f["rule"] for f in answer.json()["report"]["findings"]}
    assert service.objects() == []


async def test_the_drs_profile_refuses_warnings_and_wants_its_keywords(service: OifitsService) -> None:
    async with service.running() as client:
        bare = await push(client, oifits(), service.drs(), profile="drs")
        complete = await push(client, oifits(drs=True), service.drs(), profile="drs")
    assert bare.status_code == 422
    drs = [f for f in bare.json()["report"]["findings"] if f["rule"] == "R-DRS"]
    assert "SPICADB-ID" in drs[0]["message"]
    assert complete.status_code == 201, complete.text


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd.fits",
        "a/b.fits",
        "..\\windows.fits",
        "C:evil.fits",
        ".hidden.fits",
        "x\x00.fits",
        "notes.txt",
        "",
        "x" * 300 + ".fits",
    ],
)
async def test_file_names_that_are_paths_are_refused(service: OifitsService, name: str) -> None:
    async with service.running() as client:
        answer = await push(client, oifits(), service.drs(), filename=name)
    assert answer.status_code in (400, 422), answer.text
    problem = answer.json()
    assert any(e["field"] == "query.filename" for e in problem.get("errors", [])), problem
    await _unchanged(service)


async def test_an_oversized_file_is_refused_while_it_streams(service: OifitsService) -> None:
    data = oifits()
    limit = len(data) - 1
    async with service.running(max_file_bytes=limit) as client:
        announced = await push(client, data, service.drs())
    app = service.create_app(service.settings(max_file_bytes=limit), verifier=service.tokens.verifier())
    server = await LocalServer(app).start()

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit is found while streaming
        for start in range(0, len(data), 1000):
            yield data[start : start + 1000]

    try:
        async with httpx.AsyncClient(base_url=server.url) as real:
            streamed = await real.post(
                "/oifits/files", params={"filename": "big.fits"}, content=chunks(), headers=service.drs()
            )
    finally:
        await server.stop()
    for answer in (announced, streamed):
        assert answer.status_code == 413, answer.text
        assert answer.json()["max_file_bytes"] == limit
    await _unchanged(service)


async def test_an_upload_cut_off_midway_leaves_nothing(service: OifitsService) -> None:
    data = oifits()
    token = service.drs()["Authorization"]
    app = service.create_app(service.settings(), verifier=service.tokens.verifier())
    server = await LocalServer(app).start()
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            f"POST /oifits/files?filename=cut.fits HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n"
            f"Content-Type: application/fits\r\nContent-Length: {len(data)}\r\n\r\n".encode()
            + data[: len(data) // 2]
        )
        await writer.drain()
        await asyncio.sleep(0.3)
        writer.close()  # the DRS's connection drops halfway
        await writer.wait_closed()
        for _ in range(50):
            if not service.incoming():
                break
            await asyncio.sleep(0.1)
    finally:
        await server.stop()
    await _unchanged(service)
