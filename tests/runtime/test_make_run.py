"""`spicadb run` (what `make run` calls) as a user sees it: a table of ready components,
endpoints.json for scripts, a clean stop, and a second run that reuses the data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from spicadb_kit.infra import free_port, pid_alive
from spicadb_kit.migrate import load_migrations, version_tag
from spicadb_kit.spec import discover_services

SUPPORT = Path(__file__).parent.parent / "support"
# the kit's newest migration, whichever release this is
KIT = version_tag(load_migrations("spicadb_kit.migrations", "kit"))
# and the programmes service's newest one (each service adds migrations as it grows)
PROGRAMMES = version_tag(load_migrations("spicadb_programmes.migrations", "programmes"))
SPICADB = Path(sys.executable).parent / "spicadb"

pytestmark = pytest.mark.slow


def wait_for(predicate, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


class Run:
    def __init__(self, data: Path) -> None:
        self.data = data
        self.env = {
            **os.environ,
            "PYTHONPATH": str(SUPPORT),
            "SPICADB_DATA": str(data),
            "SPICADB_PG_PORT": str(free_port()),
            "SPICADB_NATS_PORT": str(free_port()),
            "SPICADB_NATS_MONITOR_PORT": str(free_port()),
            "SPICADB_PROBE_PORT": str(free_port()),
            "SPICADB_SERVICES": "probe_service.spec:SPEC",
            "SPICADB_LOG_FORMAT": "json",
            # every installed service on a free port, so the run never collides with another
            **{spec.port_variable: str(free_port()) for spec in discover_services()},
        }
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(SPICADB), "run"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def endpoints(self) -> dict[str, dict[str, object]]:
        path = self.data / "endpoints.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def wait_ready(self) -> dict[str, dict[str, object]]:
        def ready() -> dict[str, dict[str, object]] | None:
            table = self.endpoints()
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    f"spicadb run exited: {self.proc.stdout.read() if self.proc.stdout else ''}"
                )
            names = {"postgres", "nats", "probe"}
            return table if names <= set(table) and all(table[n]["state"] == "ready" for n in names) else None

        return wait_for(ready)

    def stop(self) -> str:
        result = subprocess.run(
            [str(SPICADB), "stop"], env=self.env, capture_output=True, text=True, timeout=90
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert self.proc is not None
        output, _ = self.proc.communicate(timeout=60)
        return output

    def kill(self) -> None:
        """After a failed test: `spicadb stop` first (each service runs in a session of its own, so killing
        the run's group alone left them running), then whatever still lives, by the pids in its table."""
        pids = [int(entry["pid"]) for entry in self.endpoints().values() if entry.get("pid")]  # type: ignore[call-overload]
        if (self.proc is not None and self.proc.poll() is None) or any(alive(pid) for pid in pids):
            subprocess.run([str(SPICADB), "stop"], env=self.env, capture_output=True, timeout=90)
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def run(infra_dir: Path) -> Iterator[Run]:
    data = infra_dir / f"run-{time.monotonic_ns()}"
    instance = Run(data)
    yield instance
    instance.kill()


def alive(pid: int) -> bool:
    return pid_alive(pid)


def test_run_starts_everything_prints_the_table_and_stops_cleanly(run: Run) -> None:
    run.start()
    table = run.wait_ready()
    probe = httpx.get(f"{table['probe']['url']}/health/ready")
    assert probe.status_code == 200
    assert probe.json()["schema_version"] == f"{KIT} probe:0001"
    # every installed service is part of the platform, at its runtime-contract port
    programmes = httpx.get(f"{table['programmes']['url']}/health/ready")
    assert programmes.status_code == 200
    assert programmes.json()["schema_version"] == f"{KIT} {PROGRAMMES}"
    assert table["postgres"]["url"] == f"postgresql://spicadb@127.0.0.1:{run.env['SPICADB_PG_PORT']}/spicadb"
    pids = [int(entry["pid"]) for entry in table.values()]  # type: ignore[call-overload]
    assert all(alive(pid) for pid in pids)

    output = run.stop()
    assert "initialising a PostgreSQL cluster" in output
    lines = [line.split() for line in output.splitlines()]
    assert ["probe", table["probe"]["url"], "ready"] in lines  # the printed table
    assert {e["state"] for e in run.endpoints().values()} == {"stopped"}
    assert not any(alive(pid) for pid in pids)


def test_second_run_reuses_the_data(run: Run) -> None:
    run.start()
    run.wait_ready()
    run.stop()
    run.start()
    run.wait_ready()
    output = run.stop()
    assert "initialising" not in output  # the cluster made by the first run is used again
    assert f"probe: schema {KIT} probe:0001" in output


def test_second_run_while_running_is_refused(run: Run) -> None:
    run.start()
    run.wait_ready()
    second = subprocess.run([str(SPICADB), "run"], env=run.env, capture_output=True, text=True, timeout=30)
    assert second.returncode == 1
    assert "already running" in second.stderr
    run.stop()
