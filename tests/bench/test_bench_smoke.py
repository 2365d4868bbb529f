"""Every benchmark script of ``make bench`` runs at its ``--smoke`` size, so a broken bench (a renamed method,
a changed answer, a crash) fails the suite rather than the next quiet-machine run. Speed is never asserted:
a smoke run exits 0 when its figures were measured, whatever they are. About 105 CPU-seconds in all (web 25,
oifits 15, the others 7-13 each): an estimated 60-80 s of wall time on a quiet two-core machine.

The scripts run as processes of their own (each starts its PostgreSQL, NATS and services on free ports and
stops them), two at a time: the machine has two cores. A script past its time gets SIGINT (it stops what it
started), then SIGKILL for its own process group (``start_new_session``: nothing else is in it).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent
# longest first, so that the two lanes end together; the section each writes in the JSON document
SCRIPTS = {
    "web": "web",
    "oifits": "oifits",
    "gateway": "gateway",
    "programmes": "programmes",
    "nightlogs": "nightlogs",
    "tap": "tap",
    "tap_catalogue": "tap_catalogue",
    "run": "pipeline",
}
PARALLEL = 2
TIMEOUT_S = 240.0  # with the 30 s grace after SIGINT, under pytest-timeout's 300 s per test
_running: set[subprocess.Popen[bytes]] = set()  # stopped by the fixture if the session ends first


@dataclass
class SmokeRun:
    script: str
    status: int | None
    output: str
    document: dict[str, Any] | None
    seconds: float


def run_script(script: str, folder: Path) -> SmokeRun:
    document = folder / f"{script}.json"
    env = {k: v for k, v in os.environ.items() if k != "SPICADB_BENCH_RUN"}
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(BENCH / f"{script}.py"), "--smoke", "--json", str(document)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    _running.add(proc)
    try:
        output, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)  # the script stops its servers in its finally blocks
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
        text = output.decode(errors="replace") + f"\n(stopped after {TIMEOUT_S:.0f} s)"
        return SmokeRun(script, None, text, None, time.monotonic() - started)
    finally:
        _running.discard(proc)
    loaded = json.loads(document.read_text()) if document.exists() else None
    return SmokeRun(
        script, proc.returncode, output.decode(errors="replace"), loaded, time.monotonic() - started
    )


@pytest.fixture(scope="module")
def smoke_runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The selected scripts, started together (two at a time) when the first test asks."""
    chosen = {
        item.callspec.params["script"]
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec")
    }
    folder = tmp_path_factory.mktemp("bench-smoke")
    with ThreadPoolExecutor(PARALLEL) as pool:
        runs: dict[str, Future[SmokeRun]] = {
            script: pool.submit(run_script, script, folder) for script in SCRIPTS if script in chosen
        }
        try:
            yield runs
        finally:  # interrupted: the scripts not started are dropped, the running ones stop their servers
            for future in runs.values():
                future.cancel()
            for proc in list(_running):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)


def tail(run: SmokeRun, lines: int = 60) -> str:
    return "\n".join(run.output.splitlines()[-lines:])


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_bench_script_runs(script: str, smoke_runs: dict[str, Future[SmokeRun]]) -> None:
    run = smoke_runs[script].result()
    print(f"{script}.py --smoke: {run.seconds:.1f} s")
    assert run.status == 0, f"{script}.py --smoke exited {run.status}:\n{tail(run)}"
    for marker in ("FAILED", "Traceback (most recent call last)"):
        assert marker not in run.output, f"{script}.py --smoke printed {marker!r}:\n{tail(run)}"
    assert run.document is not None, f"{script}.py --smoke wrote no JSON document:\n{tail(run)}"
    section = run.document["sections"][SCRIPTS[script]]
    assert section["figures"], f"{script}.py reported no figure"
    failed = [f for f in section["figures"] if f["verdict"] == "failed"]
    assert not failed, f"{script}.py: figures not measured: {failed}"
    measured = [f for f in section["figures"] if f["value"] is not None]
    assert all(f["unit"] and f["metric"] for f in measured), measured
