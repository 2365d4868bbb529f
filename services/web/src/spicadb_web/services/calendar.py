"""The nights' calendar: a month as weeks of days (Monday first), each day with the night named by it
(its plan and log versions, its observations and their quality levels) when the API knows one."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..api import ApiProblem

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# months a calendar may show: the instrument's years, with room either side
FIRST_YEAR, LAST_YEAR = 2000, 2100
MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def title(self) -> str:
        return f"{calendar.month_name[self.month]} {self.year}"

    def shifted(self, months: int) -> Month | None:
        """The month ``months`` away, None past the calendar's bounds."""
        index = self.year * 12 + self.month - 1 + months
        year, month = divmod(index, 12)
        return Month(year, month + 1) if FIRST_YEAR <= year <= LAST_YEAR else None

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)


def parse_month(text: str) -> Month:
    """``YYYY-MM`` within the calendar's years; otherwise a 400 problem saying what is expected."""
    found = MONTH.fullmatch(text.strip())
    if found is None or not 1 <= int(found[2]) <= 12 or not FIRST_YEAR <= int(found[1]) <= LAST_YEAR:
        raise ApiProblem(
            400,
            "Bad month",
            f"The month is a year and a month, YYYY-MM, from {FIRST_YEAR}-01 to {LAST_YEAR}-12.",
            [{"field": "month", "message": "expected YYYY-MM", "source": "query"}],
        )
    return Month(int(found[1]), int(found[2]))


@dataclass
class Day:
    day: date
    # the night named by this day (a NightSummary of the API), if it has a plan or a log
    night: Mapping[str, Any] | None = None
    levels: dict[str, int] = field(default_factory=dict)
    today: bool = False

    @property
    def label(self) -> str:
        """The day's link as read aloud: its date, observations, levels and plan."""
        said = [f"{self.day.day} {calendar.month_name[self.day.month]} {self.day.year}"]
        if self.night is not None:
            said.append(f"{self.night.get('observations') or 0} observation(s)")
            said += [f"{count} {level}" for level, count in self.levels.items()]
            if self.night.get("plan_version"):
                said.append("planned")
        return ", ".join(said)


@dataclass
class MonthGrid:
    month: Month
    weeks: list[list[Day | None]]  # None: a cell of the previous or next month
    previous: Month | None
    next: Month | None
    nights: list[Day]  # the days with a night, in order (the list below the grid)
    # levels counted from every observation of the month (False: too many to count in one page)
    levels_complete: bool = True


def month_grid(
    month: Month,
    nights: Iterable[Mapping[str, Any]],
    observations: Iterable[Mapping[str, Any]] | None,
    today: date,
) -> MonthGrid:
    """The grid of ``month`` with its nights and, when given, their observations' quality levels."""
    by_day = {str(n["night"]): n for n in nights}
    levels: dict[str, dict[str, int]] = {}
    for o in observations or ():
        counts = levels.setdefault(str(o.get("night")), {})
        level = str(o.get("level") or "unflagged")
        counts[level] = counts.get(level, 0) + 1
    weeks: list[list[Day | None]] = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month):
        row: list[Day | None] = []
        for day in week:
            if day.month != month.month:
                row.append(None)
                continue
            key = day.isoformat()
            row.append(Day(day, by_day.get(key), dict(sorted(levels.get(key, {}).items())), day == today))
        weeks.append(row)
    listed = [day for week in weeks for day in week if day is not None and day.night is not None]
    return MonthGrid(
        month, weeks, month.shifted(-1), month.shifted(1), listed, levels_complete=observations is not None
    )
