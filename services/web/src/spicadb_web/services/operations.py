"""The platform's health and dead letters as data, for admins: every service's operator routes (the kit's,
at its ``admin_path``) asked at once. A service that does not answer is shown down, with what the gateway
said, never the page's failure."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from ..api import ApiProblem
from .session import ApiSession, optional

# each service and where its operator routes answer at the gateway (ServiceSpec.admin_path; a test keeps
# them equal to the specs')
SERVICES: dict[str, str] = {
    "auth": "/admin",
    "gateway": "/auth/admin",
    "programmes": "/programmes/admin",
    "nightlogs": "/nightlogs/admin",
    "obsportal": "/obsportal/admin",
    "oifits": "/oifits/admin",
    "oidb": "/oidb/admin",
    "tap": "/tap/admin",
    "web": "/web/admin",
}
OUTCOMES = ("replayed", "not replayed", "queued")
# how old the home page's health panel may be: a summary every admin's home shows, refreshed at most this
# often (nine readiness reports at each page view would make the home page the slowest of the console);
# /console/admin/health always asks afresh
HOME_HEALTH_SECONDS = 5.0
Outcome = Literal["replayed", "not replayed", "queued"]


@dataclass
class ServiceHealth:
    """One service's readiness report, or why it could not be had."""

    name: str
    report: dict[str, Any] | None = None
    problem: ApiProblem | None = None

    @property
    def state(self) -> str:
        """up (ready), not ready, or down (no answer)."""
        if self.report is None:
            return "down"
        return "up" if self.report.get("status") == "ready" else "not ready"

    @property
    def dead_letters(self) -> int:
        counts: dict[str, int] = (self.report or {}).get("dead_letters") or {}
        return sum(counts.values())

    @property
    def backlog(self) -> int | None:
        outbox = (self.report or {}).get("outbox")
        return int(outbox.get("unpublished") or 0) if outbox else None

    @property
    def lag(self) -> int:
        """Events the server holds for its consumers, not yet delivered."""
        return sum(int(c.get("pending") or 0) for c in self.consumers.values())

    @property
    def consumers(self) -> dict[str, dict[str, Any]]:
        return dict((self.report or {}).get("consumers") or {})


@dataclass
class Health:
    services: list[ServiceHealth]

    @property
    def down(self) -> list[str]:
        return [s.name for s in self.services if s.state != "up"]

    @property
    def dead_letters(self) -> int:
        return sum(s.dead_letters for s in self.services)

    @property
    def backlog(self) -> int:
        return sum(s.backlog or 0 for s in self.services)


@dataclass
class ServiceLetters:
    """One service's dead letters (a page of them), or why they could not be had."""

    name: str
    letters: list[dict[str, Any]] = field(default_factory=list)
    next: str | None = None
    problem: ApiProblem | None = None


@dataclass
class LetterQuery:
    """The dead letters' page: one service (with its cursor) or all, open ones or replayed ones too."""

    service: str = ""
    replayed: bool = False
    cursor: str | None = None

    def params(self, limit: int) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if not self.replayed:
            params["replayed"] = "false"
        if self.cursor and self.service:
            params["cursor"] = self.cursor
        return params


def known(service: str) -> str:
    """A service's operator path; the 404 page for a name no service has."""
    if service not in SERVICES:
        raise ApiProblem(404, "Not Found", f"No service is named {service!r}.")
    return SERVICES[service]


class OperationsConsole:
    """The platform's health and dead letters, for one admin."""

    def __init__(self, session: ApiSession) -> None:
        self.session = session
        self.page_size = session.page_size

    async def health(self) -> Health:
        """Every service's readiness report, asked at once."""
        answers = await asyncio.gather(
            *(optional(self.session.get(f"{p}/health")) for p in SERVICES.values())
        )
        return Health([_health(name, answer) for name, answer in zip(SERVICES, answers, strict=True)])

    async def recent_health(self, now: float | None = None) -> Health:
        """The platform's health at most HOME_HEALTH_SECONDS old (the same for every admin: the reports
        name services, not visitors)."""
        now = time.monotonic() if now is None else now
        recent = self.session.api.recent_health
        if recent is not None and now - recent[0] < HOME_HEALTH_SECONDS:
            return cast(Health, recent[1])
        health = await self.health()
        self.session.api.recent_health = (now, health)
        return health

    async def letters(self, query: LetterQuery) -> list[ServiceLetters]:
        """One service's dead letters, or every service's first page, asked at once."""
        if query.service:  # one service's page: its refusal (a cursor no page gave) is the page's
            answer = await self.session.get(
                f"{known(query.service)}/dead-letters", query.params(self.page_size)
            )
            return [_letters(query.service, answer)]
        names = list(SERVICES)
        calls = (
            optional(self.session.get(f"{known(name)}/dead-letters", query.params(self.page_size)))
            for name in names
        )
        answers = await asyncio.gather(*calls)
        return [_letters(name, answer) for name, answer in zip(names, answers, strict=True)]

    async def replay(self, service: str, letter: int) -> dict[str, Any]:
        """Replay one dead letter of a service: its outcome (ApiProblem raised when refused)."""
        answer: dict[str, Any] = await self.session.post(
            f"{known(service)}/dead-letters/{letter}/replay", None
        )
        return answer


def _health(name: str, answer: Any) -> ServiceHealth:
    if isinstance(answer, ApiProblem):
        return ServiceHealth(name, problem=answer)
    return ServiceHealth(name, report=answer)


def _letters(name: str, answer: Any) -> ServiceLetters:
    if isinstance(answer, ApiProblem):
        return ServiceLetters(name, problem=answer)
    return ServiceLetters(name, list(answer.get("items") or []), answer.get("next"))
