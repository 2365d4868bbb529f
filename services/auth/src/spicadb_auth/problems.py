"""The auth service's problem types (beside the kit's); the OAuth endpoints answer OAuth errors instead."""

from __future__ import annotations

from spicadb_kit.problems import Catalogue, ProblemType

INVALID_AUTHORIZATION_REQUEST = ProblemType(
    "invalid-authorization-request",
    "Invalid authorization request",
    400,
    "An authorization request with no redirect URI to answer to (unknown client, bad redirect_uri): "
    "its OAuth `error` beside",
    also=(401, 403),
)
CLIENT_NOT_FOUND = ProblemType.http(404, "client-not-found", "No OAuth client has this id")
USER_NOT_FOUND = ProblemType.http(404, "user-not-found", "No account has this username")
CLIENT_EXISTS = ProblemType.http(409, "client-exists", "An OAuth client of this id exists already")
PUBLIC_CLIENT = ProblemType.http(409, "public-client", "A public client has no secret")
CLIENT_DISABLED = ProblemType.http(409, "client-disabled", "The client is disabled")
PROTECTED_CLIENT = ProblemType.http(
    409, "protected-client", "The client people sign in through cannot be disabled"
)
USER_EXISTS = ProblemType.http(409, "user-exists", "An account of this username exists already")
LAST_ADMIN = ProblemType.http(409, "last-admin", "The change would take away the last active admin")
SELF_DISABLE = ProblemType.http(409, "self-disable", "An admin cannot disable their own account")
INVALID_REQUEST = ProblemType.http(
    422, "invalid-request", "A value the admin API refuses (the fields are named)"
)

CATALOGUE = Catalogue.of(vars())
