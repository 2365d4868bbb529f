"""The login page: throttling of failed attempts (per account and client address, the address
believed from a forwarded header only when a configured proxy sent it), disabled accounts, the
standalone page and its redirect (never off this origin)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

import httpx
import pytest
from auth_support import AuthService, Browser, LoginForm
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from test_code_flow import authorize_path

from spicadb_kit.redirects import safe_next

GATEWAY = "10.0.0.7"  # the proxy the tests configure as trusted


def code_flow_path() -> str:
    return authorize_path(
        code_challenge=create_s256_code_challenge(generate_token(48)), code_challenge_method="S256"
    )


async def attempt(
    browser: Browser | httpx.AsyncClient, username: str, password: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    http = browser.http if isinstance(browser, Browser) else browser
    form = LoginForm(await http.get(code_flow_path(), headers=headers))
    return await http.post(form.action, data=form.fields(username, password), headers=headers)


def peer(browser: Browser, address: str) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    return browser.from_peer(address)


async def test_the_sixth_attempt_is_throttled_even_with_the_right_password(auth: AuthService) -> None:
    async with auth.running() as browser:
        for _ in range(5):
            wrong = await attempt(browser, "admin", "guess")
            assert wrong.status_code == 401

        sixth = await attempt(browser, "admin", browser.admin_password())
        assert sixth.status_code == 429
        retry_after = int(sixth.headers["retry-after"])
        assert 800 < retry_after <= 900
        assert "location" not in sixth.headers
        assert "Too many failed sign-in attempts" in sixth.text


async def test_throttling_counts_per_user_name_and_per_client_address(auth: AuthService) -> None:
    async with auth.running(login_max_failures_per_address=3) as browser:
        admin = await browser.admin_token()
        created = await browser.admin(
            "POST",
            "/admin/users",
            admin,
            json={"username": "rigel", "roles": ["reader"], "password": "rigel password 1"},
        )
        assert created.status_code == 201
        browser.http.cookies.clear()
        for name in ("a", "b", "c"):  # three different names from one address
            assert (await attempt(browser, name, "guess")).status_code == 401
        blocked = await attempt(browser, "rigel", "rigel password 1")
        assert blocked.status_code == 429


async def test_a_successful_sign_in_clears_the_user_names_failures(auth: AuthService) -> None:
    async with auth.running() as browser:
        for _ in range(4):
            await attempt(browser, "admin", "guess")
        assert (await attempt(browser, "admin", browser.admin_password())).status_code == 302
        browser.http.cookies.clear()
        for _ in range(4):
            assert (await attempt(browser, "admin", "guess")).status_code == 401


async def test_a_disabled_account_cannot_sign_in_or_refresh(auth: AuthService) -> None:
    async with auth.running() as browser:
        admin = await browser.admin_token()
        await browser.admin(
            "POST",
            "/admin/users",
            admin,
            json={"username": "deneb", "roles": ["astronomer"], "password": "deneb password 1"},
        )
        tokens = await browser.sign_in_with_code("deneb", "deneb password 1")
        assert (await browser.admin("POST", "/admin/users/deneb/disable", admin)).status_code == 200

        browser.http.cookies.clear()
        refused = await attempt(browser, "deneb", "deneb password 1")
        assert refused.status_code == 403
        assert "disabled" in refused.text

        again = await browser.http.post(
            "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": "spica-frontend",
            },
        )
        assert again.json()["error"] == "invalid_grant"
        info = await browser.http.get(
            "/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert info.status_code == 401


async def test_the_standalone_login_page_redirects_only_to_local_paths(auth: AuthService) -> None:
    async with auth.running() as browser:
        for target, expected in (
            ("/oauth/authorize?client_id=x", "/oauth/authorize?client_id=x"),
            ("https://evil.example/", "/login"),
            ("//evil.example/", "/login"),
            ("/\\evil.example", "/login"),
        ):
            browser.http.cookies.clear()
            form = LoginForm(await browser.http.get("/login", params={"next": target}))
            answer = await browser.http.post(form.action, data=form.fields("admin", browser.admin_password()))
            assert answer.status_code == 303, answer.text
            assert answer.headers["location"] == expected

        page = await browser.http.get("/login")
        assert "signed in as <strong>admin</strong>" in page.text

        form = LoginForm(page)
        out = await browser.http.post("/login/logout", data={"csrf_token": form.csrf})
        assert out.status_code == 303
        assert "signed in as" not in (await browser.http.get("/login")).text


async def test_a_forged_forwarded_header_from_an_untrusted_peer_does_not_change_the_key(
    auth: AuthService,
) -> None:
    async with auth.running(forwarded_allow_ips=GATEWAY, login_max_failures_per_address=3) as browser:
        async with peer(browser, "198.51.100.20") as attacker:
            for i, name in enumerate(("a", "b", "c")):
                forged = {"X-Forwarded-For": f"203.0.113.{i}"}
                assert (await attempt(attacker, name, "guess", forged)).status_code == 401
            again = await attempt(attacker, "d", "guess", {"X-Forwarded-For": "203.0.113.99"})
            assert again.status_code == 429
        failures = await auth.rows("SELECT DISTINCT address FROM login_failure")
        assert [r["address"] for r in failures] == ["198.51.100.20"]


async def test_the_trusted_proxys_forwarded_header_names_the_client(auth: AuthService) -> None:
    async with auth.running(forwarded_allow_ips=GATEWAY, login_max_failures_per_address=3) as browser:
        async with peer(browser, GATEWAY) as gateway:
            for name in ("a", "b", "c"):
                attacker = {"X-Forwarded-For": "198.51.100.20"}
                assert (await attempt(gateway, name, "guess", attacker)).status_code == 401
            # the proxy's other clients are not throttled with the one that failed
            someone_else = {"X-Forwarded-For": "192.0.2.44"}
            assert (await attempt(gateway, "d", "guess", someone_else)).status_code == 401
            # a forged hop before the proxy's own does not help: the proxy appends the real peer
            chained = {"X-Forwarded-For": "192.0.2.99, 198.51.100.20"}
            assert (await attempt(gateway, "e", "guess", chained)).status_code == 429
        failures = await auth.rows("SELECT address, count(*) AS n FROM login_failure GROUP BY address")
        assert {r["address"]: r["n"] for r in failures} == {"198.51.100.20": 3, "192.0.2.44": 1}


async def test_one_addresss_failures_do_not_lock_the_account_for_another_address(
    auth: AuthService,
) -> None:
    async with auth.running(forwarded_allow_ips=GATEWAY) as browser:
        password = browser.admin_password()
        async with peer(browser, "198.51.100.20") as attacker:
            for _ in range(5):
                assert (await attempt(attacker, "admin", "guess")).status_code == 401
            assert (await attempt(attacker, "admin", password)).status_code == 429
        async with peer(browser, "192.0.2.44") as owner:
            assert (await attempt(owner, "admin", password)).status_code == 302
        async with peer(browser, "198.51.100.20") as attacker:
            assert (await attempt(attacker, "admin", password)).status_code == 429


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "http:/evil.example",
        "javascript:alert(1)",
        "//evil.example/",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "\t//evil.example",
        " //evil.example",
        "/\x00/evil.example",
        "/\x7f/evil.example",
        "/\x85/evil.example",
        "/\x9b/evil.example",
        "/%09/evil.example",
        "/%2509/evil.example",
        "/%2F/evil.example",
        "/%2f%2fevil.example",
        "%2F%2Fevil.example",
        "/%5Cevil.example",
        "/%255Cevil.example",
        "/%C2%85/evil.example",
        "/./%2F/evil.example",
        "/.//evil.example",
        "/%2e%2e//evil.example",
        "/x?a=%0d%0aSet-Cookie:x=1",
        "/" + "a" * 5000,
        "",
        "evil.example",
    ],
)
def test_a_tricky_next_target_falls_back_to_the_login_page(target: str) -> None:
    assert safe_next(target, "/login") == "/login"


@pytest.mark.parametrize(
    ("target", "normalised"),
    [
        ("/", "/"),
        ("/oauth/authorize?client_id=x", "/oauth/authorize?client_id=x"),
        (
            "/oauth/authorize?redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=a%2Fb",
            "/oauth/authorize?redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=a%2Fb",
        ),
        ("/programmes/a b", "/programmes/a%20b"),
        ("/targets/\u03b1 Lyr", "/targets/%CE%B1%20Lyr"),
        ("/x#part", "/x#part"),
    ],
)
def test_a_local_next_target_is_kept_normalised(target: str, normalised: str) -> None:
    assert safe_next(target, "/login") == normalised


async def test_the_login_page_never_redirects_to_a_target_a_browser_reads_as_another_site(
    auth: AuthService,
) -> None:
    async with auth.running() as browser:
        for query, expected in (
            ("next=/%09/evil.example", "/login"),
            ("next=/%2509/evil.example", "/login"),
            ("next=/%0a/evil.example", "/login"),
            ("next=/%C2%85/evil.example", "/login"),
            ("next=/targets/%CE%B1", "/targets/%CE%B1"),
        ):
            browser.http.cookies.clear()
            form = LoginForm(await browser.http.get(f"/login?{query}"))
            answer = await browser.http.post(form.action, data=form.fields("admin", browser.admin_password()))
            assert answer.status_code == 303, answer.text
            assert answer.headers["location"] == expected, query


async def test_the_login_page_names_its_charset_once(auth: AuthService) -> None:
    async with auth.running() as browser:
        for response in (await browser.http.get("/login"), await browser.http.get(code_flow_path())):
            assert response.headers["content-type"] == "text/html; charset=utf-8"


def test_an_account_failing_from_many_addresses_is_slowed_down_not_locked() -> None:
    from spicadb_auth.config import AuthSettings
    from spicadb_auth.services.login import attempt_delay

    settings = AuthSettings(login_delay_after_failures=3, login_max_delay_seconds=2.0)
    assert [attempt_delay(settings, n) for n in range(8)] == [0.0, 0.0, 0.0, 0.25, 0.5, 1.0, 2.0, 2.0]


@pytest.mark.parametrize(
    ("setting", "peer", "forwarded", "client"),
    [
        ("10.0.0.7", "10.0.0.7", ["198.51.100.20"], "198.51.100.20"),
        ("10.0.0.0/24", "10.0.0.9", ["203.0.113.1, 198.51.100.20"], "198.51.100.20"),
        ("10.0.0.0/24", "10.0.0.9", ["198.51.100.20, 10.0.0.3"], "198.51.100.20"),
        ("10.0.0.0/24", "10.0.0.9", ["198.51.100.20:5123"], "198.51.100.20"),
        ("10.0.0.0/24", "10.0.0.9", ["[2001:db8::1]:443"], "2001:db8::/64"),
        ("10.0.0.0/24", "10.0.0.9", [], "10.0.0.9"),
        ("10.0.0.0/24", "10.0.0.9", ["10.0.0.3"], "10.0.0.3"),
        ("10.0.0.7", "192.0.2.1", ["198.51.100.20"], "192.0.2.1"),
        ("", "192.0.2.1", ["198.51.100.20"], "192.0.2.1"),
        ("10.0.0.7", None, ["198.51.100.20"], "unknown"),
    ],
)
def test_the_client_address_is_read_from_trusted_proxies_only_without_its_port(
    setting: str, peer: str | None, forwarded: list[str], client: str
) -> None:
    from spicadb_auth.addresses import client_address, throttling_key

    from spicadb_kit.runtime.serve import TrustedProxies

    assert throttling_key(client_address(TrustedProxies(setting), peer, forwarded)) == client


def test_ipv6_clients_are_throttled_by_their_64() -> None:
    from spicadb_auth.addresses import throttling_key

    assert (
        throttling_key("2001:db8:1:2:aaaa::1")
        == throttling_key("2001:db8:1:2:bbbb::9")
        == "2001:db8:1:2::/64"
    )
    assert throttling_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert throttling_key("198.51.100.20") == "198.51.100.20"
