"""schemathesis against every service's OpenAPI through the gateway, as an API client calls them: one
platform for the module (fuzz_platform: auth, programmes, nightlogs, obsportal, oifits, oidb, TAP, the
console, the gateway in front), seeded (web_console.seed), every request with the admin's access token
(issued by the auth service through the browser flow; the admin scope carries every scope) at the
gateway's origin, each service's operations as the gateway's merged document publishes them (its
paths, and the answers the gateway itself may give there: 401, 413, 429, 502, 504, a bad path's 400).
Checks (fuzz_support.CHECKS): no 5xx, every answer's status, media type and body as documented, every
error a problem document (or the media type its operation documents for that status).

The auth operations that disable, rotate or revoke run last, so that they cannot break the token of the
other runs (the admin's token survives them: the sign-in clients, one's own account and the last admin
cannot be disabled or demoted)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from fuzz_platform import differences, gateway_document, served
from fuzz_support import SETTINGS, Target
from harness import eventually
from schemathesis import Case
from spicadb_tap.app import create_app as create_tap
from spicadb_tap.spec import SPEC as TAP
from spicadb_web.services.console import last_night
from web_console import Console, open_console, seed

from spicadb_kit.infra import NatsServer, PostgresCluster

DOCUMENT = gateway_document(extra=[TAP])
ALONE = ("disableClient", "rotateClientSecret", "rotateKeys", "disableUser", "setUserRoles", "revoke")


def operations_of(service: str) -> Any:
    """The service's operations in the gateway's document (tagged with its name first)."""
    return schemathesis.openapi.from_dict(DOCUMENT).include(tag=service)


@pytest.fixture(scope="module")
def platform(
    pg_cluster: PostgresCluster, nats_server: NatsServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    data = tmp_path_factory.mktemp("fuzz-platform")

    async def prepare(console: Console) -> Target:
        token = (await seed(console))["token"]
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=console.url, headers=headers, timeout=60) as api:

            async def whole() -> dict[str, Any] | None:
                """The merged document once every service's part is in (a slow one is retried)."""
                published: dict[str, Any] = (await api.get("/openapi.json")).json()
                services = published["info"]["x-spicadb-services"].values()
                return published if all(status == "available" for status in services) else None

            published = await eventually(whole, timeout=60, interval=1.0)
            assert not differences(published, DOCUMENT), "the gateway serves another document"
            target = (await api.get("/programmes/LP-1/targets", params={"limit": 1})).json()["items"][0]
            night = last_night().isoformat()
            observations = (await api.get(f"/nightlogs/nights/CHARA/{night}")).json()["observations"]
        known = {
            "code": "LP-1", "wp": "WP1", "target_id": str(target["id"]), "site": "CHARA", "night": night,
            "observation_id": str(observations[0]["id"]), "client_id": "drs", "username": "admin",
        }  # fmt: skip
        return Target(console.url, headers, known)

    tap = (TAP, create_tap, {"data": str(data / "tap")})  # its jobs' files in the test's folder
    with served(
        lambda: open_console(
            pg_cluster,
            nats_server,
            data,
            "test",
            extra_apis=[tap],
            auth_overrides={"access_token_lifetime": 3600},  # the run takes minutes
        ),
        prepare,
    ) as target:
        yield target


@operations_of("programmes").parametrize()
@SETTINGS
def test_programmes(case: Case, platform: Target) -> None:
    platform.check(case)


@operations_of("nightlogs").parametrize()
@SETTINGS
def test_nightlogs(case: Case, platform: Target) -> None:
    platform.check(case)


@operations_of("obsportal").parametrize()
@SETTINGS
def test_obsportal(case: Case, platform: Target) -> None:
    platform.check(case)


@operations_of("oifits").parametrize()
@SETTINGS
def test_oifits(case: Case, platform: Target) -> None:
    platform.check(case)


@operations_of("oidb").parametrize()
@SETTINGS
def test_oidb(case: Case, platform: Target) -> None:
    platform.check(case)


@operations_of("tap").parametrize()
@SETTINGS
def test_tap(case: Case, platform: Target) -> None:
    """TAP queries, async jobs and VOSI, with whatever parameters and bodies the document allows."""
    platform.check(case)


@operations_of("auth").exclude(operation_id=list(ALONE)).parametrize()
@SETTINGS
def test_auth(case: Case, platform: Target) -> None:
    platform.check(case)


# (a second include would add operations, not narrow them: ALONE's names are the auth service's only)
@schemathesis.openapi.from_dict(DOCUMENT).include(operation_id=list(ALONE)).parametrize()
@SETTINGS
def test_auth_alone(case: Case, platform: Target) -> None:
    """Last: the operations that disable, rotate or revoke."""
    platform.check(case)
