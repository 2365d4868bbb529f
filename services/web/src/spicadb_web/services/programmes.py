"""The programmes' pages as data: the listing with each programme's progress, a programme with its
parts asked for at once (``asyncio.gather``; a part the visitor may not see is its problem instead), and
its proposals with their moves."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..api import ApiProblem
from .caller import Caller
from .session import ApiSession, optional, path

# the filters and orders the targets page offers (the programmes API takes them as they are)
TARGET_SORTS = ("name", "ra", "dec", "created", "mag_v", "mag_h", "mag_k")
TARGET_FILTERS = ("q", "work_package", "progress", "priority")
PROGRESS_STATES = ("not-observed", "partial", "done")

# the proposal lifecycle as the programmes API applies it (its domain's TRANSITIONS; a test keeps them
# equal): status -> the statuses it may move to
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("submitted", "withdrawn"),
    "submitted": ("under-review", "withdrawn"),
    "under-review": ("accepted", "rejected", "withdrawn"),
    "accepted": ("active", "withdrawn"),
    "active": ("completed",),
    "rejected": (),
    "withdrawn": (),
    "completed": (),
}
# the time allocation committee's decisions (admin only); the PI makes the other moves
COMMITTEE_MOVES = frozenset({"under-review", "accepted", "rejected", "active"})
# who may change a programme's targets (the API's EDITOR_ROLES), besides an admin
EDITOR_ROLES = frozenset({"pi", "co-investigator"})


def may_edit_targets(caller: Caller, programme: Mapping[str, Any]) -> bool:
    """Whether the visitor may add targets to this programme (the import): ``programmes:write`` and an
    editor's role in it, or an admin."""
    if not caller.may("programmes:write"):
        return False
    return caller.is_admin or programme.get("my_role") in EDITOR_ROLES


def moves(caller: Caller, programme: Mapping[str, Any], status: str) -> tuple[str, ...]:
    """The moves of a proposal in ``status`` that the visitor may make: the PI the PI's own, an admin
    every one (``programmes:write`` for both); none for anyone else."""
    if not caller.may("programmes:write"):
        return ()
    allowed = TRANSITIONS.get(status, ())
    if caller.is_admin:
        return allowed
    if programme.get("my_role") != "pi":
        return ()
    return tuple(to for to in allowed if to not in COMMITTEE_MOVES)


def percent(counts: Mapping[str, Any]) -> int:
    """Good visits over requested visits, 0-100 (a programme without requests shows 0)."""
    requested = int(counts.get("requested") or 0)
    good = int(counts.get("good") or 0)
    return min(100, round(100 * good / requested)) if requested else 0


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
    proposals: list[dict[str, Any]] | ApiProblem = field(default_factory=list)
    # whether the visitor is offered the import of a target list
    may_import: bool = False


@dataclass
class MoveForm:
    """A proposal's move as the form sent it (shown again with the API's problem when refused)."""

    to: str = ""
    comment: str = ""

    def body(self) -> dict[str, str]:
        return {"to": self.to, "comment": self.comment}


@dataclass
class ProposalPage:
    programme: dict[str, Any]
    proposal: dict[str, Any]
    # the moves the visitor may make from its status (the form offers them; none: no form)
    moves: tuple[str, ...] = ()
    form: MoveForm = field(default_factory=MoveForm)
    # the move the API refused (its title and wrong fields beside the form), or just saved
    refused: ApiProblem | None = None
    saved: bool = False


class ProgrammesConsole:
    """The programmes' pages, for one visitor."""

    def __init__(self, session: ApiSession) -> None:
        self.session = session
        self.caller = session.caller
        self.page_size = session.page_size
        self._get = session.get

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
        programme, progress, members, work_packages, targets, proposals = await asyncio.gather(
            self._get(path(*base)),
            optional(self._get(path(*base, "progress"))),
            optional(self._get(path(*base, "members"))),
            optional(self._get(path(*base, "work-packages"))),
            optional(self._get(path(*base, "targets"), query.params(self.page_size))),
            optional(self._get(path(*base, "proposals"))),  # each with its history
        )
        if not isinstance(progress, ApiProblem):
            progress["percent"] = percent(progress["progress"])
            for package in progress["work_packages"]:
                package["percent"] = percent(package["progress"])
        if not isinstance(proposals, ApiProblem):
            for proposal in proposals:  # the moves the visitor may make: a link to the form
                proposal["moves"] = moves(self.caller, programme, str(proposal["status"]))
        return ProgrammePage(
            programme,
            progress,
            members,
            work_packages,
            targets,
            query,
            proposals,
            may_import=may_edit_targets(self.caller, programme),
        )

    async def proposal(self, code: str, period: str) -> ProposalPage:
        """A proposal with its history (its problem raised), and the moves the visitor may make."""
        programme, proposal = await asyncio.gather(
            self._get(path("programmes", code)), self._get(path("programmes", code, "proposals", period))
        )
        return ProposalPage(programme, proposal, moves(self.caller, programme, str(proposal["status"])))

    async def move(self, code: str, period: str, form: MoveForm) -> dict[str, Any]:
        """Move a proposal through the programmes API (its problem raised when it refuses)."""
        answer = await self.session.post(
            path("programmes", code, "proposals", period, "transitions"), form.body()
        )
        return dict(answer)
