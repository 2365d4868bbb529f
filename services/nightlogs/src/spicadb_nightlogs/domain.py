"""The vocabulary of the night logs and their fixed rules: sites, line types, quality levels and
reasons, the identity of an observation across log versions. Configuration in code: a change is a
reviewed commit."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime

from spicadb_astro import nights
from spicadb_astro.names import name_key

__all__ = ["name_key"]  # re-exported: the services compare names by the key this vocabulary uses

# the sites whose nights this service keeps (a night is named by the local date at its start)
SITES = ("CHARA",)

# TYPE column of a CHARA log (vo-interop.md 12) -> what the observation is
LINE_TYPES = {
    "OBJ": "science",
    "CAL1": "calibrator",
    "CAL2": "calibrator",
    "CHK": "check",
    "UNKNO": "unknown",
}
# COMBINER values that are SPICA (Aspro2's alternative names SPICA_4T, SPICA_5T, SPICA_6T included)
SPICA_COMBINERS = frozenset({"SPICA", "SPICA_4T", "SPICA_5T", "SPICA_6T", "SPICA-VIS"})

LEVELS = ("good", "usable", "degraded", "bad", "unknown")
REASONS = (
    "clouds",
    "seeing",
    "wind",
    "low-flux",
    "fringe-tracking",
    "delay-lines",
    "telescope",
    "instrument",
    "calibration",
    "data-reduction",
    "wrong-target",
    "wrong-setup",
    "other",
)

# how a logged line was recognised
MATCHES = ("plan", "name", "position", "none")

# observation ids are derived from their identity: the same line in any version has the same id
OBSERVATION_NAMESPACE = uuid.UUID("6f0c5b0e-3d4b-5c55-9a8e-5b2f6e7d1a01")


def observation_key(site: str, night: date, star: str, mjd: float, mode: str) -> str:
    """The identity of an observation across log versions: site, night, star, start to the second, mode."""
    return f"{site}/{night.isoformat()}/{name_key(star)}/{round(mjd * 86400.0)}/{mode}"


def observation_id(key: str) -> uuid.UUID:
    return uuid.uuid5(OBSERVATION_NAMESPACE, key)


def night_date(text: str) -> date | None:
    """``YYYY-MM-DD`` as a date; None when it is no date of the calendar (2026-02-30)."""
    try:
        return date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    except ValueError:
        return None


def night_bounds(night: date) -> tuple[datetime, datetime]:
    """Local noon at the start of the night and at its end, UTC."""
    return nights.night_bounds(night)


def night_started(night: date, now: datetime | None = None) -> bool:
    return night_bounds(night)[0] <= (now or datetime.now(UTC))
