"""The figures of a benchmark script and the one JSON document of a ``make bench`` run.

Every script collects what it prints next to a target as :class:`Figure` rows (value, the raw baseline
measured in the same run, their ratio, the target and a verdict) in a :class:`Figures`, then calls
:func:`finish`, which writes its section into the ``--json`` document and says the exit status.

One document for the whole run: each script merges its section (``sections.<script>``) into the file
named by ``--json``. ``make bench`` sets ``SPICADB_BENCH_RUN`` (one id for the run): a document left by
another run is started afresh by the first script of this one, so no section of an older run survives.
A script run alone (no ``SPICADB_BENCH_RUN``) replaces its own section and keeps the others'.
``tests/bench/compare.py A.json B.json`` compares two documents figure by figure.

Verdicts: ``met``, ``short`` (measured, target missed), ``failed`` (not measured: an error, a wrong
answer; the bench itself is broken) and ``None`` for a figure shown for context, with no target.
Exit status: 1 when a figure failed or, except with ``--smoke``, missed its target; ``--smoke`` runs
(tiny sizes, ``tests/bench/test_bench_smoke.py``) check that the bench works, never its speed.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

FORMAT = "spicadb-bench/1"
RUN_VARIABLE = "SPICADB_BENCH_RUN"
Verdict = Literal["met", "short", "failed"] | None


@dataclass
class Figure:
    metric: str
    value: float | None
    unit: str
    target: str = ""
    verdict: Verdict = None
    baseline: float | None = None
    baseline_label: str = ""
    ratio: float | None = None
    error: str = ""


@dataclass
class Figures:
    """The figures of one script (its section of the document)."""

    section: str
    items: list[Figure] = field(default_factory=list)

    def add(
        self,
        metric: str,
        value: float | None,
        unit: str,
        *,
        target: str = "",
        met: bool | None = None,
        baseline: float | None = None,
        baseline_label: str = "",
        ratio: float | None = None,
    ) -> Figure:
        """A measured figure; ``met`` None: shown for context, no target."""
        if ratio is None and value is not None and baseline:
            ratio = value / baseline
        verdict: Verdict = None if met is None else ("met" if met else "short")
        figure = Figure(metric, value, unit, target, verdict, baseline, baseline_label, ratio)
        self.items.append(figure)
        return figure

    def failed(self, metric: str, error: str, *, target: str = "") -> Figure:
        """A figure that could not be measured: the bench (or the path it measures) is broken."""
        figure = Figure(metric, None, "", target, "failed", error=str(error)[:600])
        self.items.append(figure)
        return figure

    def count(self, verdict: Verdict) -> int:
        return sum(1 for figure in self.items if figure.verdict == verdict)


def section_of(figures: Figures, details: Any, argv: list[str]) -> dict[str, Any]:
    return {
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "argv": argv,
        "figures": [asdict(figure) for figure in figures.items],
        "failed": figures.count("failed"),
        "short": figures.count("short"),
        "details": details,
    }


def merge(path: Path, name: str, section: dict[str, Any]) -> None:
    """``section`` into the document at ``path``: a new document when there is none or it belongs to
    another ``make bench`` run, else this script's section replaced and the others kept."""
    run = os.environ.get(RUN_VARIABLE, "")
    document: dict[str, Any] = {}
    if path.exists():
        try:
            document = json.loads(path.read_text())
        except ValueError:
            document = {}
    if document.get("format") != FORMAT or (run and document.get("run") != run):
        document = {
            "format": FORMAT,
            "run": run,
            "machine": {
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "system": platform.platform(),
            },
            "sections": {},
        }
    document["sections"][name] = section
    temporary = path.with_name(path.name + ".part")
    temporary.write_text(json.dumps(document, indent=2, default=str))
    temporary.replace(path)


def finish(figures: Figures, details: Any, json_path: Path | None, smoke: bool) -> int:
    """Writes the section (with ``--json``), prints the failures again and returns the exit status."""
    if json_path is not None:
        merge(Path(json_path), figures.section, section_of(figures, details, sys.argv[1:]))
        print(f"{figures.section}: {len(figures.items)} figures written to {json_path}", flush=True)
    for figure in figures.items:
        if figure.verdict == "failed":
            print(f"FAILED figure: {figure.metric}: {figure.error}", flush=True)
    if figures.count("failed"):
        return 1
    return 0 if smoke or not figures.count("short") else 1
