"""schemathesis against the oifits service's OpenAPI document (checks in fuzz_support)."""

from __future__ import annotations

from fuzz_support import SETTINGS, Target, load_schema
from schemathesis import Case
from spicadb_oifits.spec import SPEC

schema = load_schema(SPEC)


@schema.parametrize()
@SETTINGS
def test_oifits(case: Case, oifits_api: Target) -> None:
    oifits_api.check(case)
