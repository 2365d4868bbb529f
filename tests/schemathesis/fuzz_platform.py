"""The platform the schemathesis tests call through the gateway: tests/web's (web_console.open_console:
every service on a real port of its own, the gateway in front, its origin the tokens' issuer), served in a
thread with its own event loop (schemathesis' requests are synchronous: the servers cannot share pytest's
loop), stopped at the end."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import Any, TypeVar

from spicadb_gateway.config import GatewaySettings
from spicadb_gateway.openapi import OpenAPIMerger
from spicadb_gateway.policy import RoutePolicy
from web_console import SPECS, Console

from spicadb_kit.runtime.openapi import document
from spicadb_kit.spec import ServiceSpec

T = TypeVar("T")


@contextmanager
def served(
    opened: Callable[[], AbstractAsyncContextManager[Console]],
    prepare: Callable[[Console], Awaitable[T]],
) -> Iterator[T]:
    """The platform ``opened`` in a thread of its own, ``prepare``d (seeded, signed in), until the end;
    what ``prepare`` returns is what the tests call."""
    started = threading.Event()
    shared: dict[str, Any] = {}

    async def serve() -> None:
        async with opened() as console:
            shared["value"] = await prepare(console)
            stop = asyncio.Event()
            shared["stop"] = (asyncio.get_running_loop(), stop)
            started.set()
            await stop.wait()

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # handed to the test
            shared["error"] = exc
        finally:
            started.set()

    thread = threading.Thread(target=run, name="schemathesis-platform", daemon=True)
    thread.start()
    started.wait()
    if "error" in shared:
        raise shared["error"]
    try:
        yield shared["value"]
    finally:
        loop, stop = shared["stop"]
        loop.call_soon_threadsafe(stop.set)
        thread.join(60)
        assert not thread.is_alive(), "the platform did not stop"
        if "error" in shared:
            raise shared["error"]


def gateway_document(extra: Sequence[ServiceSpec] = ()) -> dict[str, Any]:
    """The merged OpenAPI document the platform's gateway serves at /openapi.json (the gateway's own
    OpenAPIMerger over every service's document as the kit builds it): the services' operations at
    their public paths, with the answers the gateway itself may give on them. Built offline, so that
    schemathesis can make a test per operation when the module is collected; the tests check that the
    gateway serves the same."""
    specs = [*SPECS, *extra]
    upstreams = {spec.name: "http://127.0.0.1:9" for spec in specs if spec.name != "gateway"}
    settings = GatewaySettings(
        environment="test", upstreams=",".join(f"{n}={u}" for n, u in upstreams.items())
    )
    logging.disable(logging.WARNING)  # apps built outside a deployment warn about their settings
    try:
        documents = {spec.name: document(spec) for spec in specs}
    finally:
        logging.disable(logging.NOTSET)
    policy = RoutePolicy.from_specs(specs, upstreams)
    merger = OpenAPIMerger(settings, policy, lambda: documents["gateway"], "fuzz")
    return merger.merge(documents, dict.fromkeys(documents, "available"))


def differences(served: dict[str, Any], built: dict[str, Any]) -> list[str]:
    """Where the served merged document and the offline one disagree on what the tests fuzz."""
    found = [f"service {name}: {status}" for name, status in served["info"]["x-spicadb-services"].items()
             if status != "available"]  # fmt: skip
    for part in ("paths", "components"):
        for key in sorted(served[part].keys() | built[part].keys()):
            if served[part].get(key) != built[part].get(key):
                found.append(f"{part} {key}")
    return found
