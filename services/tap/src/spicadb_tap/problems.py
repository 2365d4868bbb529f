"""The tap service's problem types (beside the kit's). TAP queries themselves answer VOTable error
documents (QUERY_STATUS=ERROR), as the standard asks; these are for the routes around them."""

from __future__ import annotations

from spicadb_kit.problems import Catalogue, ProblemType

JOB_NOT_FOUND = ProblemType.http(404, "job-not-found", "No async job of the caller has this id")
JOB_PHASE = ProblemType.http(
    409,
    "job-phase",
    "The async job's phase does not allow this (its parameters change only while PENDING; an ended job does "
    "not run again)",
)
JOB_NO_RESULT = ProblemType.http(
    404, "job-no-result", "The async job has no result (or no error) to show yet"
)

CATALOGUE = Catalogue.of(vars())
