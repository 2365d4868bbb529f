"""The console's pages as data: each gathers the API answers it needs at once (``asyncio.gather``),
never one call per row in sequence. The APIs enforce the rights; a part a visitor may not see is left
out of the page, and a page whose main object they may not see shows the API's problem."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from spicadb_astro.nights import night_of

from ..api import ApiProblem
from .calendar import Month, MonthGrid, month_grid
from .operations import Health, OperationsConsole
from .session import ApiSession, optional, path
from .timeline import Timeline, timeline
from .uvplot import uv_plot

SITE = "CHARA"
# the quality levels and reasons the nightlogs API takes (its OpenAPI document's enums; a test keeps them equal)
FLAG_LEVELS = ("good", "usable", "degraded", "bad", "unknown")
FLAG_REASONS = (
    "clouds", "seeing", "wind", "low-flux", "fringe-tracking", "delay-lines", "telescope", "instrument",
    "calibration", "data-reduction", "wrong-target", "wrong-setup", "other",
)  # fmt: skip


def last_night(now: datetime | None = None) -> date:
    """The night that ended last (nights are named by the local date at their start, cut at local
    noon): twelve hours ago was during it, or during the afternoon before it began."""
    return night_of((now or datetime.now(UTC)) - timedelta(hours=12))


def tonight(now: datetime | None = None) -> date:
    """The night that starts this evening (or has begun): in twelve hours it will be running, or
    it will be the morning after it."""
    return night_of((now or datetime.now(UTC)) + timedelta(hours=12))


# the latest pushes and rejections the home page lists
LATEST = 5
# a month's observations counted by level in one call (a month with more shows the nights' counts only)
MONTH_OBSERVATIONS = 1000


@dataclass
class Home:
    programmes: list[dict[str, Any]] = field(default_factory=list)
    programmes_problem: ApiProblem | None = None
    night: date | None = None
    night_log: dict[str, Any] | None = None
    night_problem: ApiProblem | None = None
    levels: dict[str, int] = field(default_factory=dict)
    # tonight's plan: its latest version's slots (None: no plan yet, or not for this visitor)
    tonight: date | None = None
    plan: dict[str, Any] | None = None
    plan_problem: ApiProblem | None = None
    # the latest pushes and rejections (oifits:read), the API's problem in their place when refused
    pushes: list[dict[str, Any]] | ApiProblem | None = None
    rejections: list[dict[str, Any]] | ApiProblem | None = None
    # the platform's health (lag, backlog, dead letters): for admins only
    health: Health | None = None


@dataclass
class FlagForm:
    """A quality flag as the form sent it (shown again with the API's problem when refused)."""

    level: str = ""
    reasons: list[str] = field(default_factory=list)
    comment: str = ""

    def body(self) -> dict[str, Any]:
        return {"level": self.level, "reasons": self.reasons, "comment": self.comment}


@dataclass
class NightPage:
    night: dict[str, Any]
    # the observation chosen on the page (its conditions, flag history and the flag form), if any
    observation: dict[str, Any] | ApiProblem | None = None
    form: FlagForm = field(default_factory=FlagForm)
    # the flag the API refused (its title and wrong fields beside the form), or just saved
    refused: ApiProblem | None = None
    saved: bool = False
    # the night's latest plan (its slots) and the plan against observed
    plan: dict[str, Any] | None = None
    timeline: Timeline | None = None
    # the observations matched to each planned sequence (the plan's table)
    matched: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


class Console:
    """The pages, for one visitor."""

    def __init__(self, session: ApiSession) -> None:
        self.session = session
        self.caller = session.caller
        self.page_size = session.page_size
        self._get = session.get

    async def home(self, now: datetime | None = None) -> Home:
        home = Home()
        wanted: list[Awaitable[Any]] = []
        if self.caller.may("programmes:read"):
            wanted.append(optional(self._get("/programmes", {"limit": 20})))
        if self.caller.may("nightlogs:read"):
            home.night = last_night(now)
            wanted.append(optional(self._get(path("nightlogs", "nights", SITE, home.night.isoformat()))))
        if self.caller.may("nightlogs:read"):
            home.tonight = tonight(now)
            wanted.append(optional(self._get(path("nightlogs", "nights", SITE, home.tonight.isoformat()))))
        if self.caller.may("oifits:read"):
            wanted.append(optional(self._get("/oifits/files", {"limit": LATEST})))
            wanted.append(optional(self._get("/oifits/rejections", {"limit": LATEST})))
        if self.caller.is_admin:  # never raises: a service down is shown so
            wanted.append(OperationsConsole(self.session).recent_health())
        answers = list(await asyncio.gather(*wanted))
        if self.caller.may("programmes:read"):
            programmes = answers.pop(0)
            if isinstance(programmes, ApiProblem):
                home.programmes_problem = programmes
            else:
                home.programmes = [p for p in programmes["items"] if p.get("my_role")] or programmes["items"]
        if home.night is not None:
            night = answers.pop(0)
            if isinstance(night, ApiProblem):
                home.night_problem = night
            else:
                home.night_log = night
                home.levels = levels(night.get("observations") or [])
        if home.tonight is not None:
            planned = answers.pop(0)
            if isinstance(planned, ApiProblem):
                home.plan_problem = planned if planned.status != 404 else None
            else:
                home.plan = latest_plan(planned)
        if self.caller.may("oifits:read"):
            pushes, rejections = answers.pop(0), answers.pop(0)
            home.pushes = pushes if isinstance(pushes, ApiProblem) else list(pushes["items"])
            home.rejections = rejections if isinstance(rejections, ApiProblem) else list(rejections["items"])
        if self.caller.is_admin:
            home.health = answers.pop(0)
        return home

    async def calendar(self, month: Month, today: date) -> MonthGrid:
        """A month's nights and, at once, their observations' quality levels (one page of the API's
        observations; a month with more shows the nights' counts without their levels)."""
        span = {"from": month.first.isoformat(), "to": month.last.isoformat()}
        nights = self._get("/nightlogs/nights", {"site": SITE, "limit": 31, **span})
        runs = self._get(
            "/nightlogs/observations",
            {"site": SITE, "night_from": span["from"], "night_to": span["to"], "limit": MONTH_OBSERVATIONS},
        )
        listed, observed = await asyncio.gather(nights, optional(runs))
        complete = isinstance(observed, dict) and not observed.get("next")
        return month_grid(month, listed["items"], observed["items"] if complete else None, today)

    async def night(self, site: str, night: date, observation: UUID | None = None) -> NightPage:
        """The night (its problem raised) and, at once, the chosen observation with its flag history."""
        wanted: list[Awaitable[Any]] = [self._get(path("nightlogs", "nights", site, night.isoformat()))]
        if observation is not None:
            wanted.append(optional(self._get(path("nightlogs", "observations", str(observation)))))
        answers = await asyncio.gather(*wanted)
        answer = dict(answers[0])
        answer["levels"] = levels(answer.get("observations") or [])
        chosen = answers[1] if observation is not None else None
        if isinstance(chosen, dict) and (chosen.get("site"), chosen.get("night")) != (
            site,
            night.isoformat(),
        ):
            chosen = ApiProblem(404, "Not Found", "This observation is not of this night.")
        if isinstance(chosen, dict):
            chosen["uv"] = uv_plot(chosen.get("baselines") or [])
        plan = latest_plan(answer)
        drawn = timeline(answer, (plan or {}).get("observations") or [])
        matched: dict[int, list[dict[str, Any]]] = {}
        for run in answer.get("observations") or []:
            if run.get("planned_sequence") is not None:
                matched.setdefault(int(run["planned_sequence"]), []).append(run)
        return NightPage(answer, chosen, plan=plan, timeline=drawn, matched=matched)

    async def flag(self, observation: UUID, form: FlagForm) -> dict[str, Any]:
        """Flag an observation through the nightlogs API (its problem raised when it refuses)."""
        answer = await self.session.post(
            path("nightlogs", "observations", str(observation), "flags"), form.body()
        )
        return dict(answer)


def latest_plan(night: dict[str, Any]) -> dict[str, Any] | None:
    """A night's plan as last scheduled (its highest version), None without one."""
    plans = night.get("plans") or []
    return max(plans, key=lambda p: int(p.get("version") or 0)) if plans else None


def levels(observations: list[dict[str, Any]]) -> dict[str, int]:
    """How many observations of a night have each quality level."""
    counts: dict[str, int] = {}
    for observation in observations:
        level = str(observation.get("level") or "unflagged")
        counts[level] = counts.get(level, 0) + 1
    return dict(sorted(counts.items()))
