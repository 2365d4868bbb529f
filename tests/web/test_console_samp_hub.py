""" "Send to TOPCAT" in Chromium, received by a SAMP client: astropy's hub with the Web Profile on the
standard port (21012) accepts the page (a consent thread answers yes, as a person would), and a
standard-profile client named TOPCAT, subscribed to table.load.votable, receives the message, fetches
the URL without any cookie, as TOPCAT does, and finds exactly the ticked targets. Without a hub the page
says so; the same with production settings."""

from __future__ import annotations

import asyncio
import io
import queue
import socket
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from astropy.io.votable import parse_single_table
from web_browser import needs_chromium, sign_in_at
from web_console import Console

WEB_PORT = 21012  # the Web Profile's port, fixed by the standard (samp.js calls it)


class Consent:
    """The hub's web_profile_dialog: the hub gives it queue_request and queue_result when it starts; a
    thread answers True to each registration request (the person clicking "yes")."""

    queue_request: queue.Queue[Any]
    queue_result: queue.Queue[Any]

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.answer, name="samp-consent", daemon=True)

    def answer(self) -> None:
        while not self.stopping.is_set():
            try:
                self.queue_request.get(timeout=0.1)
            except queue.Empty:
                continue
            self.queue_result.put(True)


class Receiver:
    """What the test's TOPCAT received: each table.load.votable's params and the names in its table."""

    def __init__(self) -> None:
        self.tables: queue.Queue[tuple[dict[str, Any], list[str]]] = queue.Queue()

        # a plain function: astropy calls a binding by its count of arguments
        def receive(private_key: str, sender_id: str, mtype: str, params: dict[str, Any], extra: Any) -> None:
            with urllib.request.urlopen(params["url"], timeout=60) as answer:  # no cookie, as TOPCAT fetches
                votable = answer.read()
            table = parse_single_table(io.BytesIO(votable)).to_table()
            self.tables.put((params, sorted(str(n) for n in table["NAME"])))

        self.receive = receive

    async def next(self) -> tuple[dict[str, Any], list[str]]:
        return await asyncio.to_thread(self.tables.get, True, 120)


def web_port_free() -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # as the hub's server binds (allow_reuse_address): a previous hub's closed connections do not count
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("localhost", WEB_PORT))
        except OSError:
            return False
    return True


@pytest.fixture
def samp_hub(tmp_path: Path) -> Iterator[Any]:
    """astropy's hub with the Web Profile on 21012 (its own lockfile), its consent thread running."""
    samp = pytest.importorskip("astropy.samp")
    if not web_port_free():
        pytest.skip(f"port {WEB_PORT} (the SAMP Web Profile's) is taken: a SAMP hub runs on this machine")
    consent = Consent()
    hub = samp.SAMPHubServer(
        web_profile=True, web_profile_dialog=consent, web_port=WEB_PORT, lockfile=str(tmp_path / "samp.lock")
    )
    hub.start(wait=False)
    consent.thread.start()
    try:
        yield hub
    finally:
        consent.stopping.set()
        consent.thread.join(timeout=10)
        hub.stop()


@pytest.fixture
def topcat(samp_hub: Any) -> Iterator[Receiver]:
    """A standard-profile client named TOPCAT (the hub's lockfile parameters), taking tables."""
    from astropy.samp import SAMPIntegratedClient

    receiver = Receiver()
    client = SAMPIntegratedClient(
        name="TOPCAT", description="the test's stand-in for TOPCAT", addr="127.0.0.1"
    )
    client.connect(hub_params=samp_hub.params)
    try:
        client.bind_receive_notification("table.load.votable", receiver.receive)
        yield receiver
    finally:
        client.disconnect()


async def status(page: Any) -> str:
    text: str = await page.locator("#samp-status").inner_text()
    return text


@needs_chromium
async def test_without_a_hub_the_page_says_so(console: Console, browser: Any, tmp_path: Path) -> None:
    if not web_port_free():
        pytest.skip(f"port {WEB_PORT} is taken: a SAMP hub runs on this machine")
    context, page = await sign_in_at(console, browser, "/console/programmes/LP-1")
    try:
        await page.get_by_label("Select HD 1000").check()
        await page.get_by_role("button", name="Send to TOPCAT").click()
        await page.get_by_role("status").filter(has_text="No SAMP hub").wait_for()
        assert await status(page) == "No SAMP hub: start Aspro2 or TOPCAT, then send again."
        # nothing ticked: said before anything is sent
        await page.get_by_label("Select HD 1000").uncheck()
        await page.get_by_role("button", name="Send to Aspro2").click()
        await page.get_by_role("status").filter(has_text="Select at least one target").wait_for()
        await page.screenshot(path=tmp_path / "samp-no-hub.png", full_page=True)
    finally:
        await context.close()


@needs_chromium
async def test_ticked_targets_reach_topcat_through_the_samp_hub(
    console: Console, browser: Any, topcat: Receiver, tmp_path: Path
) -> None:
    context, page = await sign_in_at(console, browser, "/console/programmes/LP-1")
    try:
        chosen = ["HD 1002", "HD 1007", "HD 1011"]
        for name in chosen:
            await page.get_by_label(f"Select {name}", exact=True).check()
        await page.get_by_role("button", name="Send to TOPCAT").click()
        params, names = await topcat.next()
        assert names == chosen
        assert params["name"] == "LP-1 targets"
        assert params["url"].startswith(console.url + "/console/samp/")
        assert params["table-id"].startswith("spicadb-")
        await page.get_by_role("status").filter(has_text="sent to TOPCAT").wait_for()
        assert await status(page) == "3 target(s) sent to TOPCAT."
        await page.screenshot(path=tmp_path / "samp-sent-to-topcat.png", full_page=True)

        # "select all on this page", then to every SAMP application: the page's 50 targets
        await page.get_by_label("Select all targets on this page").check()
        assert await page.locator('input[name="target"]:checked').count() == 50
        await page.get_by_role("button", name="Send to every SAMP application").click()
        params, names = await topcat.next()
        assert len(names) == 50
        assert set(chosen) <= set(names)
        await page.get_by_role("status").filter(has_text="50 target(s) sent").wait_for()
        # unticking one leaves the header's box neither ticked nor unticked
        await page.get_by_label("Select HD 1002", exact=True).uncheck()
        assert await page.locator("#samp-all").evaluate("box => box.indeterminate")
        await page.screenshot(path=tmp_path / "samp-sent-to-all.png", full_page=True)

        # Aspro2 is not connected to this hub: the page says so, nothing is sent
        await page.get_by_role("button", name="Send to Aspro2").click()
        await page.get_by_role("status").filter(has_text="Aspro2 is not connected").wait_for()
        assert topcat.tables.empty()
    finally:
        await context.close()


@needs_chromium
async def test_with_production_settings_the_ticked_targets_reach_topcat(
    production_console: Console, browser: Any, topcat: Receiver, tmp_path: Path
) -> None:
    """Secure cookies and the session's __Host- name: samp.js finds the CSRF cookie as console.js does."""
    context, page = await sign_in_at(production_console, browser, "/console/programmes/LP-1")
    try:
        await page.get_by_label("Select HD 1004", exact=True).check()
        await page.get_by_role("button", name="Send to TOPCAT").click()
        params, names = await topcat.next()
        assert names == ["HD 1004"]
        assert params["url"].startswith(production_console.url + "/console/samp/")
        await page.get_by_role("status").filter(has_text="1 target(s) sent to TOPCAT.").wait_for()
        await page.screenshot(path=tmp_path / "samp-production.png", full_page=True)
    finally:
        await context.close()


@needs_chromium
async def test_without_javascript_the_send_buttons_are_not_offered(
    console: Console, browser: Any, tmp_path: Path
) -> None:
    context = await browser.new_context(java_script_enabled=False)
    context.set_default_timeout(90_000)
    try:
        page = await context.new_page()
        await page.goto(console.url + "/console/programmes/LP-1")
        username, password = console.admin()
        await page.get_by_label("User name").fill(username)
        await page.get_by_label("Password").fill(password)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(console.url + "/console/programmes/LP-1")
        # playwright's text locators skip <noscript>: the rendered text instead
        assert "Sending over SAMP needs JavaScript" in await page.locator("main").inner_text()
        assert not await page.get_by_role("button", name="Send to TOPCAT").is_visible()
        assert not await page.locator("#samp-all").is_visible()
        await page.screenshot(path=tmp_path / "samp-no-script.png", full_page=True)
    finally:
        await context.close()
