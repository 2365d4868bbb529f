"""The gateway's problem types (beside the kit's: missing or invalid token, scope, not found, method)."""

from __future__ import annotations

from spicadb_kit.problems import Catalogue, ProblemType

BAD_PATH = ProblemType.http(400, "bad-path", "A path with control characters or . and .. segments")
LOGIN_STATE = ProblemType.http(
    400,
    "login-state",
    "The login callback's state is missing, unknown or expired: start again at /auth/login",
)
INVALID_SESSION = ProblemType.http(
    401, "invalid-session", "The session cookie names no session the auth service still honours"
)
LOGIN_REFUSED = ProblemType.http(
    401, "login-refused", "The auth service refused the login or the code exchange"
)
CSRF = ProblemType.http(
    403, "csrf", "A change authenticated by the session cookie without the X-CSRF-Token header matching it"
)
CORS_ORIGIN = ProblemType.http(403, "cors-origin", "A cross-origin request from an origin not allowed")
CORS_METHOD = ProblemType.http(
    403, "cors-method", "A cross-origin preflight for a method not allowed on the path"
)
BODY_TOO_LARGE = ProblemType.http(413, "body-too-large", "The request body exceeds the route's limit")
RATE_LIMITED = ProblemType.http(
    429, "rate-limited", "Too many requests from this client: retry after the Retry-After header's seconds"
)
NO_UPSTREAM = ProblemType.http(502, "no-upstream", "No upstream is configured for the service of this route")
UPSTREAM_UNREACHABLE = ProblemType.http(
    502, "upstream-unreachable", "The service of this route is unreachable"
)
AUTH_UNREACHABLE = ProblemType.http(
    502, "auth-unreachable", "The auth service is unreachable (a session needing a new token, a login)"
)
UPSTREAM_TIMEOUT = ProblemType.http(
    504, "upstream-timeout", "The service of this route did not answer in time"
)

CATALOGUE = Catalogue.of(vars())
