"""Work packages, observing setups, observation requests and progress."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from spicadb_kit.auth import requires
from spicadb_kit.pagination import DEFAULT_LIMIT, LINK_HEADER, CursorParameter, Limit, paged

from ..models import (
    ProgressOut,
    RequestIn,
    RequestOut,
    RequestPage,
    RequestPatch,
    SetupIn,
    SetupOut,
    WorkPackageIn,
    WorkPackageOut,
    WorkPackagePatch,
)
from ..services.observing import ObservingService
from ..storage.requests import RequestKey

READ = [requires("programmes:read")]
WRITE = [requires("programmes:write")]


class ObservingController(Controller):
    path = "/programmes/{code:str}"
    tags = ["observing"]

    @get("/work-packages", guards=READ, operation_id="listWorkPackages")
    async def work_packages(
        self, code: FromPath[str], observing: NamedDependency[ObservingService]
    ) -> list[WorkPackageOut]:
        return await observing.work_packages(code)

    @post("/work-packages", guards=WRITE, operation_id="createWorkPackage", status_code=201)
    async def create_work_package(
        self, code: FromPath[str], data: JSONBody[WorkPackageIn], observing: NamedDependency[ObservingService]
    ) -> WorkPackageOut:
        return await observing.create_work_package(code, data)

    @patch("/work-packages/{wp:str}", guards=WRITE, operation_id="updateWorkPackage")
    async def update_work_package(
        self,
        code: FromPath[str],
        wp: FromPath[str],
        data: JSONBody[WorkPackagePatch],
        observing: NamedDependency[ObservingService],
    ) -> WorkPackageOut:
        return await observing.update_work_package(code, wp, data)

    @delete("/work-packages/{wp:str}", guards=WRITE, operation_id="deleteWorkPackage")
    async def delete_work_package(
        self, code: FromPath[str], wp: FromPath[str], observing: NamedDependency[ObservingService]
    ) -> None:
        """Its targets stay in the programme, in no work package."""
        await observing.delete_work_package(code, wp)

    @get("/setups", guards=READ, operation_id="listSetups")
    async def setups(
        self, code: FromPath[str], observing: NamedDependency[ObservingService]
    ) -> list[SetupOut]:
        return await observing.setups(code)

    @post("/setups", guards=WRITE, operation_id="createSetup", status_code=201)
    async def create_setup(
        self, code: FromPath[str], data: JSONBody[SetupIn], observing: NamedDependency[ObservingService]
    ) -> SetupOut:
        """SPICA, a mode (LR, MR640 ... HR) and a CHARA configuration of 4 to 6 of E1 W2 W1 S2 S1 E2
        (kept in channel order V1..V6)."""
        return await observing.create_setup(code, data)

    @delete("/setups/{name:str}", guards=WRITE, operation_id="deleteSetup")
    async def delete_setup(
        self, code: FromPath[str], name: FromPath[str], observing: NamedDependency[ObservingService]
    ) -> None:
        await observing.delete_setup(code, name)

    @get("/requests", guards=READ, operation_id="listRequests", response_headers=[LINK_HEADER])
    async def requests(
        self,
        request: Request[Any, Any, Any],
        code: FromPath[str],
        observing: NamedDependency[ObservingService],
        target_id: Annotated[UUID | None, QueryParameter()] = None,
        cursor: CursorParameter = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Response[RequestPage]:
        after = RequestKey.decode(cursor)
        items = await observing.requests(code, after=after, limit=limit + 1, target_id=target_id)
        return paged(request, RequestPage.of(items, limit, lambda r: RequestKey(r.id)))

    @post("/requests", guards=WRITE, operation_id="createRequest", status_code=201)
    async def create_request(
        self, code: FromPath[str], data: JSONBody[RequestIn], observing: NamedDependency[ObservingService]
    ) -> RequestOut:
        """A target with a setup, so many visits, at a priority (1 highest)."""
        return await observing.create_request(code, data)

    @patch("/requests/{request_id:uuid}", guards=WRITE, operation_id="updateRequest")
    async def update_request(
        self,
        code: FromPath[str],
        request_id: FromPath[UUID],
        data: JSONBody[RequestPatch],
        observing: NamedDependency[ObservingService],
    ) -> RequestOut:
        return await observing.update_request(code, request_id, data)

    @delete("/requests/{request_id:uuid}", guards=WRITE, operation_id="deleteRequest")
    async def delete_request(
        self, code: FromPath[str], request_id: FromPath[UUID], observing: NamedDependency[ObservingService]
    ) -> None:
        await observing.delete_request(code, request_id)

    @get("/progress", guards=READ, operation_id="getProgress")
    async def progress(
        self, code: FromPath[str], observing: NamedDependency[ObservingService]
    ) -> ProgressOut:
        """Visits requested, planned (latest night plans), observed (CHARA logs) and good (flagged good or
        usable), for the programme and each work package."""
        return await observing.progress(code)
