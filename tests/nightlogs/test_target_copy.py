"""The programmes' targets copy (issue 12): it keeps only targets that keep the rules, whatever the order
its creations, changes and deletions arrive in, and every change of it matches again the observations
logged before it (the views follow)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from harness import eventually
from nightlogs_support import (
    NIGHT,
    NightLogsService,
    csv_log,
    line,
    mjd_at,
    outbox_rows,
    post_log,
    programme,
    targets,
)
from spicadb_nightlogs.matching import Matcher, Target
from spicadb_obsportal.app import create_app as obsportal_app
from spicadb_obsportal.spec import SPEC as OBSPORTAL

from spicadb_astro import nights
from spicadb_contracts.programmes import TargetChanged, TargetSnapshot
from spicadb_kit.testing.services import InstalledService

HUGE = 1.79e308
JSON = "application/json"
EARLIER = date(2026, 1, 13)
VEGA = (279.2347, 38.7837)


def changed(
    programme_id: uuid.UUID, target_id: uuid.UUID, change: str, target: TargetSnapshot | None
) -> TargetChanged:
    return TargetChanged(
        programme_id=programme_id, code="LP-1", target_id=target_id, change=change, target=target,
        changed_by="ada", changed_at=datetime.now(UTC),
    )  # fmt: skip


def json_log(star: str, hour: float, ra: float, dec: float, night: date = NIGHT) -> bytes:
    start = mjd_at(hour, night)
    entry = {"ut_date": nights.datetime_of_mjd(start).date().isoformat(), "star": star, "combiner": "SPICA", "type": "OBJ", "mjd": start,
             "filter": "LR", "scopes": "E1-W2-W1-S2", "ra": ra, "dec": dec}  # fmt: skip
    return msgspec.json.encode({"lines": [entry]})


async def copy_of(service: NightLogsService) -> dict[str, Any]:
    rows = await service.fetch("SELECT target_id, name, pmra FROM programme_target")
    return {str(r["target_id"]): (r["name"], r["pmra"]) for r in rows}


def test_the_matcher_skips_a_candidate_without_a_finite_place() -> None:
    wild = Target(uuid.uuid4(), "LP-1", "Wild", *VEGA, 2000.0, HUGE, None)
    vega = Target(uuid.uuid4(), "LP-1", "Vega", *VEGA, 2000.0, None, None)
    matcher = Matcher([], {"wild": [wild], "vega": [vega]}, [wild, vega], 2026.0, 5.0)
    assert [t.target_id for t in matcher.positioned] == [vega.target_id]
    assert "wild" not in matcher.by_name


async def test_a_target_breaking_the_rules_does_not_fail_a_log(service: NightLogsService) -> None:
    lp1 = await programme(service, "LP-1")
    vega, wild, odd = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await targets(service, lp1, "LP-1", [TargetSnapshot(vega, "Vega", *VEGA)])
    # a name with a C1 control character: the event's contract lets it through, the rules of the copy not
    snapshot = TargetSnapshot(odd, "Odd\u009b", *VEGA)
    await service.publish(changed(lp1, odd, "created", snapshot), str(lp1))
    # as the programmes service published it before its rules: 1.79e308 mas/yr (the contract refuses it now)
    await targets(service, lp1, "LP-1", [TargetSnapshot(wild, "Wild", *VEGA, pmra=HUGE)])
    async with service.running() as client:
        await eventually(lambda: _has(service, vega))
        await eventually(service.drained)
        # and a copy kept before the rules: its place at the night is no finite point
        await service.scalar(
            "INSERT INTO programme_target (target_id, programme_id, programme, name, name_key, ra, dec, pmra)"
            " VALUES ($1, $2, 'LP-1', 'Legacy', 'legacy', $3, $4, $5)",
            uuid.uuid4(), lp1, *VEGA, HUGE,
        )  # fmt: skip
        posted = await post_log(client, service, json_log("Somewhere", 3.0, *VEGA), media=JSON)
        assert posted.status_code == 201, posted.text
    (row,) = await service.fetch("SELECT matched_by, target_id FROM observation")
    assert (row["matched_by"], row["target_id"]) == ("position", vega)
    copy = await copy_of(service)
    assert str(vega) in copy
    assert str(odd) not in copy
    assert str(wild) not in copy


async def test_a_deletion_applied_before_its_import_keeps_the_target_deleted(
    service: NightLogsService,
) -> None:
    """targets.imported and target.changed are events of different aggregates, in no order between them."""
    lp1 = await programme(service, "LP-1")
    gone, edited, marker = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await service.publish(changed(lp1, gone, "deleted", None), str(lp1))
    await service.publish(
        changed(lp1, edited, "updated", TargetSnapshot(edited, "Deneb B", 310.358, 45.28)), str(lp1)
    )
    await targets(
        service,
        lp1,
        "LP-1",
        [
            TargetSnapshot(gone, "Gone", 10.0, 10.0),
            TargetSnapshot(edited, "Deneb", 310.358, 45.28),
            TargetSnapshot(marker, "Marker", 20.0, 20.0),
        ],
    )
    async with service.running():
        await eventually(lambda: _has(service, marker))
        await eventually(service.drained)
    copy = await copy_of(service)
    assert str(gone) not in copy
    assert copy[str(edited)] == ("Deneb B", None)  # the later change stands over the earlier import
    # a change arriving after the deletion does not bring the target back either
    await service.publish(changed(lp1, gone, "updated", TargetSnapshot(gone, "Gone", 10.0, 10.0)), str(lp1))
    async with service.running():
        await eventually(service.drained)
    assert str(gone) not in await copy_of(service)


async def test_an_observation_logged_before_its_targets_is_matched_when_they_arrive(
    service: NightLogsService,
) -> None:
    obsportal = InstalledService(
        OBSPORTAL, obsportal_app, service.admin_dsn, service.nats_url, service.tokens, service.js
    )
    await obsportal.install()
    lp1 = await programme(service, "LP-1")
    vega = uuid.uuid4()
    ada = obsportal.auth("ada", "nightlogs:read")  # the PI: sees the programme's proprietary exposures
    try:
        async with service.running() as client, obsportal.running() as portal:
            await eventually(lambda: obsportal.scalar("SELECT count(*) FROM programme_rights"))
            # logged before the targets reach nightlogs: by name, and by place on another night
            by_name = await post_log(client, service, csv_log(line("Vega", 3.0)))
            by_place = await post_log(
                client, service, json_log("Unnamed", 3.0, *VEGA, night=EARLIER), EARLIER, media=JSON
            )
            assert (by_name.json()["unmatched"], by_place.json()["unmatched"]) == (1, 1)
            (named,), (placed,) = by_name.json()["added"], by_place.json()["added"]

            await targets(service, lp1, "LP-1", [TargetSnapshot(vega, "Vega", *VEGA)])

            async def matched() -> list[Any]:
                return await service.fetch(
                    "SELECT id, matched_by, programme, target_id FROM observation"
                    " WHERE matched_by <> 'none' ORDER BY night"
                )

            rows = await eventually(lambda: _count(matched, 2))
            assert [(str(r["id"]), r["matched_by"], r["programme"], r["target_id"]) for r in rows] == [
                (placed, "position", "LP-1", vega),
                (named, "name", "LP-1", vega),
            ]
            # each observation's event again: the next version of its aggregate, the same log version
            events = await outbox_rows(service, "nightlogs.observation.logged")
            again = {
                r["aggregate_id"]: (r["aggregate_version"], msgspec.json.decode(r["payload"])) for r in events
            }
            for observation, how in ((named, "name"), (placed, "position")):
                version, payload = again[observation]
                assert version == 2
                assert (payload["matched_by"], payload["programme"], payload["target_id"]) == (
                    how,
                    "LP-1",
                    str(vega),
                )
                assert payload["log_version"] == 1
                assert len(payload["baselines"]) == (6 if how == "position" else 15)

            # the L0 view follows: both exposures are the programme's now
            async def exposures() -> list[Any]:
                answer = await portal.get("/obsportal/exposures", headers=ada)
                assert answer.status_code == 200, answer.text
                items = answer.json()["items"]
                return items if len(items) == 2 and all(e["programme"] == "LP-1" for e in items) else []

            shown = await eventually(exposures)
            assert sorted(e["observation_id"] for e in shown) == sorted([named, placed])
    finally:
        await obsportal.close()


async def _has(service: NightLogsService, target_id: uuid.UUID) -> bool:
    return bool(await service.scalar("SELECT count(*) FROM programme_target WHERE target_id = $1", target_id))


async def _count(read: Any, n: int) -> Any:
    rows = await read()
    return rows if len(rows) == n else None


async def test_a_name_ambiguous_observation_is_matched_when_its_programme_s_target_arrives(
    service: NightLogsService,
) -> None:
    lp1, lp2, lp3 = [await programme(service, code) for code in ("LP-1", "LP-2", "LP-3")]
    await targets(service, lp1, "LP-1", [TargetSnapshot(uuid.uuid4(), "Twin", 10.0, 10.0)])
    await targets(service, lp2, "LP-2", [TargetSnapshot(uuid.uuid4(), "Twin", 200.0, -10.0)])
    twin = uuid.uuid4()
    async with service.running() as client:
        await eventually(lambda: _count(lambda: service.fetch("SELECT 1 FROM programme_target"), 2))
        # two programmes have a Twin, the log's PROGRAM names a third: ambiguous, no place to decide
        posted = await post_log(client, service, csv_log(line("Twin", 3.0, program="LP-3")))
        assert posted.json()["unmatched"] == 1
        await targets(service, lp3, "LP-3", [TargetSnapshot(twin, "Twin", 100.0, 30.0)])

        async def matched() -> list[Any]:
            return await service.fetch(
                "SELECT matched_by, programme, target_id FROM observation WHERE programme IS NOT NULL"
            )

        (row,) = await eventually(lambda: _count(matched, 1))
    assert (row["matched_by"], row["programme"], row["target_id"]) == ("name", "LP-3", twin)
