"""First start: the admin account, the robots and the frontend client, with their credentials
in credentials.json (mode 0600, the runtime contract's shape); a second start writes nothing."""

from __future__ import annotations

import stat

import pytest
from auth_support import FRONTEND, FRONTEND_REDIRECT, ISSUER, AuthService

ROBOT_SCOPES = {
    "drs": "oifits:push oifits:read",
    "chara-ingest": "nightlogs:write nightlogs:read",
    "scheduler": "schedule:write nightlogs:read programmes:read",
}


async def test_first_start_writes_the_credentials_file_once(auth: AuthService) -> None:
    async with auth.running() as browser:
        path = auth.credentials_file
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        creds = auth.credentials()
        assert creds["issuer"] == ISSUER
        assert creds["users"]["admin"]["username"] == "admin"
        assert creds["users"]["admin"]["roles"] == ["admin"]
        assert len(creds["users"]["admin"]["password"]) >= 20
        for name, scope in ROBOT_SCOPES.items():
            robot = creds["clients"][name]
            assert robot["client_id"] == name
            assert robot["scope"] == scope
            token = await browser.robot_token(name)
            assert set(token["scope"].split()) == set(scope.split())
        frontend = creds["clients"]["frontend"]
        assert frontend["client_id"] == FRONTEND
        assert frontend["redirect_uri"] == FRONTEND_REDIRECT
        assert "client_secret" not in frontend
        assert frontend["scope"].startswith("openid ")
        gateway = creds["clients"]["gateway"]  # the gateway's browser sessions
        assert gateway == {**gateway, "client_id": "spica-gateway", "redirect_uri": f"{ISSUER}/auth/callback"}
        assert "client_secret" not in gateway
        # secrets are stored only as digests
        for name in ROBOT_SCOPES:
            stored = await auth.scalar("SELECT secret_hash FROM client WHERE client_id = $1", name)
            assert stored != creds["clients"][name]["client_secret"]
        assert await auth.scalar("SELECT secret_hash FROM client WHERE client_id = $1", FRONTEND) is None
        assert (await auth.scalar("SELECT password_hash FROM account WHERE username = 'admin'")).startswith(
            "$argon2id$"
        )

    written = path.read_bytes()
    modified = path.stat().st_mtime_ns
    clients = await auth.scalar("SELECT count(*) FROM client")
    async with auth.running() as browser:
        assert path.read_bytes() == written
        assert path.stat().st_mtime_ns == modified
        assert await auth.scalar("SELECT count(*) FROM client") == clients
        assert (await browser.robot_token("drs"))["access_token"]
    assert not list(path.parent.glob(".credentials.json.*"))


async def test_bootstrap_can_be_switched_off(auth: AuthService) -> None:
    async with auth.running(bootstrap=False):
        assert not auth.credentials_file.exists()
        assert await auth.scalar("SELECT count(*) FROM client") == 0
        assert await auth.scalar("SELECT count(*) FROM signing_key WHERE state = 'current'") == 1


async def test_bootstrap_never_logs_a_secret(auth: AuthService, capfd: pytest.CaptureFixture[str]) -> None:
    async with auth.running():
        creds = auth.credentials()
    out, err = capfd.readouterr()
    logged = out + err
    assert str(auth.credentials_file) in logged
    assert creds["users"]["admin"]["password"] not in logged
    for robot in ROBOT_SCOPES:
        assert creds["clients"][robot]["client_secret"] not in logged
