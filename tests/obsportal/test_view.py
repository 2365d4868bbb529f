"""The L0 view kept from the night logs: an observation logged appears, a flag sets its validation
level and log, a withdrawn one disappears, a plan's entries are planned versus observed, and a
redelivered event counts once."""

from __future__ import annotations

from datetime import UTC, datetime

from harness import eventually
from obsportal_support import NIGHT, ObsportalService, flagged, log, logged, plan

ADMIN = ("admin",)


async def listing(client, service: ObsportalService, **params) -> list[dict]:  # type: ignore[no-untyped-def]
    response = await client.get("/obsportal/exposures", params=params, headers=service.auth("ada"))
    assert response.status_code == 200, response.text
    items: list[dict] = response.json()["items"]
    return items


async def test_an_observation_logged_appears_in_the_view(service: ObsportalService) -> None:
    await service.programme("LP-1", title="Stellar diameters", pi="ada")
    observation = logged("Vega", planned_sequence=None, seeing=None, tau0=None)
    async with service.running() as client:
        await log(service, observation)
        items = await eventually(lambda: listing(client, service), timeout=10)
        [item] = items
        assert item["observation_id"] == str(observation.observation_id)
        assert item["exp_id"] == f"{item['exp_header_id']}_{item['obs_id']}"
        assert item["exp_header_id"] == "SPICA.2026-05-15T06:00:00.000000"
        assert item["programme"] == "LP-1"
        assert item["programme_title"] == "Stellar diameters"
        assert item["programme_pi"] == "ada"
        assert item["target_name"] == "Vega"
        assert item["mode"] == "LR"
        assert item["instrument"] == "SPICA"
        assert item["stations"] == ["E1", "W2", "W1", "S2", "S1", "E2"]
        assert item["conditions"]["temperature"] == 12.5
        assert item["validation"]["level"] == "unknown"
        assert item["validation"]["exp_validation_level"] == 0
        log_ = item["validation"]["log"]
        assert "Missing seeing (no seeing recorded)" in log_
        assert "Missing tau0 (no coherence time recorded)" in log_
        assert "Not in the night's plan" in log_
        assert "Not validated (no quality flag)" in log_
        assert item["date_release"].startswith("2027-11-15")  # 18 months after the end
        detail = await client.get(f"/obsportal/exposures/{item['exp_id']}", headers=service.auth("ada"))
        assert detail.status_code == 200, detail.text
        assert detail.json() == item
        assert (
            await client.get("/obsportal/exposures/SPICA.x_999", headers=service.auth("ada"))
        ).status_code == 404
        # the listing needs a token with nightlogs:read
        assert (await client.get("/obsportal/exposures")).status_code == 401
        assert (await client.get("/obsportal/exposures", headers=service.auth("ada", "x"))).status_code == 403


async def test_a_flag_sets_the_validation_level_and_log(service: ObsportalService) -> None:
    await service.programme()
    observation = logged()
    async with service.running() as client:
        await log(service, observation)
        await eventually(lambda: listing(client, service), timeout=10)
        await service.publish(
            flagged(observation, "degraded", "clouds", "high wind"), str(observation.observation_id)
        )

        async def level() -> int | None:
            [item] = await listing(client, service)
            return (
                item["validation"]["exp_validation_level"]
                if item["validation"]["level"] != "unknown"
                else None
            )

        assert await eventually(level, timeout=10) == 3
        [item] = await listing(client, service, level="degraded")
        assert "Flagged degraded: clouds, high wind" in item["validation"]["log"]
        assert item["validation"]["flagged_by"] == "night-astronomer"
        assert await listing(client, service, level="good") == []
        await service.publish(flagged(observation, "good"), str(observation.observation_id))
        assert await eventually(lambda: listing(client, service, level="good"), timeout=10)
        [item] = await listing(client, service)
        assert item["validation"]["exp_validation_level"] == 1
        assert not [m for m in item["validation"]["log"] if m.startswith("Flagged")]
        assert item["validation"]["flags"] == 2


async def test_a_withdrawn_observation_disappears(service: ObsportalService) -> None:
    await service.programme()
    kept, gone = logged("Vega"), logged("Altair", 297.6958, 8.8683)
    async with service.running() as client:
        await log(service, kept)
        await log(service, gone)
        assert len(await eventually(lambda: _at_least(client, service, 2), timeout=10)) == 2
        # a corrected log withdraws it: same observation, next log version
        await log(service, logged("Altair", 297.6958, 8.8683, observation_id=gone.observation_id,
                                  log_version=2, withdrawn=True))  # fmt: skip

        async def one_left() -> list[dict] | None:
            items = await listing(client, service)
            return items if len(items) == 1 else None

        [item] = await eventually(one_left, timeout=10)
        assert item["target_name"] == "Vega"
        exp = f"{(await service.scalar('SELECT exp_header_id FROM exposure WHERE observation_id = $1', gone.observation_id))}"
        obs_id = await service.scalar(
            "SELECT id FROM exposure WHERE observation_id = $1", gone.observation_id
        )
        missing = await client.get(f"/obsportal/exposures/{exp}_{obs_id}", headers=service.auth("ada"))
        assert missing.status_code == 404


async def _at_least(client, service: ObsportalService, n: int) -> list[dict] | None:  # type: ignore[no-untyped-def]
    items = await listing(client, service)
    return items if len(items) >= n else None


async def test_filters_and_keyset_pages(service: ObsportalService) -> None:
    await service.programme("LP-1")
    await service.programme("LP-2")
    async with service.running() as client:
        for k in range(5):
            start = datetime(2026, 5, 15, 4 + k, 0, tzinfo=UTC)
            await log(service, logged(f"HD {k}", 10.0 + k, 20.0, programme="LP-1" if k % 2 else "LP-2",
                                      start=start, mode="MR640" if k == 4 else "LR"))  # fmt: skip
        await eventually(lambda: _at_least(client, service, 5), timeout=10)
        assert [i["target_name"] for i in await listing(client, service, programme="LP-1")] == [
            "HD 1",
            "HD 3",
        ]
        assert [i["target_name"] for i in await listing(client, service, mode="MR640")] == ["HD 4"]
        assert [i["target_name"] for i in await listing(client, service, target="hd  2")] == ["HD 2"]
        assert len(await listing(client, service, night_from="2026-05-15")) == 0
        assert len(await listing(client, service, night_from=str(NIGHT), night_to=str(NIGHT))) == 5
        names, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = await client.get("/obsportal/exposures", params=params, headers=service.auth("ada"))
            names += [i["target_name"] for i in page.json()["items"]]
            cursor = page.json()["next"]
            if cursor is None:
                break
        assert names == [f"HD {k}" for k in range(5)]


async def test_planned_versus_observed(service: ObsportalService) -> None:
    await service.programme("LP-1")
    async with service.running() as client:
        await service.publish(plan([("LP-1", "Vega"), ("LP-1", "Altair")], version=1), f"CHARA/{NIGHT}")
        await service.publish(plan([("LP-1", "Vega"), ("LP-1", "Altair"), ("LP-1", "Deneb")], version=2),
                              f"CHARA/{NIGHT}")  # fmt: skip
        await log(service, logged("Vega", planned_sequence=1, matched_by="plan"))

        async def entries() -> list[dict] | None:
            response = await client.get("/obsportal/planned", headers=service.auth("ada"))
            body: list[dict] = response.json()
            return body if len(body) == 3 and body[0]["observed"] else None

        plan_entries = await eventually(entries, timeout=10)
        assert [(e["sequence"], e["target"], e["observed"], e["plan_version"]) for e in plan_entries] == [
            (1, "Vega", True, 2), (2, "Altair", False, 2), (3, "Deneb", False, 2),
        ]  # fmt: skip
        [vega] = await listing(client, service)
        assert plan_entries[0]["exposures"] == [vega["exp_id"]]
        assert vega["planned_sequence"] == 1
        assert "Not in the night's plan" not in vega["validation"]["log"]
        missed = await client.get(
            "/obsportal/planned", params={"observed": "false"}, headers=service.auth("ada")
        )
        assert [e["target"] for e in missed.json()] == ["Altair", "Deneb"]
        # pages of an array: the next one in the Link header
        first = await client.get("/obsportal/planned", params={"limit": 2}, headers=service.auth("ada"))
        link = first.headers["link"]
        second = await client.get(link[1 : link.index(">")], headers=service.auth("ada"))
        assert [e["target"] for e in first.json()] == ["Vega", "Altair"]
        assert [e["target"] for e in second.json()] == ["Deneb"]
        assert "link" not in second.headers
        # an older version arriving late changes nothing
        await service.publish(plan([("LP-1", "Vega")], version=1), f"CHARA/{NIGHT}")
        await eventually(service.drained, timeout=10)
        assert await service.scalar("SELECT count(*) FROM plan_entry") == 3


async def test_a_redelivered_event_counts_once(service: ObsportalService) -> None:
    await service.programme()
    observation = logged()
    async with service.running() as client:
        envelope = await log(service, observation)
        flag = flagged(observation, "good")
        flag_envelope = await service.publish(flag, str(observation.observation_id))
        await service.redeliver(observation, envelope)
        await service.redeliver(flag, flag_envelope)
        await eventually(service.drained, timeout=10)
        [item] = await listing(client, service)
        assert item["validation"]["flags"] == 1
        assert await service.scalar("SELECT count(*) FROM exposure") == 1
