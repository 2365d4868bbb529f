"""The obsportal service's OpenAPI document is the same whether it is built alone or after the night logs'
(typing caches ``Level | None`` by equality, and two Literals of the same levels in another order are
equal: the order of the first one imported was written)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

COMMITTED = Path(__file__).resolve().parents[2] / "contracts" / "openapi" / "obsportal.json"

BUILD_ALONE = """
import json, logging
logging.disable(logging.WARNING)
from spicadb_obsportal.spec import SPEC
from spicadb_kit.runtime.openapi import render
print(render(SPEC), end="")
"""


def test_built_alone_it_is_the_committed_document() -> None:
    alone = subprocess.run(
        [sys.executable, "-c", BUILD_ALONE], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert json.loads(alone) == json.loads(COMMITTED.read_text())
