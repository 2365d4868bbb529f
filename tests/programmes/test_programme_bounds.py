"""A programme's fields that travel in its events have the events' bounds (spicadb_contracts.bounds): beyond
them a 4xx naming the field, and no event (issue 12)."""

from __future__ import annotations

from typing import Any

import pytest
from programmes_support import ProgrammesService, create_programme, outbox

from spicadb_contracts.bounds import IDENTIFIER_LENGTH, MEMBERS, NAME_LENGTH

BODIES = {
    "a title with a line break": ({"title": "Giants\nand dwarfs"}, "body.title"),
    "a title too long": ({"title": "T" * (NAME_LENGTH + 1)}, "body.title"),
    "a member's name too long": (
        {"members": [{"username": "u" * (IDENTIFIER_LENGTH + 1), "role": "viewer"}]},
        "body.members[0].username",
    ),
    "too many members": (
        {"members": [{"username": f"u{i}", "role": "viewer"} for i in range(MEMBERS)]},
        "body.members",
    ),
}


@pytest.mark.parametrize("case", list(BODIES))
async def test_a_programme_beyond_its_event_bounds_is_refused(service: ProgrammesService, case: str) -> None:
    extra, field = BODIES[case]
    body: dict[str, Any] = {"code": "LP-1", "title": "Programme LP-1", **extra}
    async with service.running() as client:
        refused = await client.post("/programmes/", json=body, headers=service.auth("ada"))
    assert refused.status_code == 400, refused.text
    assert field in [e["field"] for e in refused.json()["errors"]]
    assert await outbox(service, "programmes.programme.created") == []


async def test_a_programme_has_at_most_as_many_members_as_its_events_carry(
    service: ProgrammesService,
) -> None:
    ada = service.auth("ada")
    async with service.running() as client:
        members = [(f"u{i}", "viewer") for i in range(MEMBERS - 2)]
        await create_programme(client, service, "LP-1", members=members)
        last = await client.put(
            "/programmes/LP-1/members/eve", json={"username": "eve", "role": "viewer"}, headers=ada
        )
        assert last.status_code == 200, last.text
        assert len(last.json()) == MEMBERS
        refused = await client.put(
            "/programmes/LP-1/members/zoe", json={"username": "zoe", "role": "viewer"}, headers=ada
        )
        changed = await client.put(
            "/programmes/LP-1/members/eve", json={"username": "eve", "role": "observer"}, headers=ada
        )
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith("/too-many-members")
    assert changed.status_code == 200, changed.text  # a member's new role is no new member
    events = await outbox(service, "programmes.programme.membership_changed")
    assert [len(e["members"]) for e in events] == [MEMBERS, MEMBERS]


async def test_a_programme_may_not_be_named_admin(service: ProgrammesService) -> None:
    # /programmes/admin/ is the kit's operator routes at the gateway (admin scope only): a programme of
    # that code would be out of its members' reach
    async with service.running() as client:
        refused = await client.post(
            "/programmes/", json={"code": "admin", "title": "Operators"}, headers=service.auth("ada")
        )
        kept = await client.post(
            "/programmes/", json={"code": "admin-2", "title": "Operators"}, headers=service.auth("ada")
        )
    assert refused.status_code == 400, refused.text
    assert "body.code" in [e["field"] for e in refused.json()["errors"]]
    assert kept.status_code == 201, kept.text
    assert [e["code"] for e in await outbox(service, "programmes.programme.created")] == ["admin-2"]
