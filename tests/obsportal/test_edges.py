"""The edges of obsportal's input: dates and offsets at the calendar's ends, cursors beyond 64 bits (a bad cursor),
and HEAD on every GET route (the gateway lets HEAD through wherever it lets GET)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from harness import eventually
from obsportal_support import VO, ObsportalService, flagged, log, logged, votable_rows

from spicadb_kit.pagination import Cursor

VEGA = (279.2347, 38.7837)


def _status(text: str) -> str | None:
    root = ET.fromstring(text)
    return {p.get("name"): p.get("value") for p in root.iter(f"{VO}PARAM")}.get("status")


async def _released_vega(service: ObsportalService) -> None:
    await service.programme("LP-1", title="Stellar diameters", pi="ada")
    observation = logged("Vega", *VEGA, start=datetime(2020, 9, 24, 17, 25, 45, tzinfo=UTC), kind="science")
    await log(service, observation)
    await service.publish(flagged(observation, "good"), str(observation.observation_id))
    await eventually(service.drained, timeout=10)


async def test_dates_at_the_ends_of_the_calendar(service: ObsportalService) -> None:
    async with service.running() as client:
        await _released_vega(service)
        last_day = await client.get("/obsportal/search.votable", params={"date_updated_to": "9999-12-31"})
        first_day = await client.get("/obsportal/search.votable", params={"date_updated_from": "0001-01-01"})
        edges = {
            text: await client.get("/obsportal/search.votable", params={"date_updated_to": text})
            for text in ("9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00")
        }
        posted = await client.post("/obsportal/search.votable", data={"date_updated_from": "9999-12-31"})
    # the last day of the calendar is a day like any other: everything updated up to its end
    for response in (last_day, first_day):
        assert response.status_code == 200, response.text
        assert _status(response.text) == "OK"
        assert len(votable_rows(response.text)[1]) == 1
    assert posted.status_code == 200, posted.text
    assert votable_rows(posted.text)[1] == []
    # a moment that leaves the calendar once in UTC is the client's error, said in the VOTable
    for text, response in edges.items():
        assert response.status_code == 400, (text, response.text)
        assert _status(response.text) == "ERROR"
        assert "date_updated_to" in response.text


class ExposureKey(Cursor):
    """A forged cursor of the exposures listing (its tag), free of the listing's bounds."""

    mjd_start: float
    id: int


async def test_cursors_beyond_64_bits_are_a_400_bad_cursor(service: ObsportalService) -> None:
    async with service.running() as client:
        headers = service.auth("ada")
        answers = {
            cursor: await client.get("/obsportal/exposures", params={"cursor": cursor}, headers=headers)
            for cursor in (
                ExposureKey(61000.5, 2**64 - 1).encode(),
                ExposureKey(61000.5, 2**63).encode(),
                ExposureKey(math.inf, 1).encode(),
                ExposureKey(math.nan, 1).encode(),
                "61000.5:1",  # the cursors of before
            )
        }
        fine = await client.get(
            "/obsportal/exposures",
            params={"cursor": ExposureKey(61000.5, 2**63 - 1).encode()},
            headers=headers,
        )
    assert fine.status_code == 200, fine.text
    for cursor, response in answers.items():
        assert response.status_code == 400, (cursor, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"].endswith("/bad-cursor")


async def test_head_on_every_get_route(service: ObsportalService) -> None:
    async with service.running() as client:
        await _released_vega(service)
        headers = service.auth("ada")
        paths = {
            "/obsportal/search.votable?ra=279.2347&dec=38.7837": {},
            "/obsportal/scs?RA=279.2347&DEC=38.7837&SR=0.01": {},
            "/obsportal/exposures": headers,
            "/obsportal/planned": headers,
        }
        exposure = (await client.get("/obsportal/exposures", headers=headers)).json()["items"][0]["exp_id"]
        paths[f"/obsportal/exposures/{exposure}"] = headers
        for path, auth in paths.items():
            got = await client.get(path, headers=auth)
            head = await client.head(path, headers=auth)
            assert got.status_code == 200, (path, got.text)
            assert head.status_code == 200, (path, head.status_code, head.text)
            assert head.content == b"", path
            assert head.headers["content-type"] == got.headers["content-type"], path
        anonymous = await client.head("/obsportal/exposures")
    assert anonymous.status_code == 401
