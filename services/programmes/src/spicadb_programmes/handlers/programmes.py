"""Programmes, members and proposals."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from spicadb_kit.auth import requires
from spicadb_kit.pagination import DEFAULT_LIMIT, LINK_HEADER, CursorParameter, Limit, paged

from ..models import (
    Kind,
    MemberIn,
    MemberOut,
    ProgrammeIn,
    ProgrammeOut,
    ProgrammePage,
    ProgrammePatch,
    ProgrammeStatus,
    ProposalIn,
    ProposalOut,
    TransitionIn,
)
from ..problems import USERNAME_MISMATCH
from ..services.programmes import ProgrammeService
from ..storage.programmes import ProgrammeKey

READ = [requires("programmes:read")]
WRITE = [requires("programmes:write")]


class ProgrammeController(Controller):
    path = "/programmes"
    tags = ["programmes"]

    @get("/", guards=READ, operation_id="listProgrammes", response_headers=[LINK_HEADER])
    async def listing(
        self,
        request: Request[Any, Any, Any],
        programmes: NamedDependency[ProgrammeService],
        status: Annotated[ProgrammeStatus | None, QueryParameter()] = None,
        kind: Annotated[Kind | None, QueryParameter()] = None,
        q: Annotated[str | None, QueryParameter(description="part of the code or title")] = None,
        cursor: CursorParameter = None,
        limit: Limit = DEFAULT_LIMIT,
        with_progress: Annotated[
            bool, QueryParameter(description="each programme's request totals too (its progress)")
        ] = False,
    ) -> Response[ProgrammePage]:
        """Programmes by code: the public ones and the caller's own (all of them for an admin)."""
        items = await programmes.listing(
            status=status,
            kind=kind,
            search=q,
            after=ProgrammeKey.decode(cursor),
            limit=limit + 1,
            with_progress=with_progress,
        )
        return paged(request, ProgrammePage.of(items, limit, lambda p: ProgrammeKey(p.code)))

    @post("/", guards=WRITE, operation_id="createProgramme", status_code=201)
    async def create(
        self, data: JSONBody[ProgrammeIn], programmes: NamedDependency[ProgrammeService]
    ) -> ProgrammeOut:
        """The caller becomes its PI (an admin may name another)."""
        return await programmes.create(data)

    @get("/{code:str}", guards=READ, operation_id="getProgramme")
    async def detail(
        self, code: FromPath[str], programmes: NamedDependency[ProgrammeService]
    ) -> ProgrammeOut:
        return await programmes.get(code)

    @patch("/{code:str}", guards=WRITE, operation_id="updateProgramme")
    async def update(
        self,
        code: FromPath[str],
        data: JSONBody[ProgrammePatch],
        programmes: NamedDependency[ProgrammeService],
    ) -> ProgrammeOut:
        """Title, kind and description by editors; status, visibility and proprietary period by the PI."""
        return await programmes.update(code, data)

    @get("/{code:str}/members", guards=READ, operation_id="listMembers")
    async def members(
        self, code: FromPath[str], programmes: NamedDependency[ProgrammeService]
    ) -> list[MemberOut]:
        return await programmes.members(code)

    @put("/{code:str}/members/{username:str}", guards=WRITE, operation_id="putMember")
    async def put_member(
        self,
        code: FromPath[str],
        username: FromPath[str],
        data: JSONBody[MemberIn],
        programmes: NamedDependency[ProgrammeService],
    ) -> list[MemberOut]:
        """Add a member or change their role (the PI only)."""
        if data.username != username:
            raise USERNAME_MISMATCH("the body names another user than the path")
        return await programmes.put_member(code, data)

    @delete("/{code:str}/members/{username:str}", guards=WRITE, operation_id="removeMember", status_code=200)
    async def remove_member(
        self, code: FromPath[str], username: FromPath[str], programmes: NamedDependency[ProgrammeService]
    ) -> list[MemberOut]:
        return await programmes.remove_member(code, username)

    @get("/{code:str}/proposals", guards=READ, operation_id="listProposals")
    async def proposals(
        self, code: FromPath[str], programmes: NamedDependency[ProgrammeService]
    ) -> list[ProposalOut]:
        return await programmes.proposals(code)

    @post("/{code:str}/proposals", guards=WRITE, operation_id="createProposal", status_code=201)
    async def create_proposal(
        self, code: FromPath[str], data: JSONBody[ProposalIn], programmes: NamedDependency[ProgrammeService]
    ) -> ProposalOut:
        """A draft proposal for one observing period."""
        return await programmes.create_proposal(code, data)

    @get("/{code:str}/proposals/{period:str}", guards=READ, operation_id="getProposal")
    async def proposal(
        self, code: FromPath[str], period: FromPath[str], programmes: NamedDependency[ProgrammeService]
    ) -> ProposalOut:
        return await programmes.proposal(code, period)

    @post(
        "/{code:str}/proposals/{period:str}/transitions",
        guards=WRITE,
        operation_id="moveProposal",
        status_code=200,
    )
    async def transition(
        self,
        code: FromPath[str],
        period: FromPath[str],
        data: JSONBody[TransitionIn],
        programmes: NamedDependency[ProgrammeService],
    ) -> ProposalOut:
        """draft -> submitted -> under-review -> accepted | rejected; withdrawn; accepted -> active ->
        completed. Reviews and decisions are the committee's (admin); the rest the PI's."""
        return await programmes.transition(code, period, data)
