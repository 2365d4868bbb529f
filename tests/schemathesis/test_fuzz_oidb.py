"""schemathesis against the oidb service's OpenAPI document (checks in fuzz_support)."""

from __future__ import annotations

from fuzz_support import SETTINGS, Target, load_schema
from schemathesis import Case
from spicadb_oidb.spec import SPEC

schema = load_schema(SPEC)


@schema.parametrize()
@SETTINGS
def test_oidb(case: Case, oidb_api: Target) -> None:
    oidb_api.check(case)
