"""Nights at CHARA (local-noon convention, chara-spica.md §6) and MJD conversions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from spicadb_astro.nights import datetime_of_mjd, mjd, night_bounds, night_of, night_of_mjd


def test_night_of_reference_examples() -> None:
    assert night_of(datetime(2023, 1, 10, 3, 0, tzinfo=UTC)) == date(2023, 1, 9)
    assert night_of(datetime(2023, 1, 10, 13, 0, tzinfo=UTC)) == date(2023, 1, 9)
    assert night_of(datetime(2023, 1, 10, 13, 0)) == date(2023, 1, 9)  # naive = UTC
    # a new night starts at local noon: 20:00 UT in winter (PST)
    assert night_of(datetime(2023, 1, 10, 19, 59, tzinfo=UTC)) == date(2023, 1, 9)
    assert night_of(datetime(2023, 1, 10, 20, 0, tzinfo=UTC)) == date(2023, 1, 10)


def test_night_of_mjd() -> None:
    # OiDB's round(MJD) splits this night (59954 / 59955); the local-noon convention does not
    assert night_of_mjd(59954.125) == date(2023, 1, 9)  # 2023-01-10 03:00 UT
    assert night_of_mjd(59954.5416667) == date(2023, 1, 9)  # 13:00 UT
    assert night_of_mjd(59954.84) == date(2023, 1, 10)  # 20:10 UT


def test_night_of_follows_daylight_saving_time() -> None:
    # in summer (PDT) local noon is 19:00 UT
    assert night_of(datetime(2026, 7, 1, 18, 59, tzinfo=UTC)) == date(2026, 6, 30)
    assert night_of(datetime(2026, 7, 1, 19, 0, tzinfo=UTC)) == date(2026, 7, 1)
    # any time zone in, the same instant out
    paris = ZoneInfo("Europe/Paris")
    assert night_of(datetime(2026, 7, 2, 8, 0, tzinfo=paris)) == date(2026, 7, 1)  # 23:00 PDT on July 1
    # clocks go forward on 2026-03-08 at 02:00 PST: noon on the 7th is 20:00 UT, on the 8th 19:00 UT
    assert night_of(datetime(2026, 3, 8, 19, 30, tzinfo=UTC)) == date(2026, 3, 8)
    assert night_of(datetime(2026, 3, 7, 19, 30, tzinfo=UTC)) == date(2026, 3, 6)


def test_night_bounds() -> None:
    start, end = night_bounds(date(2023, 1, 9))
    assert start == datetime(2023, 1, 9, 20, 0, tzinfo=UTC)
    assert end == datetime(2023, 1, 10, 20, 0, tzinfo=UTC)
    assert night_bounds(date(2026, 7, 1))[0] == datetime(2026, 7, 1, 19, 0, tzinfo=UTC)
    day = date(2026, 1, 1)
    dst_nights = {date(2026, 3, 7): 23, date(2026, 10, 31): 25}
    while day < date(2027, 1, 1):
        start, end = night_bounds(day)
        assert end - start == timedelta(hours=dst_nights.get(day, 24)), day
        assert night_of(start) == day
        assert night_of(end - timedelta(microseconds=1)) == day
        day += timedelta(days=1)


def test_mjd() -> None:
    assert mjd(datetime(1858, 11, 17, tzinfo=UTC)) == 0.0
    assert mjd(datetime(2000, 1, 1, 12, tzinfo=UTC)) == 51544.5
    assert mjd(datetime(2023, 1, 10, 3, 0, tzinfo=UTC)) == pytest.approx(59954.125, abs=1e-12)
    assert mjd(datetime(2023, 1, 10, 3, 0)) == mjd(datetime(2023, 1, 10, 3, 0, tzinfo=UTC))  # naive = UTC
    assert datetime_of_mjd(51544.5) == datetime(2000, 1, 1, 12, tzinfo=UTC)
    assert datetime_of_mjd(51544.5).tzinfo is UTC


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2023, 1, 10, 3, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 3, 8, 9, 59, 59, 999999, tzinfo=UTC),
        datetime(2021, 9, 24, 17, 25, 45, 325079, tzinfo=UTC),
    ],
)
def test_mjd_round_trip(moment: datetime) -> None:
    back = datetime_of_mjd(mjd(moment))
    assert abs(back - moment) <= timedelta(microseconds=2)
    value = 60083.3220586
    assert mjd(datetime_of_mjd(value)) == pytest.approx(value, abs=1e-10)


def test_mjd_agrees_with_astropy() -> None:
    from astropy.time import Time

    moment = datetime(2023, 5, 20, 7, 43, 45, tzinfo=UTC)
    assert mjd(moment) == pytest.approx(Time(moment, scale="utc").mjd, abs=1e-9)
