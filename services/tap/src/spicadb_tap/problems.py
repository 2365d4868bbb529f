"""The tap service's problem types (beside the kit's). TAP queries themselves answer VOTable error
documents (QUERY_STATUS=ERROR), as the standard asks; these are for the routes around them."""

from __future__ import annotations

from spicadb_kit.problems import Catalogue, ProblemType

JOB_NOT_FOUND = ProblemType.http(404, "job-not-found", "No async job of the caller has this id")

CATALOGUE = Catalogue.of(vars())
