"""`make run`'s supervisor and a service that dies at every start (here: one no package installs, so
`spicadb serve` refuses it): it is started again after a delay that grows (1 s, then 2 s), not in a loop,
and its row says how its last process ended."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from spicadb_kit.infra import free_port
from spicadb_kit.runtime.supervisor import Component, Platform
from spicadb_kit.settings import RuntimeSettings
from spicadb_kit.spec import ServiceSpec


def test_a_service_dying_at_each_start_is_restarted_later_each_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = ServiceSpec(name="broken", app="nowhere:create_app", default_port=free_port())
    platform = Platform(RuntimeSettings(data=str(tmp_path)), specs=[spec])
    (tmp_path / "logs").mkdir()
    broken = platform.spawn(Component("broken", f"http://127.0.0.1:{spec.default_port}", spec=spec))
    platform.components["broken"] = broken
    try:
        deadline = time.monotonic() + 30
        while broken.restarts < 2 or broken.state != "restarting":
            assert time.monotonic() < deadline, capsys.readouterr().err
            platform.supervise()
            time.sleep(0.1)
    finally:
        if broken.proc is not None and broken.proc.poll() is None:
            broken.proc.kill()
            broken.proc.wait(10)
    said = capsys.readouterr().err
    delays = [
        line.split(" restarting it in ")[1].split(",")[0] for line in said.splitlines() if "died" in line
    ]
    assert delays == ["1 s", "2 s", "5 s"]
    assert "broken restarted (pid " in said
    assert (broken.restarts, broken.last_exit) == (2, "exit 2")
    entry = broken.entry()
    assert (entry["state"], entry["restarts"], entry["last_exit"]) == ("restarting", 2, "exit 2")
    # its three starts, each one's refusal appended to its log
    assert (tmp_path / "logs" / "broken.log").read_text().count("no installed service 'broken'") == 3
