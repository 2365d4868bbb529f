"""First start with the operator's secrets (SPICADB_BOOTSTRAP_SECRETS, a Kubernetes Secret mounted in
every auth replica): two replicas starting at once on one database create one set of accounts with
those secrets, which work at /oauth/token and at the login page, and neither writes credentials.json."""

from __future__ import annotations

import asyncio
import secrets
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from auth_support import AuthService, Browser
from spicadb_auth.services.bootstrap import ROBOTS
from spicadb_auth.services.supplied import SuppliedSecretsError

pytestmark = pytest.mark.timeout(120)


def supplied_folder(path: Path) -> dict[str, str]:
    """A folder as a mounted Secret gives it: one file per key (a trailing newline, as from a file)."""
    path.mkdir(parents=True)
    values = {"admin-password": secrets.token_urlsafe(24)}
    values |= {f"{robot}-client-secret": secrets.token_urlsafe(36) for robot in ROBOTS}
    for name, value in values.items():
        (path / name).write_text(value + "\n")
    return values


async def test_two_replicas_bootstrap_once_with_the_supplied_secrets(
    auth: AuthService, tmp_path: Path
) -> None:
    folder = tmp_path / "bootstrap-secret"
    values = supplied_folder(folder)
    async with AsyncExitStack() as stack:
        browsers: list[Browser] = list(
            await asyncio.gather(
                *(
                    stack.enter_async_context(
                        auth.running(data=str(tmp_path / f"replica-{n}"), bootstrap_secrets=str(folder))
                    )
                    for n in (1, 2)
                )
            )
        )
        assert await auth.scalar("SELECT count(*) FROM account WHERE username = 'admin'") == 1
        assert await auth.scalar("SELECT count(*) FROM client") == len(ROBOTS) + 2
        created = await auth.scalar("SELECT count(*) FROM outbox WHERE event_type LIKE '%client.created%'")
        assert created == len(ROBOTS) + 2, "one ClientCreated per client: a single bootstrap"
        for browser in browsers:  # each replica takes the supplied secrets
            for robot, scope in ROBOTS.items():
                async with browser.oauth_client(robot, values[f"{robot}-client-secret"]) as client:
                    token = await client.fetch_token(
                        browser.url("/oauth/token"), grant_type="client_credentials"
                    )
                assert set(token["scope"].split()) == set(scope.split())
            admin = await browser.sign_in_with_code("admin", values["admin-password"], scope="admin")
            assert admin["access_token"]
        wrong = await browsers[0].http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=("drs", "not-the-secret")
        )
        assert wrong.status_code == 401, wrong.text
    for n in (1, 2):
        assert not (tmp_path / f"replica-{n}").exists() or not list((tmp_path / f"replica-{n}").iterdir())
    assert not auth.credentials_file.exists()


async def test_a_later_start_keeps_the_accounts_whatever_the_folder_says(
    auth: AuthService, tmp_path: Path
) -> None:
    folder = tmp_path / "bootstrap-secret"
    values = supplied_folder(folder)
    async with auth.running(bootstrap_secrets=str(folder)):
        pass
    (folder / "drs-client-secret").write_text(secrets.token_urlsafe(36))
    async with auth.running(bootstrap_secrets=str(folder)) as browser:
        assert await auth.scalar("SELECT count(*) FROM client") == len(ROBOTS) + 2
        async with browser.oauth_client("drs", values["drs-client-secret"]) as client:
            token = await client.fetch_token(browser.url("/oauth/token"), grant_type="client_credentials")
        assert token["access_token"], "the first start's secret stays until an admin rotates it"


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ("missing", "scheduler-client-secret: missing"),
        ("short", "admin-password: 5 characters, at least 16 needed"),
        ("spaces", "drs-client-secret: not a secret"),
    ],
)
async def test_a_broken_folder_stops_the_start_and_creates_nothing(
    auth: AuthService, tmp_path: Path, broken: str, message: str
) -> None:
    folder = tmp_path / "bootstrap-secret"
    supplied_folder(folder)
    if broken == "missing":
        (folder / "scheduler-client-secret").unlink()
    elif broken == "short":
        (folder / "admin-password").write_text("short\n")
    else:
        (folder / "drs-client-secret").write_text("two words " + "x" * 40)
    with pytest.raises(BaseException) as caught:  # noqa: PT011 (the lifespan may wrap it in a group)
        async with auth.running(bootstrap_secrets=str(folder)):
            pass
    assert message in _messages(caught.value), _messages(caught.value)
    assert await auth.scalar("SELECT count(*) FROM client") == 0
    assert await auth.scalar("SELECT count(*) FROM account") == 0


def _messages(exc: BaseException) -> str:
    """Every message in an exception's chain and groups (the lifespan may wrap the startup's)."""
    found: list[str] = []
    stack = [exc]
    while stack:
        current = stack.pop()
        if isinstance(current, SuppliedSecretsError):
            found.append(str(current))
        stack += getattr(current, "exceptions", [])
        stack += [e for e in (current.__cause__, current.__context__) if e is not None]
    return "\n".join(found)
