"""The benchmarks run as scripts, outside pytest: ``use_test_helpers()`` puts on sys.path the folders of the
test helpers they import (harness, gateway_support, synthetic, ...), read from pytest's ``pythonpath`` in the
root pyproject.toml, so that the tests and the benchmarks find them through one list."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def helper_folders() -> list[Path]:
    """The folders of pytest's ``pythonpath`` (root pyproject.toml), absolute."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [ROOT / folder for folder in config["tool"]["pytest"]["ini_options"]["pythonpath"]]


def use_test_helpers() -> None:
    """The test helpers' folders first on sys.path, as pytest puts them."""
    folders = [str(folder) for folder in helper_folders()]
    sys.path[:0] = [folder for folder in folders if folder not in sys.path]
