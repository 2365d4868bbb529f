"""The console's pages as data: each gathers the API answers it needs at once (``asyncio.gather``),
never one call per row in sequence. The APIs enforce the rights; a part a visitor may not see is left
out of the page, and a page whose main object they may not see shows the API's problem."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote
from uuid import UUID

from spicadb_astro.nights import night_of

from ..api import Api, ApiProblem, Params
from .caller import Caller
from .uvplot import uv_plot

T = TypeVar("T")

SITE = "CHARA"
# the filters and orders the targets page offers (the programmes API takes them as they are)
TARGET_SORTS = ("name", "ra", "dec", "created", "mag_v", "mag_h", "mag_k")
TARGET_FILTERS = ("q", "work_package", "progress", "priority")
PROGRESS_STATES = ("not-observed", "partial", "done")
# the quality levels and reasons the nightlogs API takes (its OpenAPI document's enums; a test keeps them equal)
FLAG_LEVELS = ("good", "usable", "degraded", "bad", "unknown")
FLAG_REASONS = (
    "clouds", "seeing", "wind", "low-flux", "fringe-tracking", "delay-lines", "telescope", "instrument",
    "calibration", "data-reduction", "wrong-target", "wrong-setup", "other",
)  # fmt: skip


async def optional(call: Awaitable[T]) -> T | ApiProblem:
    """A part of a page: the API's problem instead of the answer when it refused (403, 404, 5xx), so the
    rest of the page still shows."""
    try:
        return await call
    except ApiProblem as problem:
        return problem


def path(*segments: str) -> str:
    """An API path from segments that may hold any character (a programme code, a night)."""
    return "/" + "/".join(quote(s, safe="") for s in segments)


def last_night(now: datetime | None = None) -> date:
    """The night that ended last (nights are named by the local date at their start, cut at local
    noon): twelve hours ago was during it, or during the afternoon before it began."""
    return night_of((now or datetime.now(UTC)) - timedelta(hours=12))


def percent(counts: Mapping[str, Any]) -> int:
    """Good visits over requested visits, 0-100 (a programme without requests shows 0)."""
    requested = int(counts.get("requested") or 0)
    good = int(counts.get("good") or 0)
    return min(100, round(100 * good / requested)) if requested else 0


@dataclass
class Home:
    programmes: list[dict[str, Any]] = field(default_factory=list)
    programmes_problem: ApiProblem | None = None
    night: date | None = None
    night_log: dict[str, Any] | None = None
    night_problem: ApiProblem | None = None
    levels: dict[str, int] = field(default_factory=dict)


@dataclass
class TargetQuery:
    """The targets page's filters, order and page, as the programmes API takes them."""

    filters: dict[str, str]
    sort: str = "name"
    order: str = "asc"
    cursor: str | None = None

    def params(self, limit: int) -> list[tuple[str, str | int]]:
        params: list[tuple[str, str | int]] = [(k, v) for k, v in self.filters.items() if v]
        params += [("sort", self.sort), ("order", self.order), ("limit", limit)]
        if self.cursor:
            params.append(("cursor", self.cursor))
        return params

    def export_params(self, fmt: str) -> list[tuple[str, str]]:
        return [("format", fmt), *((k, v) for k, v in self.filters.items() if v)]


@dataclass
class ProgrammePage:
    programme: dict[str, Any]
    progress: dict[str, Any] | ApiProblem
    members: list[dict[str, Any]] | ApiProblem
    work_packages: list[dict[str, Any]] | ApiProblem
    targets: dict[str, Any] | ApiProblem
    query: TargetQuery


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


class Console:
    """The pages, for one visitor."""

    def __init__(self, api: Api, caller: Caller, page_size: int) -> None:
        self.api = api
        self.caller = caller
        self.page_size = page_size

    async def _get(self, api_path: str, params: Params | None = None) -> Any:
        return await self.api.get(api_path, self.caller.token, params, self.caller.request_id)

    async def home(self, now: datetime | None = None) -> Home:
        home = Home()
        wanted: list[Awaitable[Any]] = []
        if self.caller.may("programmes:read"):
            wanted.append(optional(self._get("/programmes", {"limit": 20})))
        if self.caller.may("nightlogs:read"):
            home.night = last_night(now)
            wanted.append(optional(self._get(path("nightlogs", "nights", SITE, home.night.isoformat()))))
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
        return home

    async def programmes(self, q: str | None, cursor: str | None) -> dict[str, Any]:
        """A page of programmes, each with its progress (the listing gives it: one call for the page)."""
        params: dict[str, str | int] = {"limit": self.page_size, "with_progress": "true"}
        if q:
            params["q"] = q
        if cursor:
            params["cursor"] = cursor
        page = await self._get("/programmes", params)
        for programme in page["items"]:
            programme["percent"] = percent(programme["progress"] or {})
        return dict(page)

    async def programme(self, code: str, query: TargetQuery) -> ProgrammePage:
        """The programme (its problem raised: the page is about it), and its parts at once."""
        base = ("programmes", code)
        programme, progress, members, work_packages, targets = await asyncio.gather(
            self._get(path(*base)),
            optional(self._get(path(*base, "progress"))),
            optional(self._get(path(*base, "members"))),
            optional(self._get(path(*base, "work-packages"))),
            optional(self._get(path(*base, "targets"), query.params(self.page_size))),
        )
        if not isinstance(progress, ApiProblem):
            progress["percent"] = percent(progress["progress"])
            for package in progress["work_packages"]:
                package["percent"] = percent(package["progress"])
        return ProgrammePage(programme, progress, members, work_packages, targets, query)

    async def nights(self, cursor: str | None) -> dict[str, Any]:
        params: dict[str, str | int] = {"limit": self.page_size, "site": SITE}
        if cursor:
            params["cursor"] = cursor
        return dict(await self._get("/nightlogs/nights", params))

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
        return NightPage(answer, chosen)

    async def flag(self, observation: UUID, form: FlagForm) -> dict[str, Any]:
        """Flag an observation through the nightlogs API (its problem raised when it refuses)."""
        answer = await self.api.post(
            path("nightlogs", "observations", str(observation), "flags"),
            self.caller.token,
            form.body(),
            self.caller.request_id,
        )
        return dict(answer)


def levels(observations: list[dict[str, Any]]) -> dict[str, int]:
    """How many observations of a night have each quality level."""
    counts: dict[str, int] = {}
    for observation in observations:
        level = str(observation.get("level") or "unflagged")
        counts[level] = counts.get(level, 0) + 1
    return dict(sorted(counts.items()))
