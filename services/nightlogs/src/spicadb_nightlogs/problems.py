"""The night logs' problem types (beside the kit's)."""

from __future__ import annotations

from spicadb_kit.problems import Catalogue, ProblemType

MALFORMED_LOG = ProblemType.http(400, "malformed-log", "The night log cannot be read as CSV or JSON")
SITE_NOT_FOUND = ProblemType.http(404, "site-not-found", "No site of this name: the night logs know theirs")
NIGHT_NOT_FOUND = ProblemType.http(
    404, "night-not-found", "No such night: not a date, not begun, or nothing planned or logged for it"
)
LOG_VERSION_NOT_FOUND = ProblemType.http(404, "log-version-not-found", "The night has no log of this version")
OBSERVATION_NOT_FOUND = ProblemType.http(404, "observation-not-found", "No observation has this id")
EMPTY_LOG = ProblemType.http(422, "empty-log", "The night log has no lines")
INVALID_LOG_HEADER = ProblemType.http(
    422, "invalid-log-header", "The CSV header names unknown, repeated or missing columns (named in `errors`)"
)
INVALID_LOG = ProblemType.http(
    422, "invalid-log", "Lines or cells of the night log are wrong (named in `errors`): nothing was written"
)
TOO_MANY_OBSERVATIONS = ProblemType.http(
    422, "too-many-observations", "The log holds more SPICA observations than a night log may"
)
LOG_TOO_LONG = ProblemType.http(422, "log-too-long", "The log holds more lines than this service reads")
UNKNOWN_PROGRAMME = ProblemType.http(422, "unknown-programme", "No programme of this code is known here")
INVALID_PLAN = ProblemType.http(
    422, "invalid-plan", "The night's plan has errors (named in `errors`): nothing was written"
)

CATALOGUE = Catalogue.of(vars())
