"""`spicadb-contracts generate` and `check`: determinism, drift, and compatibility with git history."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spicadb_contracts import registered_events
from spicadb_contracts.tooling import default_root, main

Run = Callable[[str, Path], tuple[int, str]]
Commit = Callable[[str], None]
SCHEMA = "contracts/schemas/probe.ping.recorded.v1.json"
ASYNCAPI = "contracts/asyncapi.yaml"


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted((root / "contracts").rglob("*"))
        if p.is_file()
    }


def _edit_schema(root: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    path = root / SCHEMA
    schema = json.loads(path.read_text())
    edit(schema)
    path.write_text(json.dumps(schema, indent=2) + "\n")


def _sequence_as_string(schema: dict[str, Any]) -> None:
    schema["properties"]["sequence"] = {"type": "string"}


def test_generating_twice_is_byte_identical(tmp_path: Path, run_cli: Run) -> None:
    (tmp_path / "contracts").mkdir()
    assert run_cli("generate", tmp_path)[0] == 0
    first = _snapshot(tmp_path)
    status, output = run_cli("generate", tmp_path)
    assert status == 0
    assert _snapshot(tmp_path) == first
    assert "wrote" not in output  # nothing to rewrite the second time
    declared = {f"contracts/schemas/{e.event_name}.v{e.event_version}.json" for e in registered_events()}
    assert set(first) == declared | {ASYNCAPI}
    assert SCHEMA in declared
    assert all(content.endswith(b"\n") for content in first.values())


def test_committed_contracts_match_generation() -> None:
    # The repository as committed: `make test` runs this same check before the suite.
    assert main(["check", "--root", str(default_root())]) == 0


def test_check_passes_on_an_exact_copy_and_says_history_is_unavailable(
    copied_root: Path, run_cli: Run
) -> None:
    status, output = run_cli("check", copied_root)
    assert status == 0
    assert "checked against the working-tree files only" in output


def test_check_names_an_edited_schema(copied_root: Path, run_cli: Run) -> None:
    _edit_schema(copied_root, _sequence_as_string)
    status, output = run_cli("check", copied_root)
    assert status == 1
    assert f"changed: {SCHEMA}" in output
    assert "spicadb-contracts generate" in output
    # Without git, the working-tree file is the baseline, so the type change is also reported as breaking.
    assert "field 'sequence' changed type" in output


def test_check_names_a_missing_file(copied_root: Path, run_cli: Run) -> None:
    (copied_root / ASYNCAPI).unlink()
    status, output = run_cli("check", copied_root)
    assert status == 1
    assert f"missing: {ASYNCAPI}" in output


def test_check_names_a_stale_schema_and_generate_removes_it(copied_root: Path, run_cli: Run) -> None:
    stale = copied_root / "contracts/schemas/probe.ping.retired.v1.json"
    stale.write_bytes((copied_root / SCHEMA).read_bytes())
    status, output = run_cli("check", copied_root)
    assert status == 1
    assert "stale:   contracts/schemas/probe.ping.retired.v1.json" in output

    assert run_cli("generate", copied_root)[0] == 0
    assert not stale.exists()
    assert run_cli("check", copied_root)[0] == 0


def test_check_rejects_a_root_without_contracts(tmp_path: Path, run_cli: Run) -> None:
    status, output = run_cli("check", tmp_path)
    assert status == 2
    assert "--root" in output


def test_breaking_change_against_an_older_commit_fails(
    copied_root: Path, git_commit: Commit, run_cli: Run
) -> None:
    root = copied_root
    current = (root / SCHEMA).read_bytes()
    _edit_schema(root, _sequence_as_string)
    git_commit("an older version where sequence was a string")
    (root / SCHEMA).write_bytes(current)
    git_commit("current version")

    status, output = run_cli("check", root)
    assert status == 1
    assert "drift" not in output  # the working tree matches generation: only history catches this
    assert f"{SCHEMA} (vs " in output
    assert "field 'sequence' changed type" in output


def test_adding_an_optional_field_since_an_older_commit_passes(
    copied_root: Path, git_commit: Commit, run_cli: Run
) -> None:
    root = copied_root
    current = (root / SCHEMA).read_bytes()
    _edit_schema(root, lambda schema: schema["properties"].pop("tags"))
    git_commit("an older version without tags")
    (root / SCHEMA).write_bytes(current)
    git_commit("tags added, with a default")

    status, output = run_cli("check", root)
    assert status == 0, output
    # every committed schema once, plus the older probe schema without tags
    schemas = len(list((root / "contracts" / "schemas").glob("*.json")))
    assert f"against {schemas + 1} earlier schema versions" in output


def test_removed_event_version_fails(copied_root: Path, git_commit: Commit, run_cli: Run) -> None:
    root = copied_root
    retired = root / "contracts/schemas/probe.ping.retired.v1.json"
    retired.write_bytes((root / SCHEMA).read_bytes())
    git_commit("an event version that was published once")
    retired.unlink()
    git_commit("and was removed")

    status, output = run_cli("check", root)
    assert status == 1
    assert "contracts/schemas/probe.ping.retired.v1.json: event version removed" in output


def _note_unbounded(schema: dict[str, Any]) -> None:
    schema["properties"]["note"] = {"type": "string", "default": ""}


def _note_shorter(schema: dict[str, Any]) -> None:
    schema["properties"]["note"]["maxLength"] = schema["properties"]["note"]["maxLength"] // 2


def test_a_bound_added_since_the_last_commit_passes_with_a_note_for_the_reviewer(
    copied_root: Path, git_commit: Commit, run_cli: Run
) -> None:
    root = copied_root
    current = (root / SCHEMA).read_bytes()
    _edit_schema(root, _note_unbounded)
    git_commit("an older version where note had no bound")
    (root / SCHEMA).write_bytes(current)

    status, output = run_cli("check", root)  # the bound is not committed yet: the reviewer sees it
    assert status == 0, output
    assert f"note: {SCHEMA} (vs " in output
    assert "bound tightened on field 'note' maxLength: null -> 4000" in output

    git_commit("note bounded")
    status, output = run_cli("check", root)  # once committed, no longer news
    assert status == 0, output
    assert "bound tightened" not in output


def test_a_bound_loosened_since_an_older_commit_fails(
    copied_root: Path, git_commit: Commit, run_cli: Run
) -> None:
    root = copied_root
    current = (root / SCHEMA).read_bytes()
    _edit_schema(root, _note_shorter)
    git_commit("an older version where note had at most 2000 characters")
    (root / SCHEMA).write_bytes(current)
    git_commit("note at most 4000 characters: consumers of the older version refuse longer notes")

    status, output = run_cli("check", root)
    assert status == 1
    assert "drift" not in output
    assert "bound loosened on field 'note' maxLength: 2000 -> 4000" in output
