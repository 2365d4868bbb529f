"""What the schemathesis tests share: the examples' bound and settings, the checks (no 5xx, every answer's
status, media type and body as documented, every error an RFC 9457 problem document), the Target a test
calls (a URL, headers with a token carrying the admin scope, which carries every scope, so operations get
past authorisation and reach the domain; seeded path values), and the gateway of its own the gateway's
routes are fuzzed on: installed in a database of its own (the session's real PostgreSQL and NATS) and
served by uvicorn on a free port, in a thread with its own event loop, stopped at the end of the module.
The services are fuzzed through the gateway on one platform (fuzz_platform, test_fuzz_apis).
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import asyncpg
import nats
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, settings
from litestar import Litestar
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from spicadb_kit.events.provision import provision
from spicadb_kit.infra import PostgresCluster, free_port
from spicadb_kit.runtime.openapi import document
from spicadb_kit.spec import ServiceSpec
from spicadb_kit.testing.services import migrate
from spicadb_kit.testing.tokens import TokenFactory

PROBLEM = "application/problem+json"
# generated examples per operation, beside schemathesis' coverage phase (its boundary and negative cases):
# the whole directory stays within a few minutes; SPICADB_FUZZ_EXAMPLES asks for more in a deeper run
MAX_EXAMPLES = int(os.environ.get("SPICADB_FUZZ_EXAMPLES", "6"))

# Deterministic, so `make test` is reproducible (SPICADB_FUZZ_RANDOM=1 explores new examples each run);
# shrinking is left out (a failure shows its request).
SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("SPICADB_FUZZ_RANDOM", "") != "1",
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


# an OIFITS push's body is bytes, whatever its media type says (random ones: refused files)
schemathesis.serializer.alias("application/fits", "application/octet-stream")
# a night log's CSV under its other media type is text all the same (text/csv is sent as text already)
schemathesis.serializer.alias("application/csv", "text/plain")


@schemathesis.check
def problem_document(ctx: Any, response: Any, case: Case) -> bool | None:
    """Every error (4xx, 5xx) is an RFC 9457 problem document (its media type, its members), unless
    the operation documents that status in another media type (the VO protocols, OAuth 2)."""
    if response.status_code < 400 or case.method.upper() == "HEAD":
        return None
    media = response.headers.get("content-type", [""])[0].split(";")[0].strip()
    documented = case.operation.definition.raw.get("responses", {}).get(str(response.status_code), {})
    if media != PROBLEM and media in {m.split(";")[0] for m in documented.get("content", {})}:
        return None  # documented otherwise: a protocol's own error format (VOTable, OAuth 2)
    assert media == PROBLEM, f"an error answered {media!r}, not {PROBLEM}"
    body = response.json()
    assert isinstance(body, dict), "the problem document is no JSON object"
    for member, kind in (("type", str), ("title", str), ("status", int)):
        assert isinstance(body.get(member), kind), (
            f"the problem document's {member!r} is missing or no {kind}"
        )
    assert body["status"] == response.status_code, "the problem's status is not the answer's"
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    problem_document,
]


def load_schema(spec: ServiceSpec, exclude: tuple[str, ...] = ()) -> Any:
    """The service's OpenAPI document as the kit builds it, without the operations ``exclude`` names
    (operationIds)."""
    schema = schemathesis.openapi.from_dict(document(spec))
    if exclude:
        schema = schema.exclude(operation_id=list(exclude))
    return schema


def run_in_thread(coroutine: Callable[[], Awaitable[Any]]) -> Any:
    """Run a coroutine to completion on an event loop of its own (pytest's loop is left alone)."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coroutine()))  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the caller
            errors.append(exc)

    thread = threading.Thread(target=target, name="schemathesis-setup")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0] if result else None


@contextmanager
def database(cluster: PostgresCluster) -> Iterator[str]:
    """A database of its own (admin DSN), dropped afterwards."""
    name = f"fuzz_{uuid.uuid4().hex[:12]}"

    async def execute(sql: str) -> None:
        conn = await asyncpg.connect(cluster.dsn())
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    run_in_thread(lambda: execute(f'CREATE DATABASE "{name}"'))
    try:
        yield cluster.dsn(name)
    finally:
        run_in_thread(lambda: execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def install(
    admin_dsn: str, nats_url: str, spec: ServiceSpec, producers: tuple[ServiceSpec, ...] = ()
) -> None:
    """Migrations and streams, as `spicadb migrate` and the provisioning step do (``producers``: the
    services whose streams the service's consumers read, provisioned with it)."""

    async def steps() -> None:
        await migrate(admin_dsn, [spec])
        nc = await nats.connect(nats_url)
        try:
            await provision(nc.jetstream(), [*producers, spec])
        finally:
            await nc.close()

    run_in_thread(steps)


class Served:
    """An app under uvicorn on a free port of 127.0.0.1, in a thread with its own event loop."""

    def __init__(self, app: Litestar, port: int | None = None) -> None:
        self.port = port or free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, lifespan="on", log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, name="schemathesis-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Served:
        self.thread.start()
        while not self.server.started:  # bounded: the thread ends if the lifespan fails
            if not self.thread.is_alive():
                raise RuntimeError("the service did not start (see its log above)")
            self.thread.join(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        assert not self.thread.is_alive(), "the server did not stop"


class Target:
    """What the tests call: the served service, the headers every request carries, and known values
    of path parameters (seeded data) used for every other example, so ids hit something."""

    def __init__(self, url: str, headers: Mapping[str, str], known: Mapping[str, str] | None = None) -> None:
        self.url = url
        self.headers = dict(headers)
        self.known = dict(known or {})
        self.calls = 0

    def check(self, case: Case) -> None:
        self.calls += 1
        if case.path_parameters and self.calls % 2:
            for name, value in self.known.items():
                if name in case.path_parameters:
                    case.path_parameters[name] = value
        # a redirect is the answer under test, not followed (to a page no service here answers)
        case.call_and_validate(
            base_url=self.url, headers=self.headers, checks=CHECKS, timeout=30, allow_redirects=False
        )


def admin_headers(tokens: TokenFactory) -> dict[str, str]:
    """A person with the admin scope (which carries every scope); long-lived: the run takes minutes."""
    token = tokens.mint("admin", subject="admin", client_id="spica-frontend", lifetime=3600)
    return {"Authorization": f"Bearer {token}"}
