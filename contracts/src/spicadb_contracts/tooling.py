"""``spicadb-contracts``: generate the committed contract files and check them in CI.

``generate`` writes one JSON Schema per declared event and the AsyncAPI document under ``contracts/``.
``check`` regenerates in memory and fails on drift (a file that differs, is missing, or belongs to no
declared event), then fails on breaking changes of any event version against every version of its schema
committed in git history, including an event version that was committed and is no longer declared.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import history
from .base import registered_events
from .compat import compare, tightenings
from .render import SCHEMAS_DIR, JsonObject, render

__all__ = ["check", "compare", "expected_files", "find_drift", "generate", "main"]

DIFF_LINES = 30


def default_root() -> Path:
    """The repository root of an editable install: contracts/src/spicadb_contracts/ -> ../../.."""
    return Path(__file__).resolve().parents[3]


def expected_files() -> dict[str, bytes]:
    """What ``generate`` writes for the events declared in this package, by root-relative path."""
    return render(registered_events())


def _schema_files(root: Path) -> set[str]:
    folder = root / SCHEMAS_DIR
    return {f"{SCHEMAS_DIR}/{p.name}" for p in folder.glob("*.json")} if folder.is_dir() else set()


def _short_diff(path: str, committed: bytes, generated: bytes) -> list[str]:
    lines = difflib.unified_diff(
        committed.decode(errors="replace").splitlines(),
        generated.decode(errors="replace").splitlines(),
        f"{path} (committed)",
        f"{path} (generated)",
        lineterm="",
    )
    diff = list(lines)
    cut = [f"... {len(diff) - DIFF_LINES} more diff lines"] if len(diff) > DIFF_LINES else []
    return [f"      {line}" for line in diff[:DIFF_LINES] + cut]


def find_drift(root: Path, expected: dict[str, bytes]) -> list[str]:
    """One line per file that differs from generation (plus a short diff), is missing, or is stale."""
    problems: list[str] = []
    for path, content in expected.items():
        target = root / path
        if not target.is_file():
            problems.append(f"  missing: {path}")
        elif (committed := target.read_bytes()) != content:
            problems.append(f"  changed: {path}")
            problems.extend(_short_diff(path, committed, content))
    for path in sorted(_schema_files(root) - expected.keys()):
        problems.append(f"  stale:   {path} (no declared event has this name and version)")
    return problems


def generate(root: Path) -> int:
    """Write every generated file that changed and remove schema files of undeclared events."""
    expected = expected_files()
    for path, content in expected.items():
        target = root / path
        if not target.is_file() or target.read_bytes() != content:  # untouched files keep their mtime
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            print(f"wrote {path}")
    for path in sorted(_schema_files(root) - expected.keys()):
        (root / path).unlink()
        print(f"removed {path} (no declared event has this name and version)")
    print(f"contracts: {len(expected)} files up to date in {root / 'contracts'}")
    return 0


@dataclass
class Compatibility:
    breaking: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    baselines: int = 0


def _load(content: bytes) -> JsonObject | None:
    try:
        loaded = json.loads(content)
    except ValueError:
        return None
    return loaded if isinstance(loaded, dict) else None


def _compare_against(
    result: Compatibility, path: str, new: JsonObject, label: str, content: bytes, *, newest: bool
) -> None:
    old = _load(content)
    if old is None:
        result.notes.append(f"note: {path} ({label}) is not a JSON object; skipped")
        return
    result.baselines += 1
    result.breaking.extend(f"  {path} (vs {label}): {change}" for change in compare(old, new))
    if newest:  # once committed, a tightening is no longer news
        result.notes.extend(f"note: {path} (vs {label}): {change}" for change in tightenings(old, new))


def _baselines(root: Path, paths: list[str], result: Compatibility) -> dict[str, list[tuple[str, bytes]]]:
    """Committed versions of each schema; the working-tree files when git history is unusable."""
    reason = history.unavailable_reason(root)
    if reason is None:
        removed = sorted(history.committed_paths(root, SCHEMAS_DIR) - set(paths))
        result.breaking.extend(
            f"  {path}: event version removed (it was committed; consumers may still expect it)"
            for path in removed
        )
        return {path: history.committed_versions(root, path) for path in paths}
    result.notes.append(f"note: {reason}; compatibility checked against the working-tree files only")
    return {path: [("working tree", (root / path).read_bytes())] for path in paths if (root / path).is_file()}


def check_compatibility(root: Path, expected: dict[str, bytes]) -> Compatibility:
    """Breaking changes of each generated schema against its committed versions."""
    schemas = {
        path: json.loads(content) for path, content in expected.items() if path.startswith(SCHEMAS_DIR)
    }
    result = Compatibility()
    for path, versions in _baselines(root, sorted(schemas), result).items():
        for index, (label, content) in enumerate(versions):
            _compare_against(result, path, schemas[path], label, content, newest=index == 0)
    return result


def _report(title: str, lines: list[str], advice: str) -> None:
    print(title, *lines, advice, sep="\n", file=sys.stderr)


def check(root: Path) -> int:
    """Exit status 1 on drift or on a breaking change, with every offending file named on stderr."""
    expected = expected_files()
    drift = find_drift(root, expected)
    compat = check_compatibility(root, expected)
    for note in compat.notes:
        print(note, file=sys.stderr)
    if drift:
        _report(
            "contracts drift: the files under contracts/ differ from what the code generates:",
            drift,
            "Run `spicadb-contracts generate` (make contracts) and commit the result.",
        )
    if compat.breaking:
        _report(
            "contracts compatibility: breaking changes to declared event versions:",
            compat.breaking,
            "An event version may only gain fields with defaults and tighter bounds (see compat.py);"
            " for anything else declare a new version (version=N+1) next to the old one.",
        )
    if drift or compat.breaking:
        return 1
    print(
        f"contracts: {len(expected)} files match generation; no breaking change"
        f" against {compat.baselines} earlier schema versions"
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spicadb-contracts", description=__doc__.splitlines()[0] if __doc__ else None
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", type=Path, help="repository root (default: the one this package lives in)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "generate", parents=[common], help="write contracts/schemas/*.json and contracts/asyncapi.yaml"
    )
    commands.add_parser("check", parents=[common], help="fail on drift or on a breaking change (for CI)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    root: Path = (args.root or default_root()).resolve()
    if not (root / "contracts").is_dir():
        print(
            f"spicadb-contracts: {root} has no contracts/ folder; pass --root <repository root>",
            file=sys.stderr,
        )
        return 2
    return generate(root) if args.command == "generate" else check(root)


if __name__ == "__main__":
    sys.exit(main())
