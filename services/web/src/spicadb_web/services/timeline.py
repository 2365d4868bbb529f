"""A night's plan against what was observed, on one time line (an SVG the night's template writes, no
script): the UT hours on an axis, the plan's slots in one band and the observations in another, each
band split in lanes so that overlapping bars stay visible. Coordinates in SVG user units."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

WIDTH = 960.0  # the drawing's width
LEFT = 96.0  # room for the bands' names
RIGHT = 16.0
AXIS = 28.0  # the axis' height (hour labels)
LANE = 26.0  # one lane's height
GAP = 12.0  # between the bands
MAX_LANES = 8  # past this many overlapping bars, the last lane takes the rest


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    label: str  # what the bar is (its tooltip and accessible name)
    start: str  # HH:MM UT
    end: str
    level: str = ""  # an observation's quality level (its colour)
    ref: str = ""  # the observation's id (a link to it), or the planned sequence
    withdrawn: bool = False  # an observation the log no longer holds (drawn faint)

    @property
    def labelled(self) -> bool:
        """Whether the label fits inside the bar (about 7 units a character at the drawing's size)."""
        return not self.withdrawn and self.width >= 7 * len(self.label) + 8  # white on a faint bar: none


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True, slots=True)
class Band:
    name: str
    y: float
    height: float
    bars: list[Bar]


@dataclass(frozen=True, slots=True)
class Timeline:
    start: datetime
    end: datetime
    ticks: list[Tick]
    plan: Band
    observed: Band
    height: float

    @property
    def view_box(self) -> str:
        return f"0 0 {WIDTH:g} {self.height:g}"

    @property
    def right(self) -> float:
        return WIDTH - RIGHT


def _instant(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)  # the axis is UT


def _hhmm(moment: datetime) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"  # strftime is ten times slower, for 500 bars' ends


def _span(
    items: Iterable[tuple[datetime, datetime]], night: tuple[datetime, datetime]
) -> tuple[datetime, datetime]:
    """Whole UT hours around what happened (the night's bounds when nothing did)."""
    moments = [m for pair in items for m in pair]
    if not moments:
        return night
    first = min(moments).replace(minute=0, second=0, microsecond=0)
    last = max(moments)
    hours = max(1, math.ceil((last - first).total_seconds() / 3600))
    return first, first + timedelta(hours=hours)


def _lanes(spans: list[tuple[datetime, datetime]]) -> list[int]:
    """Each span's lane: the first whose last bar has ended (in order of the spans given)."""
    ends: list[datetime] = []
    lanes = []
    for start, end in spans:
        lane = next((k for k, e in enumerate(ends) if e <= start), None)
        if lane is None and len(ends) < MAX_LANES:
            ends.append(end)
            lane = len(ends) - 1
        elif lane is None:
            lane = MAX_LANES - 1
        ends[lane] = max(end, ends[lane]) if lane == MAX_LANES - 1 else end
        lanes.append(lane)
    return lanes


def timeline(night: Mapping[str, Any], plan: Iterable[Mapping[str, Any]]) -> Timeline | None:
    """The time line of a night (the API's NightOut) and its plan's observations; None when the night
    has neither plan nor observation."""
    slots = [(s, _instant(s.get("start")), _instant(s.get("end"))) for s in plan]
    planned = sorted(((s, a, b) for s, a, b in slots if a and b), key=lambda t: t[1])
    runs = [(o, _instant(o.get("start")), _instant(o.get("end"))) for o in night.get("observations") or ()]
    observed = sorted(((o, a, b) for o, a, b in runs if a and b), key=lambda t: t[1])
    if not planned and not observed:
        return None
    bounds = (_instant(night.get("start")), _instant(night.get("end")))
    spans = [(a, b) for _, a, b in planned] + [(a, b) for _, a, b in observed]
    start, end = _span(spans, bounds if bounds[0] and bounds[1] else spans[0])  # type: ignore[arg-type]
    scale = (WIDTH - LEFT - RIGHT) / max(1.0, (end - start).total_seconds())

    def x(moment: datetime) -> float:
        return round(LEFT + (moment - start).total_seconds() * scale, 1)

    def band(
        name: str, top: float, rows: list[tuple[Mapping[str, Any], datetime, datetime]], plan: bool
    ) -> Band:
        lanes = _lanes([(a, b) for _, a, b in rows])
        bars = []
        for (item, a, b), lane in zip(rows, lanes, strict=True):
            label = str(item.get("target") if plan else item.get("target_name") or "")
            ref = str(item.get("sequence") if plan else item.get("id") or "")
            level = "" if plan else str(item.get("level") or "unflagged")
            width = max(2.0, x(b) - x(a))
            y = top + lane * LANE + 3
            withdrawn = not plan and bool(item.get("withdrawn"))
            bars.append(Bar(x(a), y, round(width, 1), label, _hhmm(a), _hhmm(b), level, ref, withdrawn))
        height = LANE * max(1, min(MAX_LANES, max(lanes, default=0) + 1))
        return Band(name, top, height, bars)

    plan_band = band("Plan", AXIS, planned, plan=True)
    observed_band = band("Observed", AXIS + plan_band.height + GAP, observed, plan=False)
    ticks = []
    hour = start
    every = timedelta(hours=1 if end - start <= timedelta(hours=14) else 2)
    while hour <= end:
        ticks.append(Tick(x(hour), f"{hour:%H}h"))
        hour += every
    height = observed_band.y + observed_band.height + 4
    return Timeline(start, end, ticks, plan_band, observed_band, height)
