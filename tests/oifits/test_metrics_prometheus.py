"""A real Prometheus (Debian's package) scrapes two services' /metrics on their own ports, with a scrape
config written here; the series are read back through its query API. Skipped without /usr/bin/prometheus
(`make test` installs it when root)."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_support import LocalServer
from harness import Probe, eventually
from oifits_support import OifitsService, oifits, push
from probe_service.app import create_app as create_probe

from spicadb_kit.infra import free_port
from spicadb_kit.runtime.system import PROMETHEUS


@pytest.fixture
def prometheus_binary() -> Path:
    if not PROMETHEUS.exists():
        pytest.skip(
            f"{PROMETHEUS} is absent (Debian's prometheus package; `make test` installs it when root)"
        )
    return PROMETHEUS


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[LocalServer]:
    server = await LocalServer(app).start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def prometheus_at(prometheus_binary: Path, tmp_path: Path) -> Iterator[Any]:
    """Starts Prometheus scraping the given targets every second; stopped by its pid at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(targets: list[str]) -> str:
        port = free_port()
        config = tmp_path / "prometheus.yml"
        listed = ", ".join(f"'{t}'" for t in targets)
        config.write_text(
            "global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
            f"scrape_configs:\n  - job_name: spicadb\n    static_configs:\n      - targets: [{listed}]\n"
        )
        log = (tmp_path / "prometheus.log").open("wb")
        started.append(
            subprocess.Popen(
                [
                    str(prometheus_binary),
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        return f"http://127.0.0.1:{port}"

    yield start
    for proc in started:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def query(client: httpx.AsyncClient, expression: str) -> list[dict[str, Any]]:
    try:
        answer = await client.get("/api/v1/query", params={"query": expression})
    except httpx.TransportError:  # not listening yet
        return []
    if answer.status_code != 200:
        return []
    result: list[dict[str, Any]] = answer.json()["data"]["result"]
    return result


async def test_prometheus_scrapes_each_service_and_reads_its_request_latency(
    service: OifitsService, probe: Probe, prometheus_at: Any
) -> None:
    oifits_app = service.create_app(service.settings(), verifier=service.tokens.verifier())
    probe_app = create_probe(probe.settings(), verifier=probe.tokens.verifier())
    async with serving(oifits_app) as oifits_server, serving(probe_app) as probe_server:
        async with httpx.AsyncClient(base_url=oifits_server.url) as client:
            assert (await push(client, oifits(), service.drs(), filename="a.fits")).status_code == 201
        targets = [oifits_server.url.removeprefix("http://"), probe_server.url.removeprefix("http://")]
        url = prometheus_at(targets)
        async with httpx.AsyncClient(base_url=url, timeout=5) as prometheus:

            async def all_up() -> list[dict[str, Any]] | None:
                found = await query(prometheus, "up == 1")
                return found if {r["metric"]["instance"] for r in found} == set(targets) else None

            await eventually(all_up, timeout=40, interval=0.5)
            latency = await eventually(
                lambda: query(
                    prometheus,
                    'spicadb_http_request_duration_seconds_count{service="oifits",route="/oifits/files",'
                    'method="POST",status="2xx"}',
                ),
                timeout=20,
                interval=0.5,
            )
            pools = await eventually(lambda: query(prometheus, "spicadb_db_pool_size"), timeout=20)
    (series,) = latency
    assert series["value"][1] == "1"
    assert series["metric"]["instance"] == targets[0]
    assert {p["metric"]["service"] for p in pools} == {"oifits", "probe"}
