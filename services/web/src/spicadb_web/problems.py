"""The web console's problem types: the kit's only. Its pages answer the APIs' problems as HTML (the
problem's title and detail); problem documents come from the kit's checks (a malformed parameter)."""

from __future__ import annotations

from spicadb_kit.problems import Catalogue

CATALOGUE = Catalogue.of(vars())
