"""The oidb service's problem types (beside the kit's)."""

from __future__ import annotations

from spicadb_kit.problems import Catalogue, ProblemType

INVALID_CONE = ProblemType.http(
    400,
    "invalid-cone",
    "A cone search needs ra, dec and radius, the radius no larger than the service serves",
)
GRANULE_NOT_FOUND = ProblemType.http(404, "granule-not-found", "No granule the caller may see has this id")

CATALOGUE = Catalogue.of(vars())
