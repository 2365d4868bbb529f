"""schemathesis against the tap service's OpenAPI document (checks in fuzz_support): TAP queries, async
jobs and VOSI, with whatever parameters and bodies the document allows."""

from __future__ import annotations

from fuzz_support import SETTINGS, Target, load_schema
from schemathesis import Case
from spicadb_tap.spec import SPEC

schema = load_schema(SPEC)


@schema.parametrize()
@SETTINGS
def test_tap(case: Case, tap_api: Target) -> None:
    tap_api.check(case)
