"""Sky geometry at CHARA: nights, darkness, hours above the altitude limit, proper motion."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import AltAz, EarthLocation, SkyCoord
from astropy.time import Time
from spicadb_programmes.domain import CHARA_HEIGHT, CHARA_LATITUDE, CHARA_LONGITUDE
from spicadb_programmes.sky import hours_above, night_bounds, night_darkness, night_of, observable, propagate

STEP_HOURS = 5 / 60
SITE = EarthLocation.from_geodetic(CHARA_LONGITUDE * u.deg, CHARA_LATITUDE * u.deg, CHARA_HEIGHT * u.m)

# (name, ra, dec): bright stars spread over the sky
TARGETS = [
    ("Polaris", 37.95456067, 89.26410897),
    ("Betelgeuse", 88.79293899, 7.40706400),
    ("Sirius", 101.28715533, -16.71611586),
    ("Regulus", 152.09296244, 11.96720878),
    ("Spica", 201.29824736, -11.16131949),
    ("Arcturus", 213.91530029, 19.18240916),
    ("Antares", 247.35191542, -26.43200261),
    ("Vega", 279.23473479, 38.78368896),
    ("Altair", 297.69582730, 8.86832120),
    ("Fomalhaut", 344.41269272, -29.62223703),
    ("Achernar", 24.42852283, -57.23675281),
    ("far south", 120.0, -70.0),
]


def astropy_hours(night: date, ra: np.ndarray, dec: np.ndarray, limit: float = 30.0) -> np.ndarray:
    """Straight from astropy: AltAz of every target at every dark sample, no refraction."""
    times = night_darkness(night)
    coords = SkyCoord(ra=ra[:, None] * u.deg, dec=dec[:, None] * u.deg)
    altaz = coords.transform_to(AltAz(obstime=times[None, :], location=SITE, pressure=0 * u.hPa))
    return np.count_nonzero(altaz.alt.deg > limit, axis=1) * STEP_HOURS


@pytest.mark.parametrize("night", [date(2026, 6, 15), date(2026, 12, 15)])
def test_hours_above_agree_with_astropy_altaz(night: date) -> None:
    ra = np.array([t[1] for t in TARGETS])
    dec = np.array([t[2] for t in TARGETS])
    ours = hours_above(ra, dec, None, None, 2000.0, night)
    theirs = astropy_hours(night, ra, dec)
    assert ours.shape == (len(TARGETS),)
    np.testing.assert_allclose(ours, theirs, atol=STEP_HOURS + 1e-9)
    assert theirs.sum() > 10  # the comparison is not between zeros


def test_circumpolar_southern_and_seasonal_targets() -> None:
    summer, winter = date(2026, 6, 15), date(2026, 12, 15)
    ra = np.array([37.95456067, 120.0, 88.79293899])  # Polaris, dec -70, Betelgeuse
    dec = np.array([89.26410897, -70.0, 7.40706400])
    for night in (summer, winter):
        dark = len(night_darkness(night)) * STEP_HOURS
        polaris, south, _ = hours_above(ra, dec, None, None, 2000.0, night)
        assert polaris == pytest.approx(dark)  # above 30 deg all night at latitude 34.2
        assert south == 0.0
    assert hours_above(ra[2], dec[2], None, None, 2000.0, summer) < 1.0
    assert hours_above(ra[2], dec[2], None, None, 2000.0, winter) > 6.0
    assert observable(ra, dec, None, None, 2000.0, winter).tolist() == [True, False, True]
    assert observable(ra, dec, None, None, 2000.0, summer).tolist() == [True, False, False]


def test_a_lower_altitude_limit_gives_more_hours_and_min_hours_is_inclusive() -> None:
    night = date(2026, 12, 15)
    capella = (79.17232794, 45.99799147)
    low = float(hours_above(*capella, None, None, 2000.0, night, min_altitude_deg=20.0))
    high = float(hours_above(*capella, None, None, 2000.0, night, min_altitude_deg=60.0))
    assert 0 < high < low
    assert observable(*capella, None, None, 2000.0, night, min_altitude_deg=20.0, min_hours=low)
    assert not observable(
        *capella, None, None, 2000.0, night, min_altitude_deg=20.0, min_hours=low + STEP_HOURS
    )


def test_hours_above_accounts_for_proper_motion() -> None:
    # a star that moves 5 degrees in 100 years: the position on the night is what counts
    night = date(2026, 12, 15)
    moved = hours_above(120.0, -10.0, None, 180_000.0, 1926.0, night)  # at -10 + 5 = -5 deg by 2026
    there = hours_above(120.0, -5.0, None, None, 2026.96, night)
    assert moved == pytest.approx(there, abs=STEP_HOURS)
    assert moved != hours_above(120.0, -10.0, None, None, 2026.96, night)


def test_darkness_matches_the_solstice_numbers_at_chara() -> None:
    # chara-spica.md §6: Sun below -12 deg about 01:45-13:55 UT in December, 04:10-11:35 UT in June
    december = night_darkness(date(2026, 12, 21))
    june = night_darkness(date(2026, 6, 21))
    assert len(december) * STEP_HOURS == pytest.approx(12.17, abs=0.2)
    assert len(june) * STEP_HOURS == pytest.approx(7.42, abs=0.2)
    first, last = december[0].to_datetime(timezone=UTC), december[-1].to_datetime(timezone=UTC)
    assert abs(first - datetime(2026, 12, 22, 1, 45, tzinfo=UTC)) < timedelta(minutes=10)
    assert abs(last - datetime(2026, 12, 22, 13, 55, tzinfo=UTC)) < timedelta(minutes=10)
    first = june[0].to_datetime(timezone=UTC)
    assert abs(first - datetime(2026, 6, 22, 4, 10, tzinfo=UTC)) < timedelta(minutes=10)
    # a darker twilight limit leaves less dark time
    assert len(night_darkness(date(2026, 12, 21), twilight_deg=-18.0)) < len(december)


def test_nights_run_from_local_noon_to_local_noon_across_dst_changes() -> None:
    start, end = night_bounds(date(2026, 3, 7))  # clocks go forward on 2026-03-08
    assert end - start == timedelta(hours=23)
    assert start == datetime(2026, 3, 7, 20, tzinfo=UTC)  # noon PST
    assert end == datetime(2026, 3, 8, 19, tzinfo=UTC)  # noon PDT
    start, end = night_bounds(date(2026, 10, 31))  # clocks go back on 2026-11-01
    assert end - start == timedelta(hours=25)
    dark = night_darkness(date(2026, 3, 7)).to_datetime(timezone=UTC)
    assert all(start_ <= t < end_ for t in dark for start_, end_ in [night_bounds(date(2026, 3, 7))])


def test_night_of_uses_the_local_noon_convention() -> None:
    # chara-spica.md §6: both belong to the night of 2023-01-09
    assert night_of(datetime(2023, 1, 10, 3, 0, tzinfo=UTC)) == date(2023, 1, 9)
    assert night_of(datetime(2023, 1, 10, 13, 0, tzinfo=UTC)) == date(2023, 1, 9)
    assert night_of(datetime(2023, 1, 10, 13, 0)) == date(2023, 1, 9)  # naive = UTC
    # in summer, local noon is 19:00 UT
    assert night_of(datetime(2026, 7, 1, 18, 59, tzinfo=UTC)) == date(2026, 6, 30)
    assert night_of(datetime(2026, 7, 1, 19, 0, tzinfo=UTC)) == date(2026, 7, 1)
    paris = ZoneInfo("Europe/Paris")
    assert night_of(datetime(2026, 7, 2, 8, 0, tzinfo=paris)) == date(2026, 7, 1)  # 23:00 PDT on July 1


def test_barnards_star_moves_about_270_arcsec_in_26_years() -> None:
    ra0, dec0, pmra, pmdec = 269.45207511, 4.69339088, -801.551, 10362.394
    ra, dec = propagate(ra0, dec0, pmra, pmdec, 2000.0, 2026.0)
    moved = SkyCoord(ra0 * u.deg, dec0 * u.deg).separation(SkyCoord(float(ra) * u.deg, float(dec) * u.deg))
    assert moved.arcsec == pytest.approx(26 * np.hypot(pmra, pmdec) / 1000, abs=0.05)  # 270.2"
    assert float(dec) > dec0
    assert float(ra) < ra0
    # astropy's space motion (far away, no radial velocity) lands on the same place
    star = SkyCoord(
        ra=ra0 * u.deg,
        dec=dec0 * u.deg,
        pm_ra_cosdec=pmra * u.mas / u.yr,
        pm_dec=pmdec * u.mas / u.yr,
        distance=1 * u.Mpc,
        obstime=Time(2000.0, format="jyear"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        later = star.apply_space_motion(new_obstime=Time(2026.0, format="jyear"))
    assert later.separation(SkyCoord(float(ra) * u.deg, float(dec) * u.deg)).arcsec < 0.01


def test_propagate_treats_missing_motion_as_zero_and_crosses_the_pole() -> None:
    ra, dec = propagate([10.0, 20.0], [30.0, -40.0], [None, np.nan], [None, 5.0], 2000.0, 2100.0)
    assert ra[0] == 10.0
    assert dec[0] == 30.0
    assert ra[1] == pytest.approx(20.0, abs=1e-12)
    assert dec[1] == pytest.approx(-40.0 + 0.5 / 3600)
    # a star 0.1 arcsec from the pole moving 2 mas/yr toward it ends on the other side
    ra, dec = propagate(0.0, 90.0 - 0.1 / 3600, 0.0, 2.0, 2000.0, 2100.0)
    assert float(dec) == pytest.approx(90.0 - 0.1 / 3600, abs=1e-9)
    assert float(ra) == pytest.approx(180.0)


def test_no_warning_escapes_for_nights_up_to_2030() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hours = hours_above([10.0, 200.0], [40.0, -10.0], None, None, 2000.0, date(2030, 12, 15))
        assert night_darkness(date(2030, 6, 15)) is not None
    assert hours.max() > 0
