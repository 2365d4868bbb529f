"""The web console's problem types (beside the kit's)."""

from __future__ import annotations

from spicadb_kit.problems import Catalogue, ProblemType

API_UNREACHABLE = ProblemType.http(
    502, "api-unreachable", "The console could not reach the platform's API (the gateway) for this page"
)

CATALOGUE = Catalogue.of(vars())
