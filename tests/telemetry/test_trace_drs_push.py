"""One trace from a DRS push to the OiDB row: the gateway, the oifits service (its handler, its
statements, its indexing worker, its relay's publication) and the oidb consumer, each a process of its
own started as ``spicadb serve`` starts it with ``SPICADB_OTEL_EXPORTER=otlp``, exporting to an OTLP/HTTP
receiver of the test. The push carries the DRS's own ``traceparent``; the test reads back that trace
id's spans and follows their parents from the consumer's statement up to the push."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from gateway_support import AUTH_STAND_IN, Jwks, LocalServer
from harness import eventually
from nats.js import JetStreamContext
from oifits_support import oifits
from otlp_receiver import OtlpReceiver, ReceivedSpan
from spicadb_gateway.spec import SPEC as GATEWAY
from spicadb_oidb.app import create_app as oidb_app
from spicadb_oidb.spec import SPEC as OIDB
from spicadb_oifits.app import create_app as oifits_app
from spicadb_oifits.spec import SPEC as OIFITS

from spicadb_kit.events.provision import provision
from spicadb_kit.infra import NatsServer, free_port
from spicadb_kit.spec import ServiceSpec
from spicadb_kit.testing.services import InstalledService, migrate, role_dsn
from spicadb_kit.testing.tokens import TokenFactory

SPICADB = Path(sys.executable).parent / "spicadb"
SERVER, CLIENT, PRODUCER, CONSUMER = 2, 3, 4, 5  # opentelemetry.proto SpanKind
ASYNCPG = "opentelemetry.instrumentation.asyncpg"


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    made = OtlpReceiver().start()
    yield made
    made.stop()


class Services:
    """The three services as processes of their own, each stopped by its pid."""

    def __init__(self, folder: Path, common: dict[str, str]) -> None:
        self.folder = folder
        self.common = common
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self, spec: ServiceSpec, admin_dsn: str, **extra: str) -> None:
        port = self.ports.setdefault(spec.name, free_port())
        env = {
            **os.environ,
            **self.common,
            "SPICADB_PORT": str(port),
            "SPICADB_DATABASE_URL": role_dsn(admin_dsn, spec.role),
            **extra,
        }
        with open(self.folder / f"{spec.name}.log", "ab") as log:
            self.processes[spec.name] = subprocess.Popen(
                [str(SPICADB), "serve", spec.name], env=env, stdout=log, stderr=subprocess.STDOUT
            )

    async def ready(self, name: str) -> None:
        async def answered() -> bool:
            process = self.processes[name]
            if process.poll() is not None:
                log = (self.folder / f"{name}.log").read_text()[-3000:]
                raise AssertionError(f"{name} exited ({process.returncode}):\n{log}")
            try:
                async with httpx.AsyncClient(timeout=2) as client:
                    return (await client.get(self.url(name) + "/health/ready")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(answered, timeout=60, interval=0.2)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
async def services(
    database: str,
    jetstream: JetStreamContext,
    nats_server: NatsServer,
    tokens: TokenFactory,
    receiver: OtlpReceiver,
    tmp_path: Path,
) -> AsyncIterator[Services]:
    for spec, factory in ((OIFITS, oifits_app), (OIDB, oidb_app)):
        installed = InstalledService(spec, factory, database, nats_server.url, tokens, jetstream)
        await installed.install()
        await installed.close()
    await migrate(database, [GATEWAY])
    await provision(jetstream, [AUTH_STAND_IN, GATEWAY])
    jwks = await LocalServer(Jwks(tokens.jwks)).start()
    made = Services(
        tmp_path,
        {
            "SPICADB_ENVIRONMENT": "test",
            "SPICADB_HOST": "127.0.0.1",
            "SPICADB_NATS_URL": nats_server.url,
            "SPICADB_TOKEN_ISSUER": tokens.issuer,
            "SPICADB_TOKEN_AUDIENCE": tokens.audience,
            "SPICADB_JWKS_URL": jwks.url + "/.well-known/jwks.json",
            "SPICADB_OUTBOX_POLL_SECONDS": "0.2",
            "SPICADB_DATA": str(tmp_path / "data"),
            "SPICADB_LOG_FORMAT": "json",
            "SPICADB_OTEL_EXPORTER": "otlp",
            "SPICADB_OTEL_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "100",  # the SDK's batch delay (ms): spans arrive soon after
        },
    )
    made.ports["gateway"] = free_port()
    public = made.url("gateway")
    try:
        made.start(OIFITS, database, SPICADB_STORE_PATH=str(tmp_path / "store"), SPICADB_PUBLIC_URL=public)
        made.start(OIDB, database, SPICADB_PUBLIC_URL=public)
        await made.ready("oifits")
        await made.ready("oidb")
        upstreams = f"oifits={made.url('oifits')},oidb={made.url('oidb')}"
        made.start(GATEWAY, database, SPICADB_UPSTREAMS=upstreams, SPICADB_PUBLIC_URL=public)
        await made.ready("gateway")
        yield made
    finally:
        made.stop()
        await jwks.stop()


def _ancestors(span: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> list[ReceivedSpan]:
    chain = []
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        chain.append(span)
    return chain


async def test_one_trace_from_a_drs_push_to_the_oidb_consumer(
    services: Services, receiver: OtlpReceiver, tokens: TokenFactory
) -> None:
    trace_id, drs_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    token = tokens.mint("oifits:push", "oifits:read", subject="drs", client_id="drs")
    async with httpx.AsyncClient(base_url=services.url("gateway"), timeout=60) as client:
        answer = await client.post(
            "/oifits/files",
            params={"filename": "HD1_traced.fits"},
            content=oifits(programme=None),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/fits",
                "traceparent": f"00-{trace_id}-{drs_span}-01",
            },
        )
    assert answer.status_code == 201, answer.text

    async def consumed() -> list[ReceivedSpan]:
        spans = receiver.trace(trace_id)
        done = any(s.service == "oidb" and s.kind == CONSUMER and "file.indexed" in s.name for s in spans)
        worker = any(s.name == "index_file" for s in spans)
        # the consumer's statements end before its span does: once it is here, they are too
        return spans if done and worker else []

    try:
        spans = await eventually(consumed, timeout=30, interval=0.2)
    except AssertionError:
        seen = sorted({(s.service, s.name, s.trace_id == trace_id) for s in receiver.spans})
        raise AssertionError(
            f"the trace is not whole; spans received (service, name, in it): {seen}"
        ) from None
    by_id = {s.span_id: s for s in spans}
    # nothing else was traced: no probe, no poll of the relays and consumers, no statement outside work
    assert {s.trace_id for s in receiver.spans} == {trace_id}
    # every parent is in the trace, but the DRS's own span (the root, which only the DRS records)
    assert {s.parent_id for s in spans} - set(by_id) == {drs_span}
    assert {"gateway", "oifits", "oidb"} <= {s.service for s in spans}

    (received,) = [s for s in spans if s.service == "gateway" and s.kind == SERVER]
    assert received.parent_id == drs_span  # the gateway continued the DRS's traceparent
    assert received.attributes["http.route"] == "/oifits/files"  # the route policy's prefix
    (proxied,) = [s for s in spans if s.service == "gateway" and s.kind == CLIENT]
    assert proxied.parent_id == received.span_id
    assert proxied.name == "POST oifits"
    (handler,) = [s for s in spans if s.service == "oifits" and s.kind == SERVER]
    assert handler.parent_id == proxied.span_id  # the gateway passed its traceparent upstream
    statements = [s for s in spans if s.service == "oifits" and s.scope == ASYNCPG]
    assert statements
    assert all(handler in _ancestors(s, by_id) for s in statements)
    (indexing,) = [s for s in spans if s.name == "index OIFITS file"]
    (worker,) = [s for s in spans if s.name == "index_file"]
    assert worker.service == "oifits"
    assert worker.parent_id == indexing.span_id
    assert handler in _ancestors(indexing, by_id)

    published = [s for s in spans if s.service == "oifits" and s.kind == PRODUCER]
    (publish,) = [s for s in published if "file.indexed" in s.name]
    assert handler in _ancestors(publish, by_id)  # the outbox row kept the handler's trace context
    assert publish.attributes["messaging.system"] == "nats"
    (consume,) = [s for s in spans if s.service == "oidb" and s.kind == CONSUMER and "file.indexed" in s.name]
    assert consume.parent_id == publish.span_id  # the message's traceparent names the publication
    applied = [s for s in spans if s.service == "oidb" and s.scope == ASYNCPG]
    assert applied
    assert any(consume in _ancestors(s, by_id) for s in applied)
