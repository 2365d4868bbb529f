"""What a valid target is: one rule set for every service that writes or keeps a target.

The programmes service checks its targets with it on every write path (one target created or changed,
whole lists imported as VOTable, CSV or JSON), and the services that keep a copy of the targets from the
programmes' events check every copied target with it too: a value that breaks a rule never reaches a
matcher (a proper motion of 1e308 mas/yr moves a star to an infinite place).

Every number is finite and in its range; names and catalogue identifiers are one line of printable text
(no C0 or C1 control character, no DEL) of bounded length (``spicadb_contracts.bounds``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from msgspec import Meta

from spicadb_contracts import bounds


@dataclass(frozen=True)
class Limit:
    """A closed range [low, high] (``below_high``: [low, high)) in ``unit``; ``what`` says it in words."""

    low: float
    high: float
    what: str
    below_high: bool = False

    def holds(self, value: float) -> bool:
        """Whether ``value`` is finite and in the range (NaN and infinities never are)."""
        if not math.isfinite(value):
            return False
        return self.low <= value and (value < self.high if self.below_high else value <= self.high)

    def problem(self, value: float) -> str | None:
        """What is wrong with ``value``, or None."""
        if self.holds(value):
            return None
        if not math.isfinite(value):
            return f"not a finite number; expected {self.what}"
        return f"{value:g} is not {self.what}"


# field -> its range, in the units of the target fields (degrees, Julian years, mas/yr, mas, km/s, mag)
LIMITS: dict[str, Limit] = {
    "ra": Limit(0.0, 360.0, "a right ascension in [0, 360) degrees", below_high=True),
    "dec": Limit(-90.0, 90.0, "a declination in [-90, 90] degrees"),
    "epoch": Limit(1900.0, 2100.0, "an epoch (Julian year) between 1900 and 2100"),
    "pmra": Limit(-20000.0, 20000.0, "a proper motion within ±20000 mas/yr"),
    "pmdec": Limit(-20000.0, 20000.0, "a proper motion within ±20000 mas/yr"),
    "parallax": Limit(-100.0, 1000.0, "a parallax between -100 and 1000 mas"),
    "radial_velocity": Limit(-3000.0, 3000.0, "a radial velocity within ±3000 km/s"),
    **{f"mag_{b}": Limit(-5.0, 30.0, "a magnitude between -5 and 30") for b in "vrijhk"},
}

NAME_LENGTH = bounds.NAME_LENGTH
# catalogue identifiers (HD, HIP, 2MASS, Gaia), spectral and object types
LABEL_LENGTH = 40
NOTES_LENGTH = bounds.COMMENT_LENGTH
# One line of printable text: no C0 control character, no DEL, no C1 control character (U+0080..U+009F).
# ``(?![\s\S])`` pins the true end, as in spicadb_contracts.bounds.NO_CONTROL.
PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f]*$(?![\s\S])"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _range(limit: Limit) -> Meta:
    if limit.below_high:
        return Meta(ge=limit.low, lt=limit.high, description=limit.what)
    return Meta(ge=limit.low, le=limit.high, description=limit.what)


# msgspec types of the fields, for request models: the OpenAPI documents state the same rules
TargetName = Annotated[str, Meta(min_length=1, max_length=NAME_LENGTH, pattern=PRINTABLE)]
Label = Annotated[str, Meta(max_length=LABEL_LENGTH, pattern=PRINTABLE)]
RightAscension = Annotated[float, _range(LIMITS["ra"])]
Declination = Annotated[float, _range(LIMITS["dec"])]
Epoch = Annotated[float, _range(LIMITS["epoch"])]
ProperMotion = Annotated[float, _range(LIMITS["pmra"])]
Parallax = Annotated[float, _range(LIMITS["parallax"])]
RadialVelocity = Annotated[float, _range(LIMITS["radial_velocity"])]
Magnitude = Annotated[float, _range(LIMITS["mag_v"])]


def has_control(text: str) -> bool:
    """Whether ``text`` holds a C0 or C1 control character or DEL."""
    return _CONTROL.search(text) is not None


def name_problem(name: str, *, limit: int = NAME_LENGTH) -> str | None:
    """What is wrong with a name or an identifier, or None."""
    if not name:
        return "a name cannot be empty"
    if len(name) > limit:
        return f"at most {limit} characters"
    if has_control(name):
        return "a control character is not allowed"
    return None


def problems(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, what is wrong) for every value of ``values`` (field -> value; None is absent) that
    breaks a rule: the numbers of :data:`LIMITS`, ``name`` and the identifiers."""
    found: list[tuple[str, str]] = []
    for field, value in values.items():
        if value is None:
            continue
        limit = LIMITS.get(field)
        if limit is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                found.append((field, "not a number"))
            elif (message := limit.problem(float(value))) is not None:
                found.append((field, message))
        elif field == "name" and (message := name_problem(str(value))) is not None:
            found.append((field, message))
    return found
