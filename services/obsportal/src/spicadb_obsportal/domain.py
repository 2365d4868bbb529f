"""The rules of the L0 view: validation levels and identifiers. ObsPortal's rendered texts (the
projected baselines, the validation log, dates) are the database's: migration 0002 renders them as
rows are written, the VO queries as they are read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

MJD_ZERO = datetime(1858, 11, 17, tzinfo=UTC)
INSTRUMENT = "SPICA"
INTERFEROMETER = "CHARA"

# exp_validation_level from the night logs' quality flag. 0 is ObsPortal's "not validated"; the
# flags are then ordered from the best to the worst.
LEVELS: dict[str, int] = {"unknown": 0, "good": 1, "usable": 2, "degraded": 3, "bad": 4}
LEVEL_NAMES = {v: k for k, v in LEVELS.items()}


def level_number(level: str) -> int:
    return LEVELS.get(level, 0)


def mjd_datetime(mjd: float) -> datetime:
    return MJD_ZERO + timedelta(days=mjd)


def header_id(mjd_start: float) -> str:
    """``SPICA.<UTC start, ISO with microseconds>``, as ObsPortal names a raw file's header."""
    start = mjd_datetime(mjd_start).replace(tzinfo=None)
    return f"{INSTRUMENT}.{start.isoformat(timespec='microseconds')}"


def exp_id(header: str, obs_id: int) -> str:
    return f"{header}_{obs_id}"


def parse_exp_id(value: str) -> tuple[str, int] | None:
    header, _, number = value.rpartition("_")
    if not header or not number.isdigit():
        return None
    return header, int(number)


def name_key(name: str) -> str:
    """Names as compared: lower case, blanks collapsed."""
    return " ".join(name.lower().split())
