"""The OIFITS sample files of ../shared/data/oifits (outside the repository) and their MANIFEST."""

from __future__ import annotations

import csv
import re
from pathlib import Path

# ../shared/data/oifits relative to the repository root; a user's clone has no ../shared, and the files are never
# copied into the repository
SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "oifits"
MANIFEST = SAMPLES / "MANIFEST.tsv"


def manifest_rows() -> list[dict[str, str]]:
    if not MANIFEST.is_file():
        return []
    with MANIFEST.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def listed_rules(verdict_rules: str) -> set[str]:
    """The SPICA-DB rule ids (R-*, W-*) a MANIFEST verdict_rules cell names; the text after 'info:' is not a rule."""
    return set(re.findall(r"\b([RW]-[A-Z]+)\b", verdict_rules))


def sample_params() -> list[object]:
    """One pytest param per MANIFEST row (id = file name), or one skipped param saying why there are none."""
    import pytest

    rows = manifest_rows()
    if not rows:
        reason = f"no OIFITS samples at {SAMPLES} (a clone without ../shared)"
        return [pytest.param(None, id="no-samples", marks=pytest.mark.skip(reason=reason))]
    return [pytest.param(row, id=row["filename"]) for row in rows]
