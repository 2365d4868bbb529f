"""Fixtures of the contract tests: a temporary repository root holding a copy of the committed contracts."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from spicadb_contracts.tooling import default_root, main

REPO_ROOT = default_root()
ASYNCAPI = "contracts/asyncapi.yaml"


@pytest.fixture
def copied_root(tmp_path: Path) -> Path:
    """A root whose contracts/ holds a copy of the committed schemas and AsyncAPI document (no git)."""
    root = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "contracts/schemas", root / "contracts/schemas")
    shutil.copy2(REPO_ROOT / ASYNCAPI, root / ASYNCAPI)
    return root


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[[str, Path], tuple[int, str]]:
    """Run ``spicadb-contracts <command> --root <root>``; return its exit status and everything it printed."""

    def run(command: str, root: Path) -> tuple[int, str]:
        status = main([command, "--root", str(root)])
        out, err = capsys.readouterr()
        return status, out + err

    return run


def _git(root: Path, *args: str) -> None:
    # An identity of its own, so the tests do not depend on the user's git configuration.
    identity = [
        "-c",
        "user.name=Contract Tests",
        "-c",
        "user.email=tests@example.org",
        "-c",
        "commit.gpgsign=false",
    ]
    subprocess.run(["git", *identity, *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def git_commit(copied_root: Path) -> Callable[[str], None]:
    """Turn the copied root into a git repository; the returned function commits its whole tree."""
    _git(copied_root, "init", "--quiet", "--initial-branch=main")

    def commit(message: str) -> None:
        _git(copied_root, "add", "--all")
        _git(copied_root, "commit", "--quiet", "-m", message)

    return commit
