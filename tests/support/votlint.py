"""`stilts votlint` on a VOTable: its ERROR lines (it always exits 0). Skips the test when stilts is not
installed (`apt-get install stilts`); call it last, so the assertions before it run either way."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest


def votlint(data: bytes, tmp_path: Path) -> list[str]:
    """The ERROR lines votlint writes about ``data`` (all its output when there is any, to read)."""
    stilts = shutil.which("stilts")
    if stilts is None:
        pytest.skip("stilts is not installed: votlint not run (apt-get install stilts)")
    path = tmp_path / f"votable-{uuid.uuid4().hex[:8]}.xml"
    path.write_bytes(data)
    result = subprocess.run(
        [stilts, "votlint", f"votable={path}"], capture_output=True, text=True, timeout=180, check=False
    )
    output = (result.stdout + result.stderr).splitlines()
    return [line for line in output if line.startswith("ERROR")]
