"""The vocabulary of the programmes domain and its fixed rules: kinds, roles, the proposal
lifecycle, SPICA modes and CHARA stations. Configuration in code: a change is a reviewed commit."""

from __future__ import annotations

import re

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

INSTRUMENT = "SPICA"
# ../shared/reference/chara-spica.md §5.1 (Aspro2 CHARA.xml, 2024-12-04)
MODES = ("LR", "MR640", "MR685", "MR720", "MR800", "MR850", "HR")
# 6T configuration, station <-> channel V1..V6; 5T and 4T configurations are its subsets
STATIONS = ("E1", "W2", "W1", "S2", "S1", "E2")
MIN_TELESCOPES = 4

# CHARA reference point S1 (chara-spica.md §1)
CHARA_LONGITUDE = -118.0570313
CHARA_LATITUDE = 34.2243837
CHARA_HEIGHT = 1725.21

PRIORITIES = range(1, 6)  # 1 = highest

FLAG_GOOD = frozenset({"good", "usable"})
PROGRESS_STATES = ("not-observed", "partial", "done")


def progress_state(requested: int, observed: int, good: int) -> str:
    if observed == 0:
        return "not-observed"
    return "done" if good >= requested else "partial"


def normalise_configuration(stations: list[str]) -> list[str]:
    """Stations in channel order (V1..V6), as Aspro2 writes CONFIGURATIONS; ValueError when invalid."""
    wanted = [s.strip().upper() for s in stations if s.strip()]
    unknown = sorted(set(wanted) - set(STATIONS))
    if unknown:
        raise ValueError(f"unknown CHARA station(s) {', '.join(unknown)}; SPICA uses {' '.join(STATIONS)}")
    if len(set(wanted)) != len(wanted):
        raise ValueError("a station appears twice in the configuration")
    if len(wanted) < MIN_TELESCOPES:
        raise ValueError(f"SPICA combines {MIN_TELESCOPES} to 6 telescopes, not {len(wanted)}")
    return [s for s in STATIONS if s in wanted]
