"""Night boundaries at CHARA and MJD conversions (chara-spica.md §6).

Local-noon convention: a night is named by the local date at CHARA (America/Los_Angeles, DST-aware)
of the evening it starts, and runs from local noon to the next local noon (23, 24 or 25 hours). Winter
observations run past 12:00 UT, so OiDB's round(MJD) night id (changing at 12:00 UT) splits them; the
reference's floor(MJD - 0.82794) (local mean solar noon) agrees with this convention except within an
hour or so of local noon, when nobody observes.

MJDs here are UTC-based (days of 86,400 s since 1858-11-17T00:00 UTC; leap seconds ignored), as in
OIFITS MJD columns and astropy ``Time(..., format="mjd", scale="utc")`` outside leap-second days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .chara import TIMEZONE

ZONE = ZoneInfo(TIMEZONE)
MJD_EPOCH = datetime(1858, 11, 17, tzinfo=UTC)


def _aware(moment: datetime) -> datetime:
    """A naive datetime is taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def night_of(moment: datetime) -> date:
    """The night an instant belongs to: the local date at CHARA of the preceding local noon.

    A naive datetime is taken as UTC. 2023-01-10 03:00 UT and 13:00 UT both belong to 2023-01-09.
    """
    local = _aware(moment).astimezone(ZONE)
    return local.date() if local.hour >= 12 else local.date() - timedelta(days=1)


def night_of_mjd(mjd: float) -> date:
    """The night (local-noon convention) of a UTC modified Julian date."""
    return night_of(datetime_of_mjd(mjd))


def night_bounds(night: date) -> tuple[datetime, datetime]:
    """Local noon of ``night`` and of the next day, in UTC (23, 24 or 25 hours apart)."""
    start = datetime.combine(night, time(12), tzinfo=ZONE).astimezone(UTC)
    end = datetime.combine(night + timedelta(days=1), time(12), tzinfo=ZONE).astimezone(UTC)
    return start, end


def mjd(moment: datetime) -> float:
    """The UTC modified Julian date of an instant (a naive datetime is taken as UTC)."""
    return (_aware(moment) - MJD_EPOCH) / timedelta(days=1)


def datetime_of_mjd(mjd: float) -> datetime:
    """The instant (UTC, aware, to the microsecond) of a UTC modified Julian date."""
    return MJD_EPOCH + timedelta(days=float(mjd))
