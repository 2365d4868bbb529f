"""Error answers in the auth service's OpenAPI document: the admin API's problem documents in its own
words (the kit documents every operation's, ``spicadb_kit.openapi``, schema ``ProblemDetails``; these
replace its descriptions where the admin API means something particular), and the OAuth 2 errors of
the token, revocation and introspection endpoints."""

from __future__ import annotations

import msgspec
from litestar.openapi.datastructures import ResponseSpec

from spicadb_kit.errors import PROBLEM_MEDIA_TYPE
from spicadb_kit.openapi import WHY as KIT_WHY
from spicadb_kit.openapi import ProblemDetails

WHY: dict[int, str] = {
    **KIT_WHY,
    403: "The token lacks the admin scope",
    404: "No such client, account or key",
    409: "Conflicts with the current state: exists already, a public client (no secret), the last "
    "active admin, one's own account, a client people sign in through (spica-gateway, spica-frontend)",
}


class OAuthErrorOut(msgspec.Struct, omit_defaults=True):
    """An OAuth 2 error (RFC 6749 §5.2): the token, revocation and introspection endpoints answer these,
    not problem documents, as OAuth clients expect."""

    error: str
    error_description: str | None = None
    error_uri: str | None = None


OAUTH_WHY: dict[int, str] = {
    400: "An OAuth 2 error: invalid_request, invalid_grant, unsupported_grant_type, invalid_scope, ...; "
    "a problem document when the request checks refuse the form before it is read (a NUL character)",
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
            data_container=ProblemDetails,
            description=WHY[status],
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status in wanted
    }


__all__ = ["OAuthErrorOut", "oauth_errors", "problems"]
