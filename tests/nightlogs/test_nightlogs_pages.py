"""The nights and observations listings page with the kit's cursors: every row once, in order, by
following ``next`` or the ``Link`` header; a cursor no page gave is a 400 problem of type bad-cursor."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from nightlogs_support import NIGHT, READ, Client, NightLogsService, csv_log, line, post_log, problem


async def _walk(client: Client, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every item, following the ``Link`` header and checking it agrees with ``next``."""
    items: list[dict[str, Any]] = []
    while True:
        page = await client.get(url, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        link = page.headers.get("link")
        if body["next"] is None:
            assert link is None
            return items
        assert link is not None
        assert link.endswith('>; rel="next"'), link
        url = link[1 : link.index(">")]
        assert url.endswith(f"cursor={body['next']}"), (url, body["next"])


async def test_nights_and_observations_page_through_every_row(service: NightLogsService) -> None:
    admin = service.auth("ada", READ, "admin")
    nights = [NIGHT + timedelta(days=d) for d in range(3)]
    async with service.running() as client:
        for night in nights:
            log = csv_log(*(line(star, hour, night=night) for star, hour in (("Vega", 1.0), ("Altair", 2.0))))
            posted = await post_log(client, service, log, night)
            assert posted.status_code == 201, posted.text
        listed_nights = await _walk(client, "/nightlogs/nights?site=CHARA&limit=2", admin)
        observations = await _walk(client, "/nightlogs/observations/?limit=4&site=CHARA", admin)
        one_night = await _walk(client, f"/nightlogs/observations/?night_from={nights[1]}&limit=1", admin)
        nights_page = (await client.get("/nightlogs/nights?limit=1", headers=admin)).json()
        refused = {
            cursor: await client.get(f"{path}?cursor={cursor}", headers=admin)
            for path, cursor in (
                ("/nightlogs/nights", f"{NIGHT}/CHARA"),  # the cursors of before: not ours any more
                ("/nightlogs/observations/", "61054.5_00000000-0000-0000-0000-000000000000"),
                ("/nightlogs/observations/", nights_page["next"]),  # another listing's
                ("/nightlogs/nights", nights_page["next"][:-2]),  # cut short
            )
        }
    assert [(n["night"], n["site"]) for n in listed_nights] == [(str(n), "CHARA") for n in nights]
    starts = [o["mjd_start"] for o in observations]
    assert len(starts) == 6
    assert starts == sorted(starts)
    assert len({o["id"] for o in observations}) == 6
    assert [o["night"] for o in one_night] == [str(nights[1])] * 2 + [str(nights[2])] * 2
    for cursor, response in refused.items():
        assert problem(response, 400, "bad-cursor")["errors"][0]["field"] == "query.cursor", cursor
