"""Downloads and quick-look plots under data rights: members before the release, everyone after, the
same 404 for a file one may not see as for none; range requests; plots cached."""

from __future__ import annotations

from typing import Any

from harness import eventually
from oifits_support import OLD, OifitsService, oifits, push

PNG = b"\x89PNG\r\n\x1a\n"


async def _pushed(service: OifitsService, client: Any, data: bytes) -> dict[str, Any]:
    answer = await push(client, data, service.drs())
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def test_ranges_of_a_file(service: OifitsService) -> None:
    data = oifits()
    drs = service.drs()
    async with service.running() as client:
        record = await _pushed(service, client, data)
        url = f"/oifits/files/{record['id']}/content"
        whole = await client.get(url, headers=drs)
        first = await client.get(url, headers={**drs, "Range": "bytes=0-99"})
        tail = await client.get(url, headers={**drs, "Range": "bytes=-10"})
        rest = await client.get(url, headers={**drs, "Range": f"bytes={len(data) - 5}-"})
        outside = await client.get(url, headers={**drs, "Range": f"bytes={len(data)}-"})
        stale = await client.get(url, headers={**drs, "Range": "bytes=0-9", "If-Range": '"other"'})
        fresh = await client.get(
            url, headers={**drs, "Range": "bytes=0-9", "If-Range": f'"{record["sha256"]}"'}
        )
        head = await client.head(url, headers=drs)
    assert (whole.status_code, whole.content) == (200, data)
    assert whole.headers["etag"] == f'"{record["sha256"]}"'
    assert whole.headers["accept-ranges"] == "bytes"
    assert 'filename="spica.fits"' in whole.headers["content-disposition"]
    assert (first.status_code, first.content) == (206, data[:100])
    assert first.headers["content-range"] == f"bytes 0-99/{len(data)}"
    assert (tail.status_code, tail.content) == (206, data[-10:])
    assert (rest.status_code, rest.content) == (206, data[-5:])
    assert outside.status_code == 416
    assert outside.headers["content-range"] == f"bytes */{len(data)}"
    assert (stale.status_code, len(stale.content)) == (200, len(data))
    assert (fresh.status_code, fresh.content) == (206, data[:10])
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(data))
    assert head.content == b""


async def test_proprietary_files_are_for_members_until_released(service: OifitsService) -> None:
    await service.programme("LP-1", pi="ada", members=["bob"], months=18)
    await service.programme("LP-2", pi="eve", months=0)
    async with service.running() as client:
        await eventually(lambda: _programmes(service, 2))
        recent = await _pushed(service, client, oifits(programme="LP-1"))
        released = await _pushed(service, client, oifits(programme="LP-1", at=(OLD,), target="HD 2"))
        open_at_once = await _pushed(service, client, oifits(programme="LP-2", target="HD 3"))
        calibrator = await _pushed(service, client, oifits(programme="LP-1", target="HD 4", category="CAL"))
        orphan = await _pushed(service, client, oifits(programme=None, target="HD 5"))

        async def status(record: dict[str, Any], headers: dict[str, str]) -> tuple[int, int, int]:
            granule = record["granules"][0]["id"]
            paths = (
                f"/oifits/files/{record['id']}",
                f"/oifits/files/{record['id']}/content",
                f"/oifits/granules/{granule}/previews/uv.png",
            )
            return tuple([(await client.get(p, headers=headers)).status_code for p in paths])  # type: ignore[return-value]

        ada, bob, mallory = service.auth("ada"), service.auth("bob"), service.auth("mallory")
        assert await status(recent, {}) == (404, 404, 404)
        assert await status(recent, mallory) == (404, 404, 404)
        assert await status(recent, ada) == (200, 200, 200)
        assert await status(recent, bob) == (200, 200, 200)
        assert await status(released, {}) == (200, 200, 200)
        assert await status(open_at_once, {}) == (200, 200, 200)
        assert await status(calibrator, {}) == (200, 200, 200)
        assert await status(orphan, ada) == (404, 404, 404)
        assert await status(orphan, service.drs()) == (200, 200, 200)
        listed = (await client.get("/oifits/files")).json()["items"]
        missing = (await client.get(f"/oifits/files/{recent['id'][:-4]}0000")).json()
    assert {f["id"] for f in listed} == {released["id"], open_at_once["id"], calibrator["id"]}
    assert missing["status"] == 404


async def _programmes(service: OifitsService, n: int) -> bool:
    return bool(await service.scalar("SELECT count(*) FROM programme_rights") == n)


async def test_quick_look_plots_are_cached_privately_while_proprietary(service: OifitsService) -> None:
    await service.programme("LP-1", pi="ada", months=18)
    async with service.running() as client:
        await eventually(lambda: _programmes(service, 1))
        recent = await _pushed(service, client, oifits())
        old = await _pushed(service, client, oifits(at=(OLD,), target="HD 2"))
        plots = {}
        for record in (recent, old):
            (granule,) = record["granules"]
            for preview in granule["previews"]:
                path = preview["url"].removeprefix("http://gateway.test")
                plots[(record["id"], preview["kind"])] = await client.get(path, headers=service.auth("ada"))
        etag = plots[(recent["id"], "uv")].headers["etag"]
        again = await client.get(
            f"/oifits/granules/{recent['granules'][0]['id']}/previews/uv.png",
            headers={**service.auth("ada"), "If-None-Match": etag},
        )
        unknown = await client.get(
            f"/oifits/granules/{recent['granules'][0]['id']}/previews/amp.png", headers=service.auth("ada")
        )
    assert all(p.status_code == 200 and p.content.startswith(PNG) for p in plots.values())
    assert all(p.headers["content-type"] == "image/png" for p in plots.values())
    assert plots[(recent["id"], "uv")].headers["cache-control"].startswith("private")
    assert plots[(old["id"], "uv")].headers["cache-control"].startswith("public")
    assert again.status_code == 304
    assert unknown.status_code == 404
