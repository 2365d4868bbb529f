"""schemathesis against the obsportal service's OpenAPI document (checks in fuzz_support)."""

from __future__ import annotations

from fuzz_support import SETTINGS, Target, load_schema
from schemathesis import Case
from spicadb_obsportal.spec import SPEC

schema = load_schema(SPEC)


@schema.parametrize()
@SETTINGS
def test_obsportal(case: Case, obsportal_api: Target) -> None:
    obsportal_api.check(case)
