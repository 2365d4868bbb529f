"""Projected baselines of many observations at once.

The same numbers as :func:`spicadb_astro.chara.projected_baselines`, for a whole log: the apparent
sidereal time comes from one astropy call on a grid of the night (every ``GRID_MINUTES``), unwrapped and
interpolated linearly at every start and end; then (u,v) of each of the 15 CHARA pairs for every line at
once (numpy). An observation keeps the pairs of its own configuration, in the order of
:func:`spicadb_astro.chara.pairs`.

Why a grid: astropy's apparent sidereal time (IAU 2006/2000A nutation) costs about 30 us per instant,
0.6 s for a 10,000-line log. Within a day the apparent sidereal time is linear in time up to the nutation
terms (periods of days or more), so linear interpolation over 10 minutes errs by less than 1e-9 rad
(1e-7 m of (u,v) on a 330 m baseline).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from typing import NamedTuple

import numpy as np

from spicadb_astro import chara
from spicadb_contracts.nightlogs import ProjectedBaseline

ALL_PAIRS = chara.pairs(chara.STATIONS)
LABELS = {pair: f"{pair[0]}-{pair[1]}" for pair in ALL_PAIRS}
GRID_MINUTES = 10.0


def sidereal_times(mjd: np.ndarray) -> np.ndarray:
    """Apparent sidereal time at CHARA (radians, in [0, 2 pi)) at many instants, from one astropy call."""
    if mjd.size <= 64:
        return chara.apparent_sidereal_time(mjd)
    step = GRID_MINUTES / 1440.0
    first, last = float(mjd.min()), float(mjd.max())
    grid = np.arange(first, last + step, step)
    if grid[-1] < last:
        grid = np.append(grid, last)
    lst = np.unwrap(chara.apparent_sidereal_time(grid))
    # numpy's stubs answer Any for arrays of an unnamed dtype: these are float64, as chara's
    wrapped: np.ndarray = np.mod(np.interp(mjd, grid, lst), 2.0 * np.pi)
    return wrapped


class Baselines(NamedTuple):
    """The baselines of many observations, each built once: ``rows[i]`` as stored (one row of 8 numbers
    per pair, full precision), ``structs[i]`` as events carry them (:func:`for_event` rounding)."""

    rows: list[list[list[float]]]
    structs: list[list[ProjectedBaseline]]


# what events carry: (u, v) and lengths to the millimetre, angles to the thousandth of a degree (the
# model itself is good to about a metre, chara-spica.md §4); a third of the bytes of full doubles
METRE_DECIMALS = 3
DEGREE_DECIMALS = 3


def _rounded(values: np.ndarray) -> np.ndarray:
    """(..., 8) columns as stored, rounded as events carry them; angles stay in [0, 360)."""
    out = np.empty_like(values)
    np.round(values[..., :6], METRE_DECIMALS, out=out[..., :6])
    angles = np.round(values[..., 6:], DEGREE_DECIMALS)
    out[..., 6:] = np.where(angles >= 360.0, 0.0, angles)
    return out


def projected_baselines_many(
    stations: Sequence[Sequence[str]],
    ra_deg: Sequence[float],
    dec_deg: Sequence[float],
    mjd_start: Sequence[float],
    mjd_end: Sequence[float],
) -> Baselines:
    """The baselines of every observation, computed for all of them at once, then built per configuration
    (the observations that share one take their pairs in one numpy slice, their structs in one ``map``)."""
    n = len(stations)
    if n == 0:
        return Baselines([], [])
    lst = sidereal_times(
        np.concatenate([np.asarray(mjd_start, dtype=float), np.asarray(mjd_end, dtype=float)])
    )
    ra = np.radians(np.asarray(ra_deg, dtype=float))
    dec = np.radians(np.asarray(dec_deg, dtype=float))
    hour_angle = np.concatenate([lst[:n] - ra, lst[n:] - ra])
    declination = np.concatenate([dec, dec])
    # every pair of every line: (n, pairs, 8) in the stored order of the 8 numbers
    values = np.empty((n, len(ALL_PAIRS), 8))
    for p, (first, second) in enumerate(ALL_PAIRS):
        u_m, v_m = chara.uv(first, second, hour_angle, declination)
        length = np.hypot(u_m, v_m)
        angle = np.degrees(np.arctan2(u_m, v_m)) % 360.0
        angle = np.where(angle >= 360.0, 0.0, angle)
        for k, column in enumerate((u_m[:n], v_m[:n], u_m[n:], v_m[n:], length[:n], length[n:], angle[:n])):
            values[:, p, k] = column
        values[:, p, 7] = angle[n:]
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, configuration in enumerate(stations):
        groups.setdefault(tuple(configuration), []).append(i)
    rows: list[list[list[float]]] = [[] for _ in range(n)]
    structs: list[list[ProjectedBaseline]] = [[] for _ in range(n)]
    for configuration, members in groups.items():
        present = set(configuration)
        which = [p for p, pair in enumerate(ALL_PAIRS) if pair[0] in present and pair[1] in present]
        if not which:
            continue
        chosen = values[np.asarray(members)[:, None], np.asarray(which)]  # (members, pairs, 8)
        for i, stored in zip(members, chosen.tolist(), strict=True):
            rows[i] = stored
        rounded = _rounded(chosen)
        per_pair = [
            list(map(ProjectedBaseline, repeat(LABELS[ALL_PAIRS[p]]), *rounded[:, j, :].T.tolist()))
            for j, p in enumerate(which)
        ]
        for i, built in zip(members, zip(*per_pair, strict=True), strict=True):
            structs[i] = list(built)
    return Baselines(rows, structs)


def from_rows(stations: Sequence[str], rows: Sequence[Sequence[float]] | None) -> list[ProjectedBaseline]:
    if not rows:
        return []
    labels = [f"{a}-{b}" for a, b in chara.pairs(stations)]
    return [ProjectedBaseline(label, *row) for label, row in zip(labels, rows, strict=True)]


def for_event(stations: Sequence[str], rows: Sequence[Sequence[float]] | None) -> list[ProjectedBaseline]:
    """Stored baselines as events carry them (rounded as :func:`projected_baselines_many` rounds them)."""
    if not rows:
        return []
    return from_rows(stations, _rounded(np.asarray(rows, dtype=float)).tolist())
