"""An admin attaches an observation to a programme (issue 12: science data of no programme were never
released, and nobody could place them): the observation is the programme's, its members see it, its
observation.logged is published again with the programme for the views; a non-admin gets 403."""

from __future__ import annotations

from nightlogs_support import NightLogsService, copied, csv_log, line, outbox, post_log, problem, programme


async def test_an_admin_attaches_an_observation_to_a_programme(service: NightLogsService) -> None:
    await programme(service, "LP-1", pi="ada", members=["bob"], months=18)
    admin = service.auth("root", "admin")
    async with service.running() as client:
        await copied(service, programmes=1)
        posted = await post_log(client, service, csv_log(line("HD 99999", 3.0, program="")))
        assert posted.status_code == 201, posted.text
        (observation_id,) = posted.json()["added"]
        path = f"/nightlogs/observations/{observation_id}"
        assert (await client.get(path, headers=service.auth("bob"))).status_code == 404
        refused = await client.put(
            f"{path}/programme", json={"programme": "LP-1"}, headers=service.auth("bob")
        )
        unknown = await client.put(f"{path}/programme", json={"programme": "LP-9"}, headers=admin)
        missing = await client.put(
            f"/nightlogs/observations/{observation_id[:-4]}0000/programme", json={"programme": "LP-1"},
            headers=admin,
        )  # fmt: skip
        attached = await client.put(f"{path}/programme", json={"programme": "LP-1"}, headers=admin)
        again = await client.put(f"{path}/programme", json={"programme": "LP-1"}, headers=admin)
        bob = await client.get(path, headers=service.auth("bob"))
        eve = await client.get(path, headers=service.auth("eve"))
    problem(refused, 403)
    assert "body.programme" in [e["field"] for e in problem(unknown, 422)["errors"]]
    problem(missing, 404)
    assert attached.status_code == 200, attached.text
    assert attached.json()["programme"] == "LP-1"
    assert again.status_code == 200
    assert bob.status_code == 200
    assert eve.status_code == 404
    logged = await outbox(service, "nightlogs.observation.logged")
    assert [e["programme"] for e in logged] == [None, "LP-1"]
    assert logged[1]["log_version"] == logged[0]["log_version"]
    assert logged[1]["target_name"] == "HD 99999"


async def test_the_attachment_stands_when_a_corrected_log_matches_the_line_again(
    service: NightLogsService,
) -> None:
    await programme(service, "LP-1", pi="ada", members=["bob"], months=18)
    admin = service.auth("root", "admin")
    async with service.running() as client:
        await copied(service, programmes=1)
        first = await post_log(client, service, csv_log(line("HD 99999", 3.0, program="")))
        (observation_id,) = first.json()["added"]
        attached = await client.put(
            f"/nightlogs/observations/{observation_id}/programme", json={"programme": "LP-1"}, headers=admin
        )
        assert attached.status_code == 200, attached.text
        # the same line with another filter cell: the observation changes and is matched again (nothing)
        corrected = csv_log(line("HD 99999", 3.0, program="").replace(",1,2,3,", ",1,2,9,"))
        second = await post_log(client, service, corrected)
        assert second.status_code == 201, second.text
        assert second.json()["changed"] == [observation_id]
        bob = await client.get(f"/nightlogs/observations/{observation_id}", headers=service.auth("bob"))
    assert bob.status_code == 200
    assert bob.json()["programme"] == "LP-1"
    logged = await outbox(service, "nightlogs.observation.logged")
    assert [e["programme"] for e in logged] == [None, "LP-1", "LP-1"]
