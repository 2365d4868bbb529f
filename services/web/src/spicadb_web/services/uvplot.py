"""An observation's (u,v) coverage as the night's page draws it (an SVG the template writes, no script):
each station pair's track from the start to the end of the observation, and its mirror (-u,-v), since a
baseline measures both points of the plane."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Track:
    stations: str
    # SVG coordinates (y down: -v), metres
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True, slots=True)
class UvPlot:
    radius: float  # half the side of the square drawn, metres (a round number past the longest baseline)
    tracks: list[Track]

    @property
    def view_box(self) -> str:
        r = self.radius
        return f"{-r:g} {-r:g} {2 * r:g} {2 * r:g}"

    @property
    def ticks(self) -> list[float]:
        """Four rings' radii, metres."""
        return [self.radius * k / 4 for k in (1, 2, 3)]


def uv_plot(baselines: Iterable[Mapping[str, Any]]) -> UvPlot | None:
    """The plot of these projected baselines (None without any)."""
    tracks: list[Track] = []
    longest = 0.0
    for b in baselines:
        u1, v1, u2, v2 = (float(b[k]) for k in ("u_start", "v_start", "u_end", "v_end"))
        longest = max(longest, math.hypot(u1, v1), math.hypot(u2, v2))
        name = str(b.get("stations") or "")
        tracks.append(Track(name, round(u1, 2), round(-v1, 2), round(u2, 2), round(-v2, 2)))
        tracks.append(Track(name, round(-u1, 2), round(v1, 2), round(-u2, 2), round(v2, 2)))
    if not tracks:
        return None
    step = 50.0
    radius = max(step, math.ceil(longest * 1.05 / step) * step)
    return UvPlot(radius, tracks)
