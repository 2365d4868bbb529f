"""schemathesis against the nightlogs service's OpenAPI document (checks in fuzz_support)."""

from __future__ import annotations

from fuzz_support import SETTINGS, Target, load_schema
from schemathesis import Case
from spicadb_nightlogs.spec import SPEC

schema = load_schema(SPEC)


@schema.parametrize()
@SETTINGS
def test_nightlogs(case: Case, nightlogs_api: Target) -> None:
    nightlogs_api.check(case)
