"""The operator routes every service answers (the kit's, admin scope): its dead letters listed and
replayed one at a time, and its readiness details, against real PostgreSQL and NATS (the probe service),
and where each service answers them at the gateway."""

from __future__ import annotations

from typing import Any

import pytest
from harness import Probe, eventually
from kit_support import assert_problem, bearer
from probe_service.service import PingService
from spicadb_gateway.policy import RoutePolicy

from spicadb_kit.events import Outbox
from spicadb_kit.spec import discover_services

ADMIN = "/admin"  # the probe declares no gateway prefix


def ping_service(probe: Probe) -> PingService:
    assert probe.pool is not None
    return PingService(probe.pool, Outbox("/spicadb/probe"))


async def _open_letter(probe: Probe) -> int:
    letter: int = await eventually(
        lambda: probe.scalar(
            "SELECT id FROM dead_letter WHERE consumer = 'probe_effects' AND replayed_at IS NULL"
        )
    )
    return letter


async def test_a_dead_letter_is_listed_and_replayed_once_its_cause_is_gone(probe: Probe) -> None:
    await ping_service(probe).record("bad", 1, note="poison")
    admin = bearer(probe.tokens.mint("admin"))
    async with probe.running() as client:
        letter = await _open_letter(probe)
        listed = await client.get(f"{ADMIN}/dead-letters", headers=admin)
        assert listed.status_code == 200, listed.text
        [item] = listed.json()["items"]
        assert item["id"] == letter
        assert item["consumer"] == "probe_effects"
        assert item["event_type"] == "org.jmmc.spicadb.probe.ping.recorded.v1"
        assert item["aggregate_id"] == "bad"
        assert item["aggregate_version"] == 1
        assert item["attempts"] == 3
        assert "ping bad is poison" in item["error"]
        assert item["replayed"] is False

        # the cause is still there: the replay says so, and the letter stays open
        again = await client.post(f"{ADMIN}/dead-letters/{letter}/replay", headers=admin)
        assert again.status_code == 200, again.text
        assert again.json()["outcome"] == "not replayed"
        assert "poison" in again.json()["detail"]
        assert again.json()["letter"]["replayed"] is False

        await probe.scalar("INSERT INTO ping_cure VALUES ('bad') RETURNING 1")
        cured = await client.post(f"{ADMIN}/dead-letters/{letter}/replay", headers=admin)
        assert cured.status_code == 200, cured.text
        assert cured.json()["outcome"] == "replayed"
        assert cured.json()["letter"]["replayed"] is True
        assert await probe.effects_per_ping() == {"bad": 1}

        replayed = (await client.get(f"{ADMIN}/dead-letters?replayed=true", headers=admin)).json()
        assert [i["id"] for i in replayed["items"]] == [letter]
        assert (await client.get(f"{ADMIN}/dead-letters?replayed=false", headers=admin)).json()["items"] == []
        twice = await client.post(f"{ADMIN}/dead-letters/{letter}/replay", headers=admin)
        assert_problem(twice, 409)
    assert await probe.effects_per_ping() == {"bad": 1}


async def test_dead_letters_come_in_keyset_pages_newest_first(probe: Probe) -> None:
    service = ping_service(probe)
    await service.record("bad1", 1, note="poison")
    await service.record("bad2", 2, note="poison")
    admin = bearer(probe.tokens.mint("admin"))
    async with probe.running() as client:
        await eventually(lambda: probe.scalar("SELECT count(*) = 2 FROM dead_letter"))
        first = await client.get(f"{ADMIN}/dead-letters?limit=1", headers=admin)
        assert first.status_code == 200, first.text
        assert 'rel="next"' in first.headers["link"]
        second = await client.get(
            f"{ADMIN}/dead-letters", params={"limit": 1, "cursor": first.json()["next"]}, headers=admin
        )
        ids = [first.json()["items"][0]["id"], second.json()["items"][0]["id"]]
        assert ids == sorted(ids, reverse=True)
        assert second.json()["next"] is None
        mine = await client.get(f"{ADMIN}/dead-letters?consumer=someone_else", headers=admin)
        assert mine.json() == {"items": [], "next": None}


async def test_the_health_report_gives_the_readiness_details(probe: Probe) -> None:
    await ping_service(probe).record("bad", 1, note="poison")
    admin = bearer(probe.tokens.mint("admin"))
    async with probe.running() as client:
        await _open_letter(probe)
        response = await client.get(f"{ADMIN}/health", headers=admin)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    assert report["status"] == "ready"
    assert report["service"] == "probe"
    assert report["database"]["reachable"] is True
    assert report["nats"]["connected"] is True
    assert "url" not in report["nats"]  # a server's address may carry credentials
    assert report["outbox"]["unpublished"] >= 0
    assert report["consumers"]["probe_effects"]["dead_lettered"] == 1
    assert "pending" in report["consumers"]["probe_effects"]
    assert report["dead_letters"] == {"probe_effects": 1}


async def test_only_an_admin_reaches_the_operator_routes(probe: Probe) -> None:
    writer = bearer(probe.tokens.mint("probe:write"))
    async with probe.running() as client:
        for method, path in [
            ("GET", f"{ADMIN}/dead-letters"),
            ("POST", f"{ADMIN}/dead-letters/1/replay"),
            ("GET", f"{ADMIN}/health"),
        ]:
            assert_problem(await client.request(method, path, headers=writer), 403)
            assert_problem(await client.request(method, path), 401)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"{ADMIN}/dead-letters/987654/replay", 404),
        (f"{ADMIN}/dead-letters/abc/replay", 404),
        (f"{ADMIN}/dead-letters/99999999999999999999999/replay", 400),
    ],
)
async def test_a_letter_that_is_not_there_is_a_problem(probe: Probe, path: str, status: int) -> None:
    admin = bearer(probe.tokens.mint("admin"))
    async with probe.running() as client:
        assert_problem(await client.post(path, headers=admin), status)


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=abc", "cursor=garbage", f"consumer={'c' * 201}", "replayed=perhaps"]
)
async def test_a_bad_listing_parameter_is_a_400(probe: Probe, query: str) -> None:
    admin = bearer(probe.tokens.mint("admin"))
    async with probe.running() as client:
        assert_problem(await client.get(f"{ADMIN}/dead-letters?{query}", headers=admin), 400)


def test_every_service_answers_its_operator_routes_at_the_gateway_for_admins_only() -> None:
    specs = {spec.name: spec for spec in discover_services()}
    policy = RoutePolicy.from_specs(specs.values(), {})  # no two services claim the same prefix
    expected = {
        "auth": "/admin",
        "gateway": "/auth/admin",
        "web": "/web/admin",
        "nightlogs": "/nightlogs/admin",
        "programmes": "/programmes/admin",
    }
    for name, path in expected.items():
        assert specs[name].admin_path == path
        for method, leaf in [
            ("GET", "/dead-letters"),
            ("POST", "/dead-letters/3/replay"),
            ("GET", "/health"),
        ]:
            route = policy.resolve(path + leaf, method)
            assert getattr(route, "service", None) == name, (name, leaf, route)
            assert getattr(route, "scopes", None) == ("admin",), (name, leaf, route)
