"""The error answers of the admin API in its OpenAPI document: RFC 9457 problem documents
(``application/problem+json``), as ``spicadb_kit.errors`` writes them."""

from __future__ import annotations

import msgspec
from litestar.openapi.datastructures import ResponseSpec

from spicadb_kit.errors import PROBLEM_MEDIA_TYPE, FieldError


class ProblemOut(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem document (``code``-specific members may be added beside these)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    # the fields that are wrong (400, 422)
    errors: list[FieldError] | None = None
    request_id: str | None = None


WHY: dict[int, str] = {
    400: "Malformed request: the body is no JSON of the expected shape (the fields are named)",
    401: "No bearer token, or one that is invalid, expired or revoked",
    403: "The token lacks the admin scope",
    404: "No such client, account or key",
    409: "Conflicts with the current state (exists already, a public client, the last admin, "
    "a client people sign in through)",
    422: "Well-formed but refused by a rule (the fields are named)",
}


class OAuthErrorOut(msgspec.Struct, omit_defaults=True):
    """An OAuth 2 error (RFC 6749 §5.2): the token, revocation and introspection endpoints answer these,
    not problem documents, as OAuth clients expect."""

    error: str
    error_description: str | None = None
    error_uri: str | None = None


OAUTH_WHY: dict[int, str] = {
    400: "An OAuth 2 error: invalid_request, invalid_grant, unsupported_grant_type, invalid_scope, ...",
    401: "The client did not authenticate (invalid_client)",
    403: "The client may not do this (unauthorized_client, access_denied)",
}


def oauth_errors(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI responses: an OAuth 2 error (``application/json``) at each of these statuses."""
    return {
        status: ResponseSpec(
            data_container=OAuthErrorOut,
            description=OAUTH_WHY[status],
            media_type="application/json",
            generate_examples=False,
        )
        for status in sorted(set(statuses))
    }


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI responses for these statuses, plus 401 and 403 (every admin route)."""
    wanted = sorted({401, 403, *statuses})
    return {
        status: ResponseSpec(
            data_container=ProblemOut,
            description=WHY[status],
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status in wanted
    }


__all__ = ["OAuthErrorOut", "ProblemOut", "oauth_errors", "problems"]
