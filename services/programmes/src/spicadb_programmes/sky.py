"""Sky geometry at CHARA for planning: proper motion, night darkness, hours above an altitude limit.

Everything is numpy-vectorised over targets: 100,000 targets over one night (about 150 dark
samples of 5 minutes) take about a second. astropy supplies the Sun, time scales, apparent
sidereal time and precession/nutation; the altitude of every target at every sample is then
plain spherical trigonometry in the true-equator/true-equinox frame of the night (TETE).

Offline by design: IERS tables are never downloaded (CI has no network; spicadb_astro sets this
up for the process). Beyond the bundled IERS-A predictions astropy falls back to its 50-year mean
polar motion and to UT1 = UTC, errors far below a 5-minute sample; the warnings it then emits are
silenced here, locally.

Nights follow the local-noon convention (``../shared/reference/chara-spica.md`` §6) of
``spicadb_astro.nights`` (``night_of`` and ``night_bounds`` are re-exported from there): a night is
named by the local date (America/Los_Angeles, DST-aware) at its start, and runs from local noon
to the next local noon.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

import astropy.units as u
import numpy as np
from astropy.coordinates import TETE, AltAz, SkyCoord, get_sun
from astropy.time import Time

from spicadb_astro import quiet as _quiet
from spicadb_astro.chara import LATITUDE as CHARA_LATITUDE
from spicadb_astro.chara import location
from spicadb_astro.nights import night_bounds as night_bounds
from spicadb_astro.nights import night_of as night_of

# geodetic coordinates of the CHARA reference point (S1), not the geocentric XYZ (chara-spica.md §1)
CHARA = location()

_MAS = np.pi / (180.0 * 3600.0 * 1000.0)  # one milliarcsecond in radians
_CHUNK = 16384  # targets per block in hours_above: bounds memory at ~_CHUNK x samples doubles


def _array(value: Any) -> np.ndarray:
    """A float array; None becomes NaN."""
    if value is None:
        return np.array(np.nan)
    return np.asarray(value, dtype=float)


def propagate(
    ra: Any, dec: Any, pmra: Any, pmdec: Any, epoch_from: Any, epoch_to: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (degrees) moved by their proper motion from ``epoch_from`` to ``epoch_to`` (Julian years).

    ``pmra`` is mu_alpha* = mu_alpha cos(dec), ``pmdec`` mu_delta, both mas/yr; None or NaN counts as 0.
    Linear motion along the tangent at the start, renormalised onto the sphere (the usual space-motion
    model without parallax and radial velocity): exact at the poles, and good to well under a
    milliarcsecond over a century for every known star except the very nearest. Broadcasts.
    """
    ra_d, dec_d, mu_a, mu_d, dt = np.broadcast_arrays(
        _array(ra),
        _array(dec),
        np.nan_to_num(_array(pmra)) * _MAS,
        np.nan_to_num(_array(pmdec)) * _MAS,
        _array(epoch_to) - _array(epoch_from),
    )
    ra_r, dec_r = np.radians(ra_d), np.radians(dec_d)
    sin_a, cos_a = np.sin(ra_r), np.cos(ra_r)
    sin_d, cos_d = np.sin(dec_r), np.cos(dec_r)
    # position and its derivative on the unit sphere (rad/yr)
    x = cos_d * cos_a - (mu_a * sin_a + mu_d * sin_d * cos_a) * dt
    y = cos_d * sin_a + (mu_a * cos_a - mu_d * sin_d * sin_a) * dt
    z = sin_d + mu_d * cos_d * dt
    ra_out = np.degrees(np.arctan2(y, x)) % 360.0
    dec_out = np.degrees(np.arctan2(z, np.hypot(x, y)))
    # untouched where nothing moves: exact round trips for stationary targets
    still = ((mu_a == 0.0) & (mu_d == 0.0)) | (dt == 0.0)
    ra_out = np.where(still, ra_d, ra_out)
    dec_out = np.where(still, dec_d, dec_out)
    return ra_out, dec_out


@lru_cache(maxsize=64)
def _dark_jd(night: date, twilight_deg: float, step_minutes: float) -> tuple[float, ...]:
    start, end = night_bounds(night)
    step = step_minutes / 1440.0
    n = round((end - start).total_seconds() / 60.0 / step_minutes)
    with _quiet():
        # each sample stands for the step centred on it
        jd = Time(start).jd + (np.arange(n) + 0.5) * step
        times = Time(jd, format="jd", scale="utc")
        sun = get_sun(times).transform_to(AltAz(obstime=times, location=CHARA))
    return tuple(jd[sun.alt.deg < twilight_deg].tolist())


def night_darkness(night: date, twilight_deg: float = -12.0, step_minutes: float = 5.0) -> Time:
    """Sample times (UTC) of night ``night`` at which the Sun is below ``twilight_deg`` at CHARA.

    Samples are the centres of ``step_minutes`` steps from local noon to the next local noon, so
    ``len(result) * step_minutes`` is the length of the dark time. No refraction.
    """
    if step_minutes <= 0:
        raise ValueError("step_minutes must be positive")
    jd = _dark_jd(night, float(twilight_deg), float(step_minutes))
    with _quiet():
        return Time(np.array(jd, dtype=float), format="jd", scale="utc")


def hours_above(
    ra: Any,
    dec: Any,
    pmra: Any,
    pmdec: Any,
    epoch: Any,
    night: date,
    min_altitude_deg: float = 30.0,
    twilight_deg: float = -12.0,
    step_minutes: float = 5.0,
) -> np.ndarray:
    """Hours each target (ICRS degrees at ``epoch``) spends above ``min_altitude_deg`` in the dark
    time of ``night`` at CHARA, counted in ``step_minutes`` samples; geometric altitude (no refraction).
    """
    ra_a, dec_a, pmra_a, pmdec_a, epoch_a = np.broadcast_arrays(
        _array(ra), _array(dec), _array(pmra), _array(pmdec), _array(epoch)
    )
    shape = ra_a.shape
    times = night_darkness(night, twilight_deg, step_minutes)
    if ra_a.size == 0 or len(times) == 0:
        return np.zeros(shape)
    with _quiet():
        middle = times[len(times) // 2]
        ra_n, dec_n = propagate(ra_a.ravel(), dec_a.ravel(), pmra_a.ravel(), pmdec_a.ravel(),
                                epoch_a.ravel(), middle.jyear)  # fmt: skip
        # apparent place of date, once for the night: precession, nutation, aberration, deflection
        apparent = SkyCoord(ra=ra_n * u.deg, dec=dec_n * u.deg, frame="icrs").transform_to(
            TETE(obstime=middle)
        )
        last = times.sidereal_time("apparent", longitude=CHARA.lon).radian
    ra_t = apparent.ra.radian
    dec_t = apparent.dec.radian
    phi = np.radians(CHARA_LATITUDE)
    a = np.sin(phi) * np.sin(dec_t)
    b = np.cos(phi) * np.cos(dec_t)
    limit = np.sin(np.radians(min_altitude_deg))
    counts = np.empty(ra_t.size, dtype=np.int64)
    for lo in range(0, ra_t.size, _CHUNK):
        hi = lo + _CHUNK
        sin_alt = a[lo:hi, None] + b[lo:hi, None] * np.cos(last[None, :] - ra_t[lo:hi, None])
        counts[lo:hi] = np.count_nonzero(sin_alt > limit, axis=1)
    return (counts * (step_minutes / 60.0)).reshape(shape)


def observable(
    ra: Any,
    dec: Any,
    pmra: Any,
    pmdec: Any,
    epoch: Any,
    night: date,
    min_altitude_deg: float = 30.0,
    min_hours: float = 1.0,
    twilight_deg: float = -12.0,
    step_minutes: float = 5.0,
) -> np.ndarray:
    """Whether each target stays at least ``min_hours`` above ``min_altitude_deg`` in the dark time."""
    hours = hours_above(ra, dec, pmra, pmdec, epoch, night, min_altitude_deg, twilight_deg, step_minutes)
    # a hair of slack so that exactly min_hours worth of samples counts
    return np.asarray(hours >= min_hours - 1e-9)
