"""Events out (programme created, membership, proprietary period, imports in batches) and progress
in: what the night logs say was planned, observed and flagged moves the requests' counters, once
per event however often it arrives."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from harness import eventually
from programmes_support import (
    Client,
    ProgrammesService,
    create_programme,
    import_json,
    outbox,
    stars,
)

from spicadb_contracts.nightlogs import (
    NightScheduled,
    ObservationFlagged,
    ObservationLogged,
    PlannedObservation,
)

SIX = ["E1", "W2", "W1", "S2", "S1", "E2"]
NIGHT = date(2026, 5, 14)


async def test_creating_a_programme_announces_it_with_its_members(service: ProgrammesService) -> None:
    async with service.running() as client:
        created = await create_programme(
            client,
            service,
            "LP-1",
            members=[("bob", "viewer"), ("carol", "co-investigator")],
            proprietary_months=12,
        )
    events = await outbox(service, "programmes.programme.created")
    assert len(events) == 1
    assert events[0]["programme_id"] == created["id"]
    assert events[0]["code"] == "LP-1"
    assert events[0]["pi"] == "ada"
    assert events[0]["proprietary_months"] == 12
    assert events[0]["members"] == [
        {"username": "ada", "role": "pi"},
        {"username": "bob", "role": "viewer"},
        {"username": "carol", "role": "co-investigator"},
    ]


async def test_membership_changes_announce_the_whole_membership(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service, "LP-1", members=[("bob", "viewer")])
        ada = service.auth("ada")
        await client.put(
            "/programmes/LP-1/members/eve", json={"username": "eve", "role": "observer"}, headers=ada
        )
        await client.put(
            "/programmes/LP-1/members/bob", json={"username": "bob", "role": "co-investigator"}, headers=ada
        )
        # the same role again changes nothing
        await client.put(
            "/programmes/LP-1/members/bob", json={"username": "bob", "role": "co-investigator"}, headers=ada
        )
        await client.delete("/programmes/LP-1/members/eve", headers=ada)
    events = await outbox(service, "programmes.programme.membership_changed")
    assert [{m["username"]: m["role"] for m in e["members"]} for e in events] == [
        {"ada": "pi", "bob": "viewer", "eve": "observer"},
        {"ada": "pi", "bob": "co-investigator", "eve": "observer"},
        {"ada": "pi", "bob": "co-investigator"},
    ]
    assert {e["changed_by"] for e in events} == {"ada"}


async def test_the_pi_changes_the_proprietary_period_and_it_is_announced(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service, "LP-1")
        changed = await client.patch(
            "/programmes/LP-1", json={"proprietary_months": 6}, headers=service.auth("ada")
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["proprietary_months"] == 6
        assert (await client.get("/programmes/LP-1", headers=service.auth("ada"))).json()[
            "proprietary_months"
        ] == 6
    events = await outbox(service, "programmes.programme.proprietary_changed")
    assert [(e["previous_months"], e["proprietary_months"], e["changed_by"]) for e in events] == [
        (18, 6, "ada")
    ]


async def test_a_large_import_is_announced_in_batches(service: ProgrammesService) -> None:
    # the default batch: what fits one NATS message with every value at its bound
    async with service.running() as client:
        await create_programme(client, service, "LP-1")
        imported = await import_json(client, service, "LP-1", stars(600))
        assert imported.status_code == 201, imported.text
        assert imported.json()["imported"] == 600
    events = await outbox(service, "programmes.targets.imported")
    assert [(e["batch"], e["batches"], e["total"], len(e["targets"])) for e in events] == [
        (1, 3, 600, 250),
        (2, 3, 600, 250),
        (3, 3, 600, 100),
    ]
    names = [t["name"] for e in events for t in e["targets"]]
    assert len(set(names)) == 600
    assert len({e["import_id"] for e in events}) == 1
    assert await service.scalar("SELECT count(*) FROM target") == 600


# --- progress from the night logs -----------------------------------------------------------------


async def observing_programme(client: Client, service: ProgrammesService) -> dict[str, Any]:
    """LP-1 with Vega and Deneb in WP1, a 6T LR setup and a request of two visits of Vega."""
    ada = service.auth("ada")
    await create_programme(client, service, "LP-1")
    wp = await client.post(
        "/programmes/LP-1/work-packages", json={"code": "WP1", "title": "Giants"}, headers=ada
    )
    assert wp.status_code == 201, wp.text
    ids = {}
    for name, ra, dec in (("Vega", 279.2347, 38.7837), ("Deneb", 310.358, 45.280)):
        created = await client.post(
            "/programmes/LP-1/targets/",
            json={"name": name, "ra": ra, "dec": dec, "work_package": "WP1"},
            headers=ada,
        )
        assert created.status_code == 201, created.text
        ids[name] = created.json()["id"]
    setup = await client.post(
        "/programmes/LP-1/setups",
        json={"name": "lr6", "mode": "LR", "configuration": ["E1", "W2", "W1", "S2", "S1", "E2"]},
        headers=ada,
    )
    assert setup.status_code == 201, setup.text
    assert setup.json()["configuration"] == SIX
    request = await client.post(
        "/programmes/LP-1/requests", json={"target_id": ids["Vega"], "setup": "lr6", "visits": 2}, headers=ada
    )
    assert request.status_code == 201, request.text
    return {"ids": ids, "request": request.json()["id"]}


def plan(version: int, *targets: str) -> NightScheduled:
    start = datetime(2026, 5, 15, 4, 0, tzinfo=UTC)
    return NightScheduled(
        site="CHARA",
        night=NIGHT,
        version=version,
        observations=[
            PlannedObservation(
                sequence=k + 1,
                programme="LP-1",
                target=name,
                mode="LR",
                configuration=SIX,
                start=start + timedelta(hours=k),
                end=start + timedelta(hours=k, minutes=50),
            )
            for k, name in enumerate(targets)
        ],
        scheduled_by="scheduler",
        scheduled_at=datetime.now(UTC),
    )


def logged(
    observation_id: uuid.UUID, name: str = "Vega", target_id: str | None = None, **extra: Any
) -> ObservationLogged:
    extra.setdefault("log_version", 1)
    return ObservationLogged(
        observation_id=observation_id,
        site="CHARA",
        night=NIGHT,
        target_name=name,
        mode="LR",
        stations=SIX,
        mjd_start=61175.2,
        mjd_end=61175.23,
        logged_at=datetime.now(UTC),
        programme="LP-1" if target_id is None else None,
        target_id=uuid.UUID(target_id) if target_id else None,
        **extra,
    )


def flagged(observation_id: uuid.UUID, level: str = "good") -> ObservationFlagged:
    return ObservationFlagged(
        observation_id=observation_id,
        level=level,
        previous_level="unknown",
        reasons=[],
        comment="",
        flagged_by="night-astronomer",
        flagged_at=datetime.now(UTC),
        programme="LP-1",
    )


async def test_progress_follows_the_night_logs_once_per_event(service: ProgrammesService) -> None:
    async with service.running() as client:
        ada = service.auth("ada")
        made = await observing_programme(client, service)
        vega = made["ids"]["Vega"]

        async def counts() -> dict[str, Any]:
            page = (await client.get("/programmes/LP-1/requests", headers=ada)).json()
            (request,) = page["items"]
            return request["progress"]

        async def reaches(**wanted: Any) -> Any:
            async def check() -> Any:
                now = await counts()
                return now if all(now[k] == v for k, v in wanted.items()) else None

            return await eventually(check)

        assert await counts() == {
            "requested": 2,
            "planned": 0,
            "observed": 0,
            "good": 0,
            "state": "not-observed",
        }

        await service.publish(plan(1, "Vega", "Deneb"), "CHARA/2026-05-14")
        await reaches(planned=1)

        first = uuid.uuid4()
        first_logged = await service.publish(logged(first), str(first))
        progress = await reaches(observed=1)
        assert progress == {"requested": 2, "planned": 1, "observed": 1, "good": 0, "state": "partial"}
        target = (await client.get(f"/programmes/LP-1/targets/{vega}", headers=ada)).json()
        assert target["progress"] == "partial"

        await service.publish(flagged(first), str(first))
        await reaches(good=1)

        # a redelivered copy of the first observation changes nothing
        await service.redeliver(logged(first), first_logged)

        second = uuid.uuid4()  # logged by target id, without a programme code
        await service.publish(logged(second, "HD 172167", target_id=vega), str(second))
        await service.publish(flagged(second), str(second))
        progress = await reaches(good=2)
        assert progress == {"requested": 2, "planned": 1, "observed": 2, "good": 2, "state": "done"}

        totals = (await client.get("/programmes/LP-1/progress", headers=ada)).json()
        assert totals["programme"] == "LP-1"
        assert totals["progress"] == progress
        assert totals["work_packages"] == [{"work_package": "WP1", "progress": progress}]

        done = (await client.get("/programmes/LP-1/targets/?progress=done", headers=ada)).json()["items"]
        assert [t["name"] for t in done] == ["Vega"]
        untouched = (await client.get("/programmes/LP-1/targets/?progress=not-observed", headers=ada)).json()
        assert [t["name"] for t in untouched["items"]] == ["Deneb"]

        # every message, the copy included, was handled: still two observations, counted once
        await eventually(service.drained)
        assert await service.scalar("SELECT count(*) FROM observation") == 2
        assert (await counts())["observed"] == 2

    events = await outbox(service, "programmes.progress.changed")
    assert events, "progress.changed events in the outbox"
    last = events[-1]
    assert last["code"] == "LP-1"
    assert last["target_name"] == "Vega"
    assert last["request"] == {"requested": 2, "planned": 1, "observed": 2, "good": 2, "state": "done"}
    assert last["programme"]["state"] == "done"
    assert last["work_package"] == "WP1"
    assert last["work_package_progress"]["good"] == 2
    observed = [e["request"]["observed"] for e in events]
    assert observed == sorted(observed)
    assert max(observed) == 2  # the copy was not counted a third time


async def test_a_new_plan_of_the_night_replaces_the_old_one(service: ProgrammesService) -> None:
    async with service.running() as client:
        ada = service.auth("ada")
        await observing_programme(client, service)

        async def planned() -> int:
            (request,) = (await client.get("/programmes/LP-1/requests", headers=ada)).json()["items"]
            return int(request["progress"]["planned"])

        await service.publish(plan(1, "Vega"), "CHARA/2026-05-14")
        await eventually(lambda: _equals(planned, 1))
        await service.publish(plan(2, "Deneb"), "CHARA/2026-05-14")
        await eventually(lambda: _equals(planned, 0))


async def _equals(read: Any, value: int) -> bool:
    return bool(await read() == value)


async def test_a_corrected_log_that_withdraws_an_observation_takes_it_back(
    service: ProgrammesService,
) -> None:
    async with service.running() as client:
        ada = service.auth("ada")
        made = await observing_programme(client, service)

        async def vega() -> tuple[dict[str, Any], str]:
            (request,) = (await client.get("/programmes/LP-1/requests", headers=ada)).json()["items"]
            target = (await client.get(f"/programmes/LP-1/targets/{made['ids']['Vega']}", headers=ada)).json()
            return request["progress"], target["progress"]

        observations = [uuid.uuid4(), uuid.uuid4()]
        for observation in observations:
            await service.publish(logged(observation), str(observation))
            await service.publish(flagged(observation), str(observation))
        await eventually(lambda: _is(vega, "done"))

        await service.publish(logged(observations[1], log_version=2, withdrawn=True), str(observations[1]))
        progress, target = await eventually(lambda: _is(vega, "partial"))
        assert target == "partial"
        assert (progress["observed"], progress["good"], progress["state"]) == (1, 1, "partial")
        totals = (await client.get("/programmes/LP-1/progress", headers=ada)).json()
        assert totals["progress"]["state"] == "partial"
    last = (await outbox(service, "programmes.progress.changed"))[-1]
    assert last["request"]["observed"] == 1
    assert last["programme"]["state"] == "partial"


async def _is(read: Any, state: str) -> Any:
    progress, target = await read()
    return (progress, target) if progress["state"] == target == state else None


async def test_changing_the_visits_asked_for_announces_the_new_progress(service: ProgrammesService) -> None:
    """Two good observations of Vega: asking for three visits instead of two turns the request from
    done back to partial, and the consumers of progress are told."""
    async with service.running() as client:
        ada = service.auth("ada")
        made = await observing_programme(client, service)
        for observation in (uuid.uuid4(), uuid.uuid4()):
            await service.publish(logged(observation), str(observation))
            await service.publish(flagged(observation), str(observation))

        async def state() -> str:
            (request,) = (await client.get("/programmes/LP-1/requests", headers=ada)).json()["items"]
            return str(request["progress"]["state"])

        await eventually(lambda: _same(state, "done"))
        changed = await client.patch(
            f"/programmes/LP-1/requests/{made['request']}", json={"visits": 3}, headers=ada
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["progress"] == {
            "requested": 3,
            "planned": 0,
            "observed": 2,
            "good": 2,
            "state": "partial",
        }
        target = (await client.get(f"/programmes/LP-1/targets/{made['ids']['Vega']}", headers=ada)).json()
        assert target["progress"] == "partial"
    last = (await outbox(service, "programmes.progress.changed"))[-1]
    assert last["request"]["requested"] == 3
    assert last["request"]["state"] == "partial"
    assert last["programme"]["state"] == "partial"


async def _same(read: Any, value: str) -> bool:
    return bool(await read() == value)
