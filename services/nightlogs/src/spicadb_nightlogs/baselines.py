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

import numpy as np

from spicadb_astro import chara
from spicadb_contracts.nightlogs import ProjectedBaseline

ALL_PAIRS = chara.pairs(chara.STATIONS)
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
    return np.mod(np.interp(mjd, grid, lst), 2.0 * np.pi)


def projected_baselines_many(
    stations: Sequence[Sequence[str]],
    ra_deg: Sequence[float],
    dec_deg: Sequence[float],
    mjd_start: Sequence[float],
    mjd_end: Sequence[float],
) -> list[list[ProjectedBaseline]]:
    n = len(stations)
    if n == 0:
        return []
    lst = sidereal_times(
        np.concatenate([np.asarray(mjd_start, dtype=float), np.asarray(mjd_end, dtype=float)])
    )
    ra = np.radians(np.asarray(ra_deg, dtype=float))
    dec = np.radians(np.asarray(dec_deg, dtype=float))
    hour_angle = np.concatenate([lst[:n] - ra, lst[n:] - ra])
    declination = np.concatenate([dec, dec])
    columns: dict[tuple[str, str], list[list[float]]] = {}
    for first, second in ALL_PAIRS:
        u_m, v_m = chara.uv(first, second, hour_angle, declination)
        length = np.hypot(u_m, v_m)
        angle = np.degrees(np.arctan2(u_m, v_m)) % 360.0
        angle = np.where(angle >= 360.0, 0.0, angle)
        columns[(first, second)] = [
            u_m[:n].tolist(),
            v_m[:n].tolist(),
            u_m[n:].tolist(),
            v_m[n:].tolist(),
            length[:n].tolist(),
            length[n:].tolist(),
            angle[:n].tolist(),
            angle[n:].tolist(),
        ]
    labels = {pair: f"{pair[0]}-{pair[1]}" for pair in ALL_PAIRS}
    result: list[list[ProjectedBaseline]] = []
    for i, configuration in enumerate(stations):
        present = set(configuration)
        line = []
        for pair in ALL_PAIRS:
            if pair[0] in present and pair[1] in present:
                c = columns[pair]
                line.append(
                    ProjectedBaseline(
                        labels[pair], c[0][i], c[1][i], c[2][i], c[3][i], c[4][i], c[5][i], c[6][i], c[7][i]
                    )
                )
        result.append(line)
    return result


def to_rows(baselines: Sequence[ProjectedBaseline]) -> list[list[float]]:
    """Baselines as stored: one row of 8 numbers per pair (the pairs follow from the stations), a small
    float8[][] that PostgreSQL keeps inline rather than a 4 kB jsonb it would compress."""
    return [
        [b.u_start, b.v_start, b.u_end, b.v_end, b.length_start, b.length_end, b.angle_start, b.angle_end]
        for b in baselines
    ]


def from_rows(stations: Sequence[str], rows: Sequence[Sequence[float]] | None) -> list[ProjectedBaseline]:
    if not rows:
        return []
    labels = [f"{a}-{b}" for a, b in chara.pairs(stations)]
    return [ProjectedBaseline(label, *row) for label, row in zip(labels, rows, strict=True)]
