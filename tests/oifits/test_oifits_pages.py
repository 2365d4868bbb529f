"""The files and rejections listings page with the kit's cursors: every file once, newest first, by
following the ``Link`` header; a cursor no page gave (the old ``moment~id`` ones too) is a 400 problem
of type bad-cursor."""

from __future__ import annotations

from typing import Any

from oifits_support import OifitsService, oifits, push

ADMIN = ("root", "admin")


async def test_files_page_newest_first_through_the_link_header(service: OifitsService) -> None:
    admin = service.auth(*ADMIN)
    async with service.running() as client:
        pushed = []
        for n in range(5):
            answer = await push(client, oifits(target=f"HD {n}"), service.drs(), filename=f"f{n}.fits")
            assert answer.status_code == 201, answer.text
            pushed.append(answer.json()["id"])
        listed: list[dict[str, Any]] = []
        url: str | None = "/oifits/files?limit=2"
        pages = 0
        while url is not None:
            page = await client.get(url, headers=admin)
            assert page.status_code == 200, page.text
            listed += page.json()["items"]
            pages += 1
            link = page.headers.get("link")
            assert (link is None) == (page.json()["next"] is None), link
            url = link[1 : link.index(">")] if link else None
        first = (await client.get("/oifits/files?limit=1", headers=admin)).json()["next"]
        refused = [
            await client.get(path, params={"cursor": cursor}, headers=admin)
            for path, cursor in (
                ("/oifits/files", f"2026-05-15T06:00:00+00:00~{pushed[0]}"),
                ("/oifits/rejections", first),  # the files listing's cursor
                ("/oifits/rejections", "~"),
            )
        ]
    assert pages == 3
    assert [f["id"] for f in listed] == pushed[::-1]
    for response in refused:
        assert response.status_code == 400, response.text
        assert response.json()["type"].endswith("/bad-cursor"), response.text
