"""The vocabulary of the programmes domain and its fixed rules: kinds, roles, the proposal
lifecycle; SPICA modes and CHARA stations come from spicadb_astro. Configuration in code: a change is
a reviewed commit."""

from __future__ import annotations

import re

from spicadb_astro import chara, spica
from spicadb_astro.chara import MIN_TELESCOPES as MIN_TELESCOPES
from spicadb_astro.chara import STATIONS as STATIONS
from spicadb_astro.chara import normalise_configuration as normalise_configuration

PROGRAMME_KINDS = ("large-programme", "survey", "regular", "directors-time")
PROGRAMME_STATUSES = ("draft", "active", "completed", "archived")

# who a member is in a programme; the PI manages the members
ROLES = ("pi", "co-investigator", "observer", "viewer")
EDITOR_ROLES = frozenset({"pi", "co-investigator"})

# proposal lifecycle: status -> statuses it may move to
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("submitted", "withdrawn"),
    "submitted": ("under-review", "withdrawn"),
    "under-review": ("accepted", "rejected", "withdrawn"),
    "accepted": ("active", "withdrawn"),
    "active": ("completed",),
    "rejected": (),
    "withdrawn": (),
    "completed": (),
}
PROPOSAL_STATUSES = tuple(TRANSITIONS)
# decisions of the time allocation committee: admin only; the others belong to the PI
COMMITTEE_TRANSITIONS = frozenset({"under-review", "accepted", "rejected", "active"})

PERIOD = re.compile(r"^\d{4}[AB]$")
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")

# SPICA and CHARA knowledge lives in the shared library spicadb_astro (chara-spica.md); named here
# for the programmes domain. STATIONS (channel order V1..V6), MIN_TELESCOPES and
# normalise_configuration are imported above.
INSTRUMENT = spica.INSTRUMENT
MODES = tuple(spica.MODES)
CHARA_LONGITUDE = chara.LONGITUDE
CHARA_LATITUDE = chara.LATITUDE
CHARA_HEIGHT = chara.HEIGHT

PRIORITIES = range(1, 6)  # 1 = highest

FLAG_GOOD = frozenset({"good", "usable"})
PROGRESS_STATES = ("not-observed", "partial", "done")


def progress_state(requested: int, observed: int, good: int) -> str:
    if observed == 0:
        return "not-observed"
    return "done" if good >= requested else "partial"
