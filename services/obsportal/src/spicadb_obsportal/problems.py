"""The obsportal service's problem types (beside the kit's)."""

from __future__ import annotations

from spicadb_kit.problems import Catalogue, ProblemType

EXPOSURE_NOT_FOUND = ProblemType.http(404, "exposure-not-found", "No exposure the caller may see has this id")

CATALOGUE = Catalogue.of(vars())
