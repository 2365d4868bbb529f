"""schemathesis against the web console's OpenAPI document, through the gateway as a browser uses it: the
whole platform (tests/web/web_console.py) in a thread with its own event loop, the admin signed in with a
gateway session (its cookies on every request; the forms that write get the X-CSRF-Token header the
console's script adds), and bob's, an astronomer's, likewise. Every other request asks as a browser
(Accept: text/html), the others as an API client. Checks: no 5xx, every answer's status and media type documented, and every 4xx to a browser a page
naming the problem (the console's ``class="problem" role="alert"``), to an API client a problem document
(or the media type its operation documents for that status)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fuzz_platform import served
from fuzz_support import PROBLEM, SETTINGS, load_schema, problem_document
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from spicadb_gateway.headers import GATEWAY_HTML_CSP
from spicadb_gateway.spec import SPEC as GATEWAY
from spicadb_web.services.console import last_night
from spicadb_web.spec import SPEC
from web_console import PASSWORD, Console, open_console, seed

from spicadb_kit.infra import NatsServer, PostgresCluster

schema = load_schema(SPEC)
GATEWAY_TYPES = set(GATEWAY.problems.uris()) - set(SPEC.problems.uris()) if GATEWAY.problems else set()
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
API_CLIENT = {"Accept": "application/json, application/problem+json"}


@schemathesis.check
def problem_page(ctx: Any, response: Any, case: Case) -> bool | None:
    """A 4xx to a browser's visit (GET) is a page saying what went wrong, never a bare JSON document.
    A form is sent by the console's script, which shows a page it is answered, or the title of a problem
    refused before the console (the gateway's or the kit's: a body too large, a NUL character). Methods
    no browser sends (TRACE, QUERY: the gateway's 405) are an API client's business."""
    method = case.method.upper()
    if response.status_code < 400 or method not in ("GET", "POST"):
        return None
    media = response.headers.get("content-type", [""])[0].split(";")[0].strip()
    if media == PROBLEM and (method == "POST" or not is_page(case)):
        # a form's, or the operator API's and the SAMP tables' (whose media types are checked as documented)
        return problem_document(ctx, response, case)
    assert media == "text/html", f"a {response.status_code} to a browser answered {media!r}, not a page"
    assert 'class="problem" role="alert"' in response.text, "the page does not name the problem"
    return True


def is_page(case: Case) -> bool:
    """An operation answering pages: its success documented as HTML, or a form's redirect."""
    responses = case.operation.definition.raw.get("responses", {})
    media = {m for status, answer in responses.items() if status < "300" for m in answer.get("content", {})}
    return not media or any(m.startswith("text/html") for m in media)


@schemathesis.check
def console_schema_conformance(ctx: Any, response: Any, case: Case) -> bool | None:
    """The answer's body as documented, unless the gateway answered it itself (a path with a control
    character: its problem types are the gateway's document's, not the console's)."""
    return None if gateways(response) else response_schema_conformance(ctx, response, case)


def gateways(response: Any) -> bool:
    """An answer the gateway made itself (a path with a control character, refused before the console):
    its problem types and its plain pages (its own CSP) are the gateway's document's, not the console's."""
    if response.headers.get("content-security-policy", [""])[0] == GATEWAY_HTML_CSP.decode():
        return True
    media = response.headers.get("content-type", [""])[0]
    return media.startswith(PROBLEM) and response.json().get("type") in GATEWAY_TYPES


@schemathesis.check
def console_content_type(ctx: Any, response: Any, case: Case) -> bool | None:
    """The answer's media type as documented, unless the gateway answered it itself."""
    return None if gateways(response) else content_type_conformance(ctx, response, case)


CONFORMANCE = [not_a_server_error, status_code_conformance, console_content_type]
BROWSER_CHECKS = [*CONFORMANCE, console_schema_conformance, problem_page]
API_CHECKS = [*CONFORMANCE, console_schema_conformance, problem_document]


class Platform:
    """The gateway's URL, the admin's session cookies, and known path values (seeded data)."""

    def __init__(self, url: str, cookies: dict[str, str], known: dict[str, str]) -> None:
        self.url = url
        self.cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
        self.csrf = cookies["spicadb_gateway_csrf"]
        self.known = known
        self.calls = 0

    def check(self, case: Case) -> None:
        self.calls += 1
        if case.path_parameters and self.calls % 3:
            for name, value in self.known.items():
                if name in case.path_parameters:
                    case.path_parameters[name] = value
        browser = self.calls % 2 == 1
        headers = {"Cookie": self.cookie, "X-CSRF-Token": self.csrf, **(BROWSER if browser else API_CLIENT)}
        case.call_and_validate(
            base_url=self.url,
            headers=headers,
            checks=BROWSER_CHECKS if browser else API_CHECKS,
            timeout=60,
            allow_redirects=False,
        )


async def signed_in(console: Console) -> dict[str, Platform]:
    """The platform seeded; the admin's and bob's sessions."""
    await seed(console)
    client_id = next(iter(console.credentials().get("clients") or {"drs": None}))
    known = {
        "code": "LP-1", "site": "CHARA", "night": last_night().isoformat(), "username": "nora",
        "client_id": client_id, "service": "programmes",
    }  # fmt: skip
    platforms: dict[str, Platform] = {}
    for name, password in (console.admin(), ("bob", PASSWORD)):
        browser = await console.session(name, password)
        cookies = {cookie.name: cookie.value for cookie in browser.cookies.jar}
        await browser.aclose()
        platforms[name] = Platform(console.url, cookies, known)
    return platforms


@pytest.fixture(scope="module")
def web_platforms(
    pg_cluster: PostgresCluster, nats_server: NatsServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Platform]]:
    """The platform (fuzz_platform.served), in a thread of its own, stopped at the end."""
    data = tmp_path_factory.mktemp("web-fuzz")
    with served(lambda: open_console(pg_cluster, nats_server, data, "test"), signed_in) as platforms:
        yield platforms


@schema.parametrize()
@SETTINGS
def test_web_as_an_astronomer(case: Case, web_platforms: dict[str, Platform]) -> None:
    """bob, an astronomer of no programme: the administration refused (403 pages), what he may not see
    absent; first, so that the admin's run (which may disable users, nora rather than bob) cannot end
    his session."""
    web_platforms["bob"].check(case)


@schema.parametrize()
@SETTINGS
def test_web_as_an_admin(case: Case, web_platforms: dict[str, Platform]) -> None:
    web_platforms["admin"].check(case)
