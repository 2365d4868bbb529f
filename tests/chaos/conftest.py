"""The fault suite's platforms (`make chaos`, never `make test`): real processes on loopback, each test
module starting its own and stopping every process by its pid, also when a test fails."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from chaos_platform import INSTALLED, ChaosPlatform


@pytest.fixture(scope="module")
def chaos_dir(infra_dir: Path) -> Path:
    """A folder of the module under the session's one (the postgres user can reach it; pytest's
    tmp_path is root-only)."""
    path = infra_dir / f"chaos-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    path.chmod(0o755)
    return path


@pytest.fixture(scope="module")
def replicated(chaos_dir: Path) -> Iterator[ChaosPlatform]:
    """PostgreSQL, NATS and two replicas of every installed service, supervised, for the module."""
    platform = ChaosPlatform(chaos_dir, INSTALLED, replicas=2)
    try:
        platform.start()
        yield platform
    finally:
        platform.stop()
