"""End to end into the TAP service: CHARA logs a programme's observation, the DRS pushes the reduced OIFITS
file through the gateway with its robot token (the real oifits service indexes it and links its granule to
the observation), and the granule appears in ivoa.ObsCore through /tap/sync within seconds, for the
programme's member and not for anonymous callers, linked in spicadb.links; a quality flag on the
observation moves the granule's quality_level there too. Nothing here sleeps: every wait polls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from harness import eventually
from oifits_support import oifits
from tap_support import MEMBER, TapPlatform, mjd

VEGA = (279.2347, 38.7837)


async def obscore(tap_platform: TapPlatform, target: str, who: str | None) -> list[dict[str, Any]]:
    return await tap_platform.rows(
        "SELECT obs_publisher_did, target_name, quality_level, calib_level, access_url FROM ivoa.ObsCore"
        f" WHERE target_name = '{target}'",
        who,
    )


async def test_a_pushed_granule_reaches_obscore_and_its_quality_follows_the_flag(
    tap_platform: TapPlatform,
) -> None:
    code = await tap_platform.programme()
    target = f"VEGA-{code[-6:]}"
    start = datetime.now(UTC) - timedelta(hours=3)
    observed = await tap_platform.observe(target, *VEGA, programme=code, start=start)
    await eventually(lambda: tap_platform["oifits"].scalar(
        "SELECT count(*) FROM observation WHERE observation_id = $1", observed.observation_id))  # fmt: skip

    data = oifits(
        target=target, ra=VEGA[0], dec=VEGA[1], at=(mjd(start + timedelta(minutes=10)),), programme=code
    )
    # the DRS robot: a client-credentials token whose subject is the client
    token = tap_platform.tokens.mint("oifits:push", "oifits:read", subject="drs", client_id="drs")
    drs = {"Authorization": f"Bearer {token}"}
    async with tap_platform.client() as edge:
        pushed = await edge.post(
            "/oifits/files", params={"filename": "vega.fits"}, content=data,
            headers={**drs, "Content-Type": "application/fits"},
        )  # fmt: skip
    assert pushed.status_code == 201, pushed.text
    (granule,) = pushed.json()["granules"]

    # in ivoa.ObsCore within seconds, for the member only
    (row,) = await eventually(lambda: obscore(tap_platform, target, MEMBER), timeout=20)
    assert row["obs_publisher_did"].endswith(granule["id"])
    assert row["calib_level"] == 2
    assert f"/oifits/files/{pushed.json()['id']}" in row["access_url"]
    assert await obscore(tap_platform, target, None) == []
    before = row["quality_level"]
    links = await tap_platform.rows(
        f"SELECT observation_id FROM spicadb.links WHERE obs_publisher_did = '{row['obs_publisher_did']}'",
        MEMBER,
    )
    assert [r["observation_id"] for r in links] == [str(observed.observation_id)]

    # a bad flag on the observation: the granule is trash (OiDB's quality level 1)
    await tap_platform.flag(observed.observation_id, "bad", code)

    async def quality() -> Any:
        (now,) = await obscore(tap_platform, target, MEMBER)
        return now["quality_level"] == 1

    await eventually(quality, timeout=20)
    assert before != 1
