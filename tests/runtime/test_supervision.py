"""`make run` supervises its services: one killed with SIGKILL is started again (a new pid, ready again),
the run's output says so, and `spicadb status` shows the restart and its cause; `spicadb status` fails
while something is not ready, and once the platform is stopped. The platform runs the probe service
alone (SPICADB_RUN_ONLY), so the test stays short."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from spicadb_kit.infra import free_port, pid_alive

SUPPORT = Path(__file__).parent.parent / "support"
SPICADB = Path(sys.executable).parent / "spicadb"
T = TypeVar("T")

pytestmark = pytest.mark.slow


def wait_for(predicate: Callable[[], T | None], timeout: float = 45.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := predicate()) is not None:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


class ProbePlatform:
    """`spicadb run` with only the probe service, its output in a file of the data folder."""

    def __init__(self, base: Path) -> None:
        self.data = base / f"supervised-{time.monotonic_ns()}"
        self.data.mkdir()
        self.output = self.data / "run.out"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(SUPPORT),
            "SPICADB_DATA": str(self.data),
            "SPICADB_PG_PORT": str(free_port()),
            "SPICADB_NATS_PORT": str(free_port()),
            "SPICADB_NATS_MONITOR_PORT": str(free_port()),
            "SPICADB_PROBE_PORT": str(free_port()),
            "SPICADB_SERVICES": "probe_service.spec:SPEC",
            "SPICADB_RUN_ONLY": "probe",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.output, "ab") as out:
            self.proc = subprocess.Popen(
                [str(SPICADB), "run"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def endpoints(self) -> dict[str, dict[str, Any]]:
        path = self.data / "endpoints.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def probe_ready(self, unlike_pid: int | None = None) -> dict[str, Any] | None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"spicadb run exited: {self.output.read_text()}")
        probe = self.endpoints().get("probe")
        if probe is None or probe["state"] != "ready" or probe["pid"] == unlike_pid:
            return None
        return probe

    def status(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SPICADB), "status", *args], env=self.env, capture_output=True, text=True, timeout=30
        )

    def status_json(self) -> tuple[int, dict[str, Any]]:
        result = self.status("--json")
        document = json.loads(result.stdout)
        return result.returncode, {row["name"]: row for row in document["components"]}

    def stop(self) -> None:
        """`spicadb stop`, then whatever still lives, by the pids it started."""
        pids = [int(entry["pid"]) for entry in self.endpoints().values() if entry.get("pid")]
        subprocess.run([str(SPICADB), "stop"], env=self.env, capture_output=True, timeout=90)
        if self.proc is not None:
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        for pid in pids:
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def platform(infra_dir: Path) -> Iterator[ProbePlatform]:
    instance = ProbePlatform(infra_dir)
    yield instance
    instance.stop()


def test_a_killed_service_is_restarted_and_status_shows_it(platform: ProbePlatform) -> None:
    platform.start()
    first = wait_for(platform.probe_ready)
    code, rows = platform.status_json()
    assert code == 0
    assert {name: row["health"] for name, row in rows.items()} == {
        "postgres": "ready",
        "nats": "ready",
        "probe": "ready",
    }
    probe = rows["probe"]
    assert (probe["port"], probe["restarts"], probe["last_exit"]) == (
        int(platform.env["SPICADB_PROBE_PORT"]),
        0,
        None,
    )
    assert (probe["lag"], probe["backlog"], probe["dead_letters"]) == (0, 0, 0)

    os.kill(first["pid"], signal.SIGKILL)
    again = wait_for(lambda: platform.probe_ready(unlike_pid=first["pid"]))
    assert httpx.get(f"{again['url']}/health/ready").status_code == 200
    assert not pid_alive(first["pid"])

    code, rows = platform.status_json()
    assert code == 0
    assert rows["probe"]["health"] == "ready"
    assert (rows["probe"]["pid"], rows["probe"]["restarts"], rows["probe"]["last_exit"]) == (
        again["pid"],
        1,
        "SIGKILL",
    )
    table = platform.status()
    assert table.returncode == 0
    header, *lines = table.stdout.splitlines()
    assert header.split()[:5] == ["service", "port", "health", "lag", "backlog"]
    probe_line = next(line for line in lines if line.startswith("probe "))
    assert probe_line.split()[:7] == [
        "probe",
        platform.env["SPICADB_PROBE_PORT"],
        "ready",
        "0",
        "0",
        "0",
        "1",
    ]
    assert "SIGKILL at " in probe_line
    output = platform.output.read_text()
    assert f"probe (pid {first['pid']}) died (SIGKILL)" in output
    assert f"probe restarted (pid {again['pid']}, restart 1)" in output


def test_status_fails_while_a_service_does_not_answer_and_once_stopped(platform: ProbePlatform) -> None:
    platform.start()
    probe = wait_for(platform.probe_ready)
    os.kill(probe["pid"], signal.SIGSTOP)  # alive but answering nothing: no restart, and not ready
    try:
        code, rows = platform.status_json()
    finally:
        os.kill(probe["pid"], signal.SIGCONT)
    assert code == 1
    assert (rows["probe"]["health"], rows["postgres"]["health"]) == ("down", "ready")
    assert rows["probe"]["problems"] == ["no answer: ReadTimeout"]

    platform.stop()
    stopped = platform.status()
    assert stopped.returncode == 1
    assert "is not running" in stopped.stderr
    assert [line.split()[2:4] for line in stopped.stdout.splitlines()[1:]] == [["down", "(stopped)"]] * 3
