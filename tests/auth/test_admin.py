"""The admin API: secrets shown once, rotation, disabling, accounts and roles; every change
audited and announced in the same transaction, and a refused request leaves no trace."""

from __future__ import annotations

from typing import Any

import pytest
from auth_support import AuthService, Browser
from authlib.integrations.base_client import OAuthError

EVENT = "org.jmmc.spicadb.auth.{}.v1"
PIPELINE = {
    "client_id": "pipeline",
    "scopes": ["oifits:read", "tap:query"],
    "grant_types": ["client_credentials"],
}


async def token_for(browser: Browser, client_id: str, secret: str) -> dict[str, Any]:
    async with browser.oauth_client(client_id, secret) as client:
        return dict(await client.fetch_token(browser.url("/oauth/token"), grant_type="client_credentials"))


async def test_a_new_clients_secret_is_shown_once_and_works(auth: AuthService) -> None:
    async with auth.running() as browser:
        admin = await browser.admin_token()
        created = await browser.admin("POST", "/admin/clients", admin, json=PIPELINE)
        assert created.status_code == 201, created.text
        secret = created.json()["client_secret"]
        assert secret
        assert len(secret) >= 40

        shown = await browser.admin("GET", "/admin/clients/pipeline", admin)
        listed = await browser.admin("GET", "/admin/clients", admin)
        for body in (shown.text, listed.text):
            assert secret not in body
            assert "client_secret" not in body
        assert shown.json()["scopes"] == ["oifits:read", "tap:query"]
        stored = await auth.scalar("SELECT secret_hash FROM client WHERE client_id = 'pipeline'")
        assert secret not in stored

        token = await token_for(browser, "pipeline", secret)
        assert (await (await browser.verifier()).verify(token["access_token"])).scopes == {
            "oifits:read",
            "tap:query",
        }


async def test_rotating_a_secret_invalidates_the_old_one(auth: AuthService) -> None:
    async with auth.running() as browser:
        admin = await browser.admin_token()
        old = (await browser.admin("POST", "/admin/clients", admin, json=PIPELINE)).json()["client_secret"]
        rotated = await browser.admin("POST", "/admin/clients/pipeline/secret", admin)
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["client_secret"]
        assert new != old

        with pytest.raises(OAuthError) as refused:
            await token_for(browser, "pipeline", old)
        assert refused.value.error == "invalid_client"
        assert (await token_for(browser, "pipeline", new))["access_token"]
        assert EVENT.format("client.secret_rotated") in await auth.outbox_types()


async def test_a_disabled_client_cannot_get_tokens_and_its_tokens_are_revoked(auth: AuthService) -> None:
    async with auth.running() as browser:
        admin = await browser.admin_token()
        drs = browser.service.credentials()["clients"]["drs"]
        held = await browser.robot_token("drs")
        disabled = await browser.admin("POST", "/admin/clients/drs/disable", admin)
        assert disabled.status_code == 200
        assert disabled.json()["disabled"] is True

        with pytest.raises(OAuthError) as refused:
            await token_for(browser, "drs", drs["client_secret"])
        assert refused.value.error == "invalid_client"
        assert (
            await auth.scalar(
                "SELECT reason FROM revoked_token WHERE jti = $1",
                (await (await browser.verifier()).verify(held["access_token"])).token_id,
            )
            == "client_disabled"
        )


async def test_changes_are_audited_and_announced(auth: AuthService) -> None:
    async with auth.running() as browser:
        admin = await browser.admin_token()
        audit_before, events_before = await auth.audit_count(), len(await auth.outbox_types())

        await browser.admin("POST", "/admin/clients", admin, json=PIPELINE)
        await browser.admin("POST", "/admin/users", admin, json={"username": "altair", "roles": ["reader"]})
        await browser.admin("PUT", "/admin/users/altair/roles", admin, json={"roles": ["reader", "operator"]})
        await browser.admin("POST", "/admin/users/altair/disable", admin)

        rows = await auth.rows(
            "SELECT actor, actor_client, action, target_id, before, after FROM audit ORDER BY id"
        )
        recent = rows[audit_before:]
        assert [(r["action"], r["target_id"]) for r in recent] == [
            ("client.create", "pipeline"),
            ("user.create", "altair"),
            ("user.set_roles", "altair"),
            ("user.disable", "altair"),
        ]
        assert {r["actor"] for r in recent} == {"admin"}
        assert {r["actor_client"] for r in recent} == {"spica-frontend"}
        assert recent[2]["before"]["roles"] == ["reader"]
        assert recent[2]["after"]["roles"] == ["operator", "reader"]
        assert (await auth.outbox_types())[events_before:] == [
            EVENT.format("client.created"),
            EVENT.format("user.created"),
            EVENT.format("user.roles_changed"),
            EVENT.format("user.disabled"),
        ]
        # nothing secret in the audit or the events
        for row in recent:
            assert "secret" not in str(row["after"])
            assert "password" not in str(row["after"])
        payloads = [r["payload"].decode() for r in await auth.rows("SELECT payload FROM outbox")]
        assert not any("secret" in p or "hash" in p or "password" in p for p in payloads)

        audit = await browser.admin("GET", "/admin/audit", admin, params={"target_id": "altair"})
        assert [a["action"] for a in audit.json()] == ["user.disable", "user.set_roles", "user.create"]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/admin/clients", {**PIPELINE, "client_id": "drs"}, 409),  # exists already
        ("/admin/clients", {**PIPELINE, "scopes": ["oifits:read", "stars:steal"]}, 422),
        (
            "/admin/clients",
            {
                "client_id": "web",
                "scopes": ["openid"],
                "grant_types": ["authorization_code"],
                "redirect_uris": ["http://app.example/cb"],
            },
            422,
        ),  # http off loopback
        ("/admin/clients", {**PIPELINE, "surprise": True}, 400),
        ("/admin/users", {"username": "admin", "roles": []}, 409),
        ("/admin/users", {"username": "spica", "roles": ["emperor"]}, 422),
        ("/admin/users", {"username": "spica", "password": "short"}, 422),
        ("/admin/users/nobody/disable", None, 404),
        ("/admin/clients/nobody/secret", None, 404),
        ("/admin/clients/spica-frontend/secret", None, 409),  # a public client has no secret
    ],
)
async def test_a_refused_change_leaves_no_audit_row_and_no_event(
    auth: AuthService, path: str, body: dict[str, Any] | None, status: int
) -> None:
    async with auth.running() as browser:
        admin = await browser.admin_token()
        audit_before, events_before = await auth.audit_count(), len(await auth.outbox_types())
        clients_before = await auth.scalar("SELECT count(*) FROM client")

        answer = await browser.admin("POST", path, admin, json=body)

        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["status"] == status
        assert await auth.audit_count() == audit_before
        assert len(await auth.outbox_types()) == events_before
        assert await auth.scalar("SELECT count(*) FROM client") == clients_before


async def test_the_admin_api_needs_the_admin_scope(auth: AuthService) -> None:
    async with auth.running() as browser:
        robot = (await browser.robot_token("drs"))["access_token"]
        refused = await browser.admin("POST", "/admin/clients", robot, json=PIPELINE)
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        anonymous = await browser.http.get("/admin/clients")
        assert anonymous.status_code == 401
        assert await auth.scalar("SELECT count(*) FROM client WHERE client_id = 'pipeline'") == 0


async def test_accounts_roles_and_the_scope_catalogue(auth: AuthService) -> None:
    async with auth.running() as browser:
        admin = await browser.admin_token()
        created = await browser.admin(
            "POST", "/admin/users", admin, json={"username": "altair", "roles": ["reader"]}
        )
        assert created.status_code == 201
        password = created.json()["password"]  # generated, shown once
        assert password
        assert "password" not in (await browser.admin("GET", "/admin/users/altair", admin)).json()

        reader = await browser.sign_in_with_code(
            "altair", password, scope="openid programmes:read programmes:write"
        )
        assert set(reader["scope"].split()) == {"openid", "programmes:read"}

        admin = await browser.admin_token()
        changed = await browser.admin(
            "PUT", "/admin/users/altair/roles", admin, json={"roles": ["astronomer"]}
        )
        assert changed.json()["roles"] == ["astronomer"]
        astronomer = await browser.sign_in_with_code(
            "altair", password, scope="openid programmes:read programmes:write"
        )
        assert set(astronomer["scope"].split()) == {"openid", "programmes:read", "programmes:write"}

        admin = await browser.admin_token()
        catalogue = (await browser.admin("GET", "/admin/scopes", admin)).json()
        names = {s["name"] for s in catalogue["scopes"]}
        assert {"programmes:read", "oifits:push", "tap:query", "admin", "openid"} <= names
        roles = {r["name"]: set(r["scopes"]) for r in catalogue["roles"]}
        assert roles["admin"] == names


async def test_a_disabled_client_can_be_enabled_again(auth: AuthService) -> None:
    async with auth.running() as browser:
        admin = await browser.admin_token()
        created = await browser.admin("POST", "/admin/clients", admin, json=PIPELINE)
        secret = created.json()["client_secret"]
        assert (await browser.admin("POST", "/admin/clients/pipeline/disable", admin)).status_code == 200
        with pytest.raises(OAuthError):
            await token_for(browser, "pipeline", secret)

        enabled = await browser.admin("POST", "/admin/clients/pipeline/enable", admin)
        assert enabled.status_code == 200, enabled.text
        assert enabled.json()["disabled"] is False
        assert (await token_for(browser, "pipeline", secret))["access_token"]
        # enabling an enabled client changes nothing
        audit_before, events_before = await auth.audit_count(), len(await auth.outbox_types())
        assert (await browser.admin("POST", "/admin/clients/pipeline/enable", admin)).status_code == 200
        assert (await auth.audit_count(), len(await auth.outbox_types())) == (audit_before, events_before)

        audit = await auth.rows(
            "SELECT action, before, after FROM audit WHERE target_id = 'pipeline' ORDER BY id"
        )
        assert [a["action"] for a in audit] == ["client.create", "client.disable", "client.enable"]
        assert (audit[-1]["before"]["disabled"], audit[-1]["after"]["disabled"]) == (True, False)
        assert (await auth.outbox_types())[-2:] == [
            EVENT.format("client.disabled"),
            EVENT.format("client.enabled"),
        ]
        missing = await browser.admin("POST", "/admin/clients/nobody/enable", admin)
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"


async def test_a_disabled_account_can_be_enabled_again(auth: AuthService) -> None:
    async with auth.running() as browser:
        admin = await browser.admin_token()
        person = {"username": "deneb", "roles": ["reader"], "password": "deneb's long password"}
        assert (await browser.admin("POST", "/admin/users", admin, json=person)).status_code == 201
        assert (await browser.admin("POST", "/admin/users/deneb/disable", admin)).status_code == 200
        with pytest.raises(AssertionError):  # the login page refuses a disabled account (no redirect)
            await browser.sign_in_with_code("deneb", person["password"])

        enabled = await browser.admin("POST", "/admin/users/deneb/enable", admin)
        assert enabled.status_code == 200, enabled.text
        assert enabled.json()["disabled"] is False
        assert (await browser.sign_in_with_code("deneb", person["password"]))["access_token"]
        # enabling an enabled account changes nothing
        admin = await browser.admin_token()
        audit_before, events_before = await auth.audit_count(), len(await auth.outbox_types())
        assert (await browser.admin("POST", "/admin/users/deneb/enable", admin)).status_code == 200
        assert (await auth.audit_count(), len(await auth.outbox_types())) == (audit_before, events_before)

        audit = await auth.rows(
            "SELECT action, before, after FROM audit WHERE target_id = 'deneb' ORDER BY id"
        )
        assert [a["action"] for a in audit] == ["user.create", "user.disable", "user.enable"]
        assert (audit[-1]["before"]["disabled"], audit[-1]["after"]["disabled"]) == (True, False)
        types = await auth.outbox_types()
        assert types.index(EVENT.format("user.enabled")) > types.index(EVENT.format("user.disabled"))
        missing = await browser.admin("POST", "/admin/users/nobody/enable", admin)
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("client_id", ["spica-gateway", "spica-frontend"])
async def test_the_clients_people_sign_in_through_cannot_be_disabled(
    auth: AuthService, client_id: str
) -> None:
    async with auth.running() as browser:
        admin = await browser.admin_token()
        audit_before, events_before = await auth.audit_count(), len(await auth.outbox_types())

        refused = await browser.admin("POST", f"/admin/clients/{client_id}/disable", admin)

        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"].endswith("/protected-client")
        assert client_id in refused.json()["detail"]
        assert await auth.scalar("SELECT disabled_at FROM client WHERE client_id = $1", client_id) is None
        assert (await auth.audit_count(), len(await auth.outbox_types())) == (audit_before, events_before)
        # people still sign in
        assert (await browser.admin_token_set())["access_token"]


async def admin_robot(browser: Browser, admin: str) -> str:
    """A token of a robot client holding the admin scope (an actor that is not the admin account)."""
    created = await browser.admin(
        "POST",
        "/admin/clients",
        admin,
        json={"client_id": "ops", "scopes": ["admin"], "grant_types": ["client_credentials"]},
    )
    assert created.status_code == 201, created.text
    return str((await token_for(browser, "ops", created.json()["client_secret"]))["access_token"])


async def test_the_last_admin_cannot_be_disabled_or_demoted(auth: AuthService) -> None:
    async with auth.running() as browser:
        admin = await browser.admin_token()
        ops = await admin_robot(browser, admin)
        audit_before, events_before = await auth.audit_count(), len(await auth.outbox_types())

        disabled = await browser.admin("POST", "/admin/users/admin/disable", ops)
        demoted = await browser.admin("PUT", "/admin/users/admin/roles", admin, json={"roles": ["reader"]})

        for refused in (disabled, demoted):
            assert refused.status_code == 409, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["type"].endswith("/last-admin")
        assert await auth.scalar("SELECT roles FROM account WHERE username = 'admin'") == ["admin"]
        assert await auth.scalar("SELECT disabled_at FROM account WHERE username = 'admin'") is None
        assert (await auth.audit_count(), len(await auth.outbox_types())) == (audit_before, events_before)

        # with a second admin, the first may step down
        created = await browser.admin(
            "POST",
            "/admin/users",
            admin,
            json={"username": "vega", "roles": ["admin"], "password": "vega password 1"},
        )
        assert created.status_code == 201
        demoted = await browser.admin("PUT", "/admin/users/admin/roles", admin, json={"roles": ["reader"]})
        assert demoted.status_code == 200, demoted.text
        # ... and then vega is the last one
        vega_disabled = await browser.admin("POST", "/admin/users/vega/disable", ops)
        assert vega_disabled.status_code == 409, vega_disabled.text


async def test_the_admin_routes_document_their_error_answers(auth: AuthService) -> None:
    async with auth.running() as browser:
        document = (await browser.http.get("/openapi.json")).json()
        operations = {
            (path, method): operation
            for path, item in document["paths"].items()
            if path.startswith("/admin/")
            for method, operation in item.items()
        }
        assert operations
        for (path, method), operation in operations.items():
            answers = operation["responses"]
            for status in ("401", "403"):
                assert status in answers, (path, method, status)
                assert "application/problem+json" in answers[status]["content"], (path, method, status)
            if "{" in path:
                assert "404" in answers, (path, method)
            if method in ("post", "put") and "{" not in path:
                assert "409" in answers or path == "/admin/keys/rotate", (path, method)
        for path, method, status in (
            ("/admin/clients", "post", "422"),
            ("/admin/clients", "post", "400"),
            ("/admin/users", "post", "422"),
            ("/admin/users/{username}/roles", "put", "409"),
            ("/admin/users/{username}/disable", "post", "409"),
            ("/admin/clients/{client_id}/disable", "post", "409"),
            ("/admin/clients/{client_id}/enable", "post", "404"),
            ("/admin/users/{username}/enable", "post", "404"),
        ):
            assert status in operations[(path, method)]["responses"], (path, method, status)
