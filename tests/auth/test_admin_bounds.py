"""The admin API's inputs that travel in the auth events have the events' bounds (spicadb_contracts.bounds):
beyond them, a 400 naming the field, and no row, no audit, no event (issue 12)."""

from __future__ import annotations

from typing import Any

import pytest
from auth_support import AuthService

from spicadb_contracts.bounds import FEW_ITEMS, REDIRECT_URIS

PIPELINE = {"client_id": "pipeline", "scopes": ["oifits:read"], "grant_types": ["client_credentials"]}
WEB = {"client_id": "web", "scopes": ["openid"], "grant_types": ["authorization_code"]}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/admin/clients", {**PIPELINE, "scopes": ["oifits:read"] * (FEW_ITEMS + 1)}, "body.scopes"),
        ("/admin/clients", {**PIPELINE, "client_id": "pipeline\n"}, "body.client_id"),
        (
            "/admin/clients",
            {**WEB, "redirect_uris": [f"https://app.example/cb{i}" for i in range(REDIRECT_URIS + 1)]},
            "body.redirect_uris",
        ),
        (
            "/admin/clients",
            {**WEB, "redirect_uris": ["https://app.example/" + "x" * 3000]},
            "body.redirect_uris[0]",
        ),
        ("/admin/users", {"username": "spica\n", "roles": []}, "body.username"),
        ("/admin/users", {"username": "spica", "roles": ["reader"] * (FEW_ITEMS + 1)}, "body.roles"),
        ("/admin/users", {"username": "spica", "password": "p" * 5000}, "body.password"),
    ],
)
async def test_an_input_beyond_its_event_bound_is_refused(
    auth: AuthService, path: str, body: dict[str, Any], field: str
) -> None:
    async with auth.running() as browser:
        admin = await browser.admin_token()
        audit_before, events_before = await auth.audit_count(), len(await auth.outbox_types())
        answer = await browser.admin("POST", path, admin, json=body)
        assert answer.status_code == 400, answer.text
        assert field in [e["field"] for e in answer.json()["errors"]]
        assert await auth.audit_count() == audit_before
        assert len(await auth.outbox_types()) == events_before
