"""The CHARA Array: site, stations, baselines, (u,v) and sidereal time.

Numbers from ``../shared/reference/chara-spica.md`` (Aspro2 ``CHARA.xml``, JMMC-OpenDev/aspro-conf at
dd2d3de): site §1, station coordinates §2, baselines §3, (u,v) §4, configurations §5.2.

Conventions:

- a baseline ``A-B`` (``pairs`` gives ``(A, B)``) is the vector B = X(B) - X(A) in the local equatorial
  frame of §2, in metres; its ground position angle is measured east of north;
- (u,v) from Thompson, Moran & Swenson ch. 4 (§4), in metres, with the hour angle H = LST - alpha;
- the site is the geodetic longitude/latitude/height of S1, not the geocentric XYZ (§1 pitfall).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from functools import lru_cache

import astropy.units as u
import numpy as np
from astropy.coordinates import EarthLocation
from astropy.time import Time
from numpy.typing import ArrayLike

from spicadb_contracts.nightlogs import ProjectedBaseline

from ._iers import quiet

SITE = "CHARA"
# reference point S1, geodetic (chara-spica.md §1)
LONGITUDE = -118.0570313  # degrees, east positive
LATITUDE = 34.2243837  # degrees
HEIGHT = 1725.21  # metres
TIMEZONE = "America/Los_Angeles"

# the 6T configuration, station <-> switchyard channel V1..V6 (same as MIRC-X/MYSTIC, chara-spica.md §5.2);
# 5T and 4T configurations are its subsets with every station on the same channel
STATIONS: tuple[str, ...] = ("E1", "W2", "W1", "S2", "S1", "E2")
# SPICA combines 4 to 6 telescopes
MIN_TELESCOPES = 4

# station positions relative to S1 in the local equatorial frame (chara-spica.md §2, CHARA.xml
# relativePosition): X in the meridian plane towards H=0, dec=0; Y towards east; Z towards the pole. Metres.
EQUATORIAL: dict[str, tuple[float, float, float]] = {
    "S1": (0.0, 0.0, 0.0),
    "S2": (-18.3526, -5.7465, 28.1279),
    "E1": (-176.9528, 125.3357, 249.6300),
    "E2": (-154.0066, 70.3942, 221.4383),
    "W1": (-130.5848, -175.0729, 172.7983),
    "W2": (-111.7227, -69.0928, 165.0800),
}


@lru_cache(maxsize=1)
def location() -> EarthLocation:
    """The CHARA reference point S1 from its geodetic longitude, latitude and height (WGS84)."""
    return EarthLocation.from_geodetic(LONGITUDE * u.deg, LATITUDE * u.deg, HEIGHT * u.m)


def _channel_order(stations: Iterable[str]) -> list[str]:
    """Stations upper-cased and sorted by channel (V1..V6); ValueError on unknown or repeated stations."""
    wanted = [s.strip().upper() for s in stations if s.strip()]
    unknown = sorted(set(wanted) - set(STATIONS))
    if unknown:
        raise ValueError(f"unknown CHARA station(s) {', '.join(unknown)}; SPICA uses {' '.join(STATIONS)}")
    if len(set(wanted)) != len(wanted):
        raise ValueError("a station appears twice in the configuration")
    return [s for s in STATIONS if s in wanted]


def normalise_configuration(stations: Iterable[str]) -> list[str]:
    """Stations in channel order (V1..V6), as Aspro2 writes CONFIGURATIONS; ValueError when invalid
    (unknown or repeated station, fewer than ``MIN_TELESCOPES``)."""
    ordered = _channel_order(stations)
    if len(ordered) < MIN_TELESCOPES:
        raise ValueError(f"SPICA combines {MIN_TELESCOPES} to 6 telescopes, not {len(ordered)}")
    return ordered


def pairs(stations: Sequence[str]) -> list[tuple[str, str]]:
    """The station pairs of a configuration, stations taken in channel order (V1..V6): for the 6T
    configuration (E1, W2), (E1, W1), (E1, S2), (E1, S1), (E1, E2), (W2, W1), ... 15 pairs.

    Case and order of ``stations`` do not matter; ValueError on an unknown or repeated station.
    """
    return list(itertools.combinations(_channel_order(stations), 2))


def baseline(station1: str, station2: str) -> tuple[float, float, float]:
    """B = X(station2) - X(station1) in the local equatorial frame (metres); KeyError on unknown stations."""
    x1, y1, z1 = EQUATORIAL[station1.strip().upper()]
    x2, y2, z2 = EQUATORIAL[station2.strip().upper()]
    return (x2 - x1, y2 - y1, z2 - z1)


def uv(
    station1: str, station2: str, hour_angle_rad: ArrayLike, dec_rad: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Projected baseline (u, v) in metres of B = X(station2) - X(station1) for a source at hour angle
    ``hour_angle_rad`` and declination ``dec_rad`` (radians; broadcast against each other).

    u = sin H Bx + cos H By;  v = -sin d cos H Bx + sin d sin H By + cos d Bz  (chara-spica.md §4).
    """
    bx, by, bz = baseline(station1, station2)
    h = np.asarray(hour_angle_rad, dtype=float)
    d = np.asarray(dec_rad, dtype=float)
    sin_h, cos_h = np.sin(h), np.cos(h)
    sin_d, cos_d = np.sin(d), np.cos(d)
    u_m = sin_h * bx + cos_h * by
    v_m = -sin_d * cos_h * bx + sin_d * sin_h * by + cos_d * bz
    return np.asarray(u_m, dtype=float), np.asarray(v_m, dtype=float)


def apparent_sidereal_time(mjd: ArrayLike) -> np.ndarray:
    """Local apparent sidereal time at CHARA (radians, in [0, 2 pi)) at UTC modified Julian date(s) ``mjd``."""
    with quiet():
        times = Time(np.asarray(mjd, dtype=float), format="mjd", scale="utc")
        lst = times.sidereal_time("apparent", longitude=LONGITUDE * u.deg)
    return np.asarray(lst.radian, dtype=float)


def projected_baselines(
    stations: Sequence[str], ra_deg: float, dec_deg: float, mjd_start: float, mjd_end: float
) -> list[ProjectedBaseline]:
    """(u,v), length and position angle of every station pair at the start and the end of an observation.

    Pairs in the order of :func:`pairs`, labelled ``"A-B"`` for B = X(B) - X(A). The hour angle is the
    apparent sidereal time at CHARA minus ``ra_deg``, the position is used as given (no precession to
    date: about a metre at most on CHARA baselines, chara-spica.md §4). Lengths in metres, angles in
    degrees east of north in [0, 360).
    """
    lst = apparent_sidereal_time([mjd_start, mjd_end])
    hour_angle = lst - np.radians(ra_deg)
    dec = np.radians(dec_deg)
    result = []
    for first, second in pairs(stations):
        u_m, v_m = uv(first, second, hour_angle, dec)
        length = np.hypot(u_m, v_m)
        angle = np.degrees(np.arctan2(u_m, v_m)) % 360.0
        angle = np.where(angle >= 360.0, 0.0, angle)  # -1e-17 % 360 is 360.0
        result.append(
            ProjectedBaseline(
                stations=f"{first}-{second}",
                u_start=float(u_m[0]),
                v_start=float(v_m[0]),
                u_end=float(u_m[1]),
                v_end=float(v_m[1]),
                length_start=float(length[0]),
                length_end=float(length[1]),
                angle_start=float(angle[0]),
                angle_end=float(angle[1]),
            )
        )
    return result
