"""schemathesis against the programmes service's OpenAPI document (checks in fuzz_support)."""

from __future__ import annotations

from fuzz_support import SETTINGS, Target, load_schema
from schemathesis import Case
from spicadb_programmes.spec import SPEC

schema = load_schema(SPEC)


@schema.parametrize()
@SETTINGS
def test_programmes(case: Case, programmes_api: Target) -> None:
    programmes_api.check(case)
