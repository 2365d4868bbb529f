"""The web console's problem types: the kit's, and the SAMP send's. Its pages answer the APIs' problems as HTML (the
problem's title and detail); problem documents come from the kit's checks (a malformed parameter)."""

from __future__ import annotations

from spicadb_kit.problems import Catalogue, ProblemType

# the SAMP send (handlers/samp.py), which answers its script in JSON
NOT_SENT = ProblemType(
    "not-sent",
    "Nothing was sent",
    403,
    "Targets to send over SAMP arrived without the session's token (the script adds it as X-CSRF-Token; "
    "JavaScript off, or the session ended): no table kept",
)

CATALOGUE = Catalogue.of(vars())
