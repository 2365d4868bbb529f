"""Two ``make bench BENCH_ARGS="--json FILE"`` documents side by side, figure by figure: each figure's value
and its ratio to the raw baseline of its own run, in A and in B, and B against A; the verdicts that changed.

Usage: ``.venv/bin/python tests/bench/compare.py A.json B.json [--section NAME]``; exit status 1 when a
figure met in A is short or failed in B.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench_report import FORMAT


def load(path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """section -> metric -> figure."""
    document = json.loads(path.read_text())
    if document.get("format") != FORMAT:
        raise SystemExit(f"{path}: not a {FORMAT} document")
    return {
        name: {figure["metric"]: figure for figure in section["figures"]}
        for name, section in document["sections"].items()
    }


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{text} {unit}".strip()


def change(a: float | None, b: float | None) -> str:
    return f"{b / a:.2f}x" if a and b is not None else "-"


def verdict(figure: dict[str, Any] | None) -> str:
    if figure is None:
        return "absent"
    return figure["verdict"] or ""


def compare(
    a: dict[str, dict[str, dict[str, Any]]], b: dict[str, dict[str, dict[str, Any]]], only: str | None
) -> int:
    worse = 0
    header = f"{'figure':<64}{'A':>16}{'B':>16}{'B/A':>8}{'ratio A':>9}{'ratio B':>9}  verdict"
    for name in sorted(set(a) | set(b)):
        if only and name != only:
            continue
        print(f"\n[{name}]\n{header}")
        left, right = a.get(name, {}), b.get(name, {})
        for metric in [*left, *(m for m in right if m not in left)]:
            fa, fb = left.get(metric), right.get(metric)
            unit = (fa or fb or {}).get("unit", "")
            va, vb = (fa or {}).get("value"), (fb or {}).get("value")
            ra, rb = (fa or {}).get("ratio"), (fb or {}).get("ratio")
            was, now = verdict(fa), verdict(fb)
            shown = now if was == now else f"{was or '-'} -> {now or '-'}"
            if was == "met" and now in ("short", "failed", "absent"):
                worse += 1
                shown += "  WORSE"
            print(
                f"{metric[:63]:<64}{number(va, unit):>16}{number(vb, unit):>16}{change(va, vb):>8}"
                f"{number(ra):>9}{number(rb):>9}  {shown}"
            )
    print(f"\n{worse} figure(s) met in A and not in B")
    return 1 if worse else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    parser.add_argument("--section", help="one section (pipeline, gateway, nightlogs, ...)")
    args = parser.parse_args()
    return compare(load(args.a), load(args.b), args.section)


if __name__ == "__main__":
    sys.exit(main())
