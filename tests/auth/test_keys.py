"""Signing key rotation: a new key is in the JWKS before it signs, and the old one stays there
until every token it signed has expired."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from auth_support import AuthService, Browser
from harness import eventually
from test_client_credentials import header_of

FAST: dict[str, Any] = {
    "jwks_cache_seconds": 1,
    "key_check_seconds": 0.2,
    "access_token_lifetime": 4,
    "key_retire_margin_seconds": 0,
}


async def kids(browser: Browser) -> set[str]:
    return {k["kid"] for k in (await browser.jwks())["keys"]}


async def robot_token(browser: Browser) -> tuple[str, str, int]:
    token = (await browser.robot_token("drs"))["access_token"]
    principal = await (await browser.verifier()).verify(token)
    assert principal.expires_at is not None
    return token, header_of(token)["kid"], principal.expires_at


async def test_a_new_key_is_published_before_it_signs_and_the_old_one_kept_until_its_tokens_expire(
    auth: AuthService,
) -> None:
    async with auth.running(**FAST) as browser:
        (old_kid,) = await kids(browser)
        admin = await browser.admin_token()

        rotated = await browser.admin("POST", "/admin/keys/rotate", admin)
        assert rotated.status_code == 202, rotated.text
        new_kid = rotated.json()["key"]["kid"]
        assert rotated.json()["key"]["state"] == "next"
        assert rotated.json()["key"]["signs_from"]

        # published at once ...
        assert await kids(browser) == {old_kid, new_kid}
        # ... but not signing yet
        token, kid, _ = await robot_token(browser)
        assert kid == old_kid
        # asking again while a next key waits changes nothing
        again = await browser.admin("POST", "/admin/keys/rotate", admin)
        assert again.status_code == 202  # the pending rotation, accepted again
        assert again.json() == {**again.json(), "created": False}
        assert again.json()["key"]["kid"] == new_kid

        old_tokens: list[tuple[str, int]] = []

        async def signed_by_new_key() -> bool:
            token, kid, exp = await robot_token(browser)
            if kid == old_kid:
                old_tokens.append((token, exp))
            return bool(kid == new_kid)

        await eventually(signed_by_new_key, timeout=10, interval=0.1)
        assert old_kid in await kids(browser)
        # a token the old key signed still verifies against the JWKS as published now
        last_token, last_exp = old_tokens[-1] if old_tokens else (token, 0)
        await (await browser.verifier()).verify(last_token)

        async def old_key_dropped() -> bool:
            return old_kid not in await kids(browser)

        await eventually(old_key_dropped, timeout=15, interval=0.1)
        newest_old_exp = max([exp for _, exp in old_tokens] + [last_exp])
        assert time.time() >= newest_old_exp, "the old key left the JWKS while one of its tokens was alive"
        assert await kids(browser) == {new_kid}

        states = {
            k["kid"]: k["state"]
            for k in (await browser.admin("GET", "/admin/keys", await browser.admin_token())).json()
        }
        assert states[new_kid] == "current"
        assert states.get(old_kid, "retired") == "retired"  # unpublished, deleted at the next check
        audit = await auth.rows("SELECT action, target_id FROM audit WHERE action = 'keys.rotate'")
        assert [(a["action"], a["target_id"]) for a in audit] == [("keys.rotate", new_kid)]


async def test_keys_rotate_on_schedule(auth: AuthService) -> None:
    async with auth.running(**FAST, key_rotation_seconds=1) as browser:
        (first,) = await kids(browser)

        async def two_published() -> Any:
            return len(await kids(browser)) == 2

        await eventually(two_published, timeout=10, interval=0.1)

        async def signed_by_another() -> bool:
            return (await robot_token(browser))[1] != first

        await eventually(signed_by_another, timeout=10, interval=0.1)
        await asyncio.sleep(0)


async def test_a_rotation_is_accepted_with_202_as_its_openapi_says(auth: AuthService) -> None:
    """Rotating is asynchronous (the next key signs from ``signs_from``): 202, also when a next
    key was already waiting (``created`` false), and the OpenAPI document says so."""
    async with auth.running() as browser:
        admin = await browser.admin_token()
        first = await browser.admin("POST", "/admin/keys/rotate", admin)
        again = await browser.admin("POST", "/admin/keys/rotate", admin)
        assert (first.status_code, first.json()["created"]) == (202, True)
        assert (again.status_code, again.json()["created"]) == (202, False)
        assert again.json()["key"]["kid"] == first.json()["key"]["kid"]

        document = (await browser.http.get("/openapi.json")).json()
        answers = document["paths"]["/admin/keys/rotate"]["post"]["responses"]
        assert "202" in answers
        assert "200" not in answers
