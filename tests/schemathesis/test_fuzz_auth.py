"""schemathesis against the auth service's OpenAPI document (checks in fuzz_support). The operations that
disable, rotate or revoke run on an auth service of their own, so that the general run's admin token
keeps working."""

from __future__ import annotations

from fuzz_support import SETTINGS, Target, load_schema
from schemathesis import Case
from spicadb_auth.spec import SPEC

ALONE = ("disableClient", "rotateClientSecret", "rotateKeys", "disableUser", "setUserRoles", "revoke")

schema = load_schema(SPEC, exclude=ALONE)
alone = load_schema(SPEC).include(operation_id=list(ALONE))


@schema.parametrize()
@SETTINGS
def test_auth(case: Case, auth_api: Target) -> None:
    auth_api.check(case)


@alone.parametrize()
@SETTINGS
def test_auth_alone(case: Case, auth_api_alone: Target) -> None:
    auth_api_alone.check(case)
