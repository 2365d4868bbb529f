"""Each service's OpenAPI document is committed under contracts/openapi/ and kept in step with the code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from spicadb_kit.runtime.openapi import write_or_check
from spicadb_kit.spec import discover_services

COMMITTED = Path(__file__).resolve().parents[2] / "contracts" / "openapi"


def test_committed_documents_match_the_services(capsys: pytest.CaptureFixture[str]) -> None:
    assert write_or_check(COMMITTED, check=True) == 0, capsys.readouterr().out
    assert {p.stem for p in COMMITTED.glob("*.json")} == {s.name for s in discover_services()}


def test_an_edited_or_missing_document_is_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "openapi"
    shutil.copytree(COMMITTED, copy)
    auth = json.loads((copy / "auth.json").read_text())
    auth["paths"].pop(next(iter(auth["paths"])))
    (copy / "auth.json").write_text(json.dumps(auth))
    (copy / "gateway.json").unlink()
    assert write_or_check(copy, check=True) == 1
    out = capsys.readouterr().out
    assert "changed: " in out
    assert "auth.json" in out
    assert "missing: " in out
    assert write_or_check(copy, check=False) == 0  # `make contracts` repairs it
    assert write_or_check(copy, check=True) == 0


def test_every_operation_has_an_operation_id() -> None:
    for path in COMMITTED.glob("*.json"):
        document = json.loads(path.read_text())
        for route, operations in document["paths"].items():
            for method, operation in operations.items():
                if method not in {"get", "post", "put", "patch", "delete"}:
                    continue
                assert operation.get("operationId"), (
                    f"{path.name}: {method.upper()} {route} has no operationId"
                )
