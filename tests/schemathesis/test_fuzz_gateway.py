"""schemathesis against the gateway's own routes (checks in fuzz_support)."""

from __future__ import annotations

from fuzz_support import SETTINGS, Target, load_schema
from schemathesis import Case
from spicadb_gateway.spec import SPEC

schema = load_schema(SPEC)


@schema.parametrize()
@SETTINGS
def test_gateway(case: Case, gateway_api: Target) -> None:
    gateway_api.check(case)
