"""The proposal lifecycle: draft -> submitted -> under-review -> accepted | rejected, withdrawn,
accepted -> active -> completed. Each move is recorded (who, when) and announced; the committee's
decisions are the admin's; a move the lifecycle does not allow changes nothing."""

from __future__ import annotations

from datetime import datetime

import msgspec
from harness import eventually
from programmes_support import ADMIN, ProgrammesService, create_programme, now, outbox, problem

from spicadb_contracts.programmes import ProposalStatusChanged

PROPOSAL = {"period": "2026A", "title": "Stellar diameters", "requested_hours": 12.5}


async def move(client, service: ProgrammesService, to: str, user: str = "ada", period: str = "2026A"):  # type: ignore[no-untyped-def]
    headers = service.auth(user, "admin") if user == ADMIN else service.auth(user)
    return await client.post(
        f"/programmes/LP-1/proposals/{period}/transitions",
        json={"to": to, "comment": f"to {to}"},
        headers=headers,
    )


async def test_a_proposal_goes_from_draft_to_completed_and_every_move_is_recorded(
    service: ProgrammesService,
) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        started = now()
        created = await client.post("/programmes/LP-1/proposals", json=PROPOSAL, headers=service.auth("ada"))
        assert created.status_code == 201, created.text
        assert created.json()["status"] == "draft"

        path = [
            ("submitted", "ada"),
            ("under-review", ADMIN),
            ("accepted", ADMIN),
            ("active", ADMIN),
            ("completed", "ada"),
        ]
        for to, user in path:
            moved = await move(client, service, to, user)
            assert moved.status_code == 200, moved.text
            assert moved.json()["status"] == to

        shown = await client.get("/programmes/LP-1/proposals/2026A", headers=service.auth("ada"))
        assert shown.status_code == 200
        history = shown.json()["history"]
        assert [(h["from_status"], h["to_status"], h["changed_by"]) for h in history] == [
            ("draft", "submitted", "ada"),
            ("submitted", "under-review", ADMIN),
            ("under-review", "accepted", ADMIN),
            ("accepted", "active", ADMIN),
            ("active", "completed", "ada"),
        ]
        assert all(h["comment"] == f"to {h['to_status']}" for h in history)
        times = [datetime.fromisoformat(h["changed_at"]) for h in history]
        assert times == sorted(times)
        assert started <= times[0] <= now()

        # the listing shows the same history, and an active proposal started the programme
        listed = (await client.get("/programmes/LP-1/proposals", headers=service.auth("ada"))).json()
        assert [p["history"] for p in listed] == [history]
        programme = (await client.get("/programmes/LP-1", headers=service.auth("ada"))).json()
        assert programme["status"] == "active"

        # the relay published them: the last one is on the programmes stream
        subject = ProposalStatusChanged.subject()
        await eventually(lambda: service.scalar("SELECT bool_and(published_at IS NOT NULL) FROM outbox"))
        last = await service.js.get_last_msg("SPICADB_PROGRAMMES", subject)
        assert msgspec.json.decode(last.data)["to_status"] == "completed"

    events = await outbox(service, "programmes.proposal.status_changed")
    assert [(e["from_status"], e["to_status"], e["changed_by"]) for e in events] == [
        (h["from_status"], h["to_status"], h["changed_by"]) for h in history
    ]
    assert {(e["code"], e["period"]) for e in events} == {("LP-1", "2026A")}


async def test_rejected_and_withdrawn_proposals_are_final(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        for period in ("2026A", "2026B"):
            body = {**PROPOSAL, "period": period}
            assert (
                await client.post("/programmes/LP-1/proposals", json=body, headers=service.auth("ada"))
            ).status_code == 201

        assert (await move(client, service, "submitted", period="2026A")).status_code == 200
        assert (await move(client, service, "under-review", ADMIN, period="2026A")).status_code == 200
        assert (await move(client, service, "rejected", ADMIN, period="2026A")).json()["status"] == "rejected"
        assert (await move(client, service, "withdrawn", period="2026B")).json()["status"] == "withdrawn"

        for period in ("2026A", "2026B"):
            refused = problem(
                await move(client, service, "submitted", period=period), 409, "invalid-transition"
            )
            assert refused["allowed"] == []


async def test_an_invalid_transition_is_refused_with_the_allowed_moves_and_changes_nothing(
    service: ProgrammesService,
) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        await client.post("/programmes/LP-1/proposals", json=PROPOSAL, headers=service.auth("ada"))

        refused = problem(await move(client, service, "accepted", ADMIN), 409, "invalid-transition")
        assert refused["allowed"] == ["submitted", "withdrawn"]
        assert "draft" in refused["detail"]
        assert "submitted" in refused["detail"]

        shown = (await client.get("/programmes/LP-1/proposals/2026A", headers=service.auth("ada"))).json()
        assert shown["status"] == "draft"
        assert shown["history"] == []
    assert await outbox(service, "programmes.proposal.status_changed") == []


async def test_committee_decisions_need_an_admin(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        await client.post("/programmes/LP-1/proposals", json=PROPOSAL, headers=service.auth("ada"))
        assert (await move(client, service, "submitted")).status_code == 200

        problem(await move(client, service, "under-review", "ada"), 403)
        assert (await move(client, service, "under-review", ADMIN)).status_code == 200
        for decision in ("accepted", "rejected"):
            problem(await move(client, service, decision, "ada"), 403)
        assert (await move(client, service, "accepted", ADMIN)).status_code == 200
        problem(await move(client, service, "active", "ada"), 403)

        shown = (await client.get("/programmes/LP-1/proposals/2026A", headers=service.auth("ada"))).json()
        assert shown["status"] == "accepted"
        assert [h["to_status"] for h in shown["history"]] == ["submitted", "under-review", "accepted"]


async def test_a_co_investigator_does_not_move_the_proposal(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service, members=[("bob", "co-investigator")])
        await client.post("/programmes/LP-1/proposals", json=PROPOSAL, headers=service.auth("ada"))
        problem(await move(client, service, "submitted", "bob"), 403)
        shown = (await client.get("/programmes/LP-1/proposals/2026A", headers=service.auth("bob"))).json()
        assert shown["status"] == "draft"


async def test_a_proposal_period_must_be_a_semester(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        refused = problem(
            await client.post(
                "/programmes/LP-1/proposals",
                json={**PROPOSAL, "period": "2026C"},
                headers=service.auth("ada"),
            ),
            400,
        )
        assert any("period" in e["field"] for e in refused["errors"])
        listed = await client.get("/programmes/LP-1/proposals", headers=service.auth("ada"))
        assert listed.json() == []
