"""A file's name is the pusher's choice, any Unicode: its download names it exactly (RFC 6266
``filename*``) with an ASCII fallback, instead of failing on a header Latin-1 cannot carry."""

from __future__ import annotations

from urllib.parse import unquote

from oifits_support import OifitsService, oifits, push

NAME = '\u03b1_Lyr "night".fits'  # alpha Lyr


async def test_a_file_with_a_non_latin1_name_downloads(service: OifitsService) -> None:
    drs = service.drs()
    async with service.running() as client:
        answer = await push(client, oifits(), drs, filename=NAME)
        assert answer.status_code == 201, answer.text
        url = f"/oifits/files/{answer.json()['id']}/content"
        whole = await client.get(url, headers=drs)
        head = await client.head(url, headers=drs)
        listed = await client.get(f"/oifits/files/{answer.json()['id']}", headers=drs)
    assert whole.status_code == 200, whole.text
    assert head.status_code == 200
    assert listed.json()["filename"] == NAME
    header = whole.headers["content-disposition"]
    assert header == head.headers["content-disposition"]
    assert header.isascii()
    assert header.startswith('attachment; filename="__Lyr \\"night\\".fits"; filename*=UTF-8\'\'')
    assert unquote(header.split("filename*=UTF-8''", 1)[1]) == NAME
