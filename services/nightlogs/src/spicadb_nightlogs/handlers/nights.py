"""Nights, the scheduler's plans and CHARA's logs."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from spicadb_kit.auth import requires
from spicadb_kit.pagination import DEFAULT_LIMIT, LINK_HEADER, CursorParameter, Limit, paged

from ..models import IngestReport, LogVersionOut, NightOut, NightPage, PlanOut, ScheduleIn
from ..services.access import site_night
from ..services.ingest import LogService
from ..services.observations import ObservationService
from ..services.schedules import ScheduleService
from ..storage.nights import NightKey
from .bodies import LOG_BODY

READ = [requires("nightlogs:read")]
SCHEDULE = [requires("schedule:write")]
WRITE = [requires("nightlogs:write")]


class NightController(Controller):
    path = "/nightlogs"
    tags = ["nights"]

    @get("/nights", guards=READ, operation_id="listNights", response_headers=[LINK_HEADER])
    async def nights(
        self,
        request: Request[Any, Any, Any],
        observations: NamedDependency[ObservationService],
        site: Annotated[str | None, QueryParameter()] = None,
        from_: Annotated[date | None, QueryParameter(name="from", description="first night")] = None,
        to: Annotated[date | None, QueryParameter(description="last night")] = None,
        cursor: CursorParameter = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Response[NightPage]:
        """Nights with a plan or a log, by date (keyset pages)."""
        items = await observations.nights(
            site=site, first=from_, last=to, after=NightKey.decode(cursor), limit=limit + 1
        )
        return paged(request, NightPage.of(items, limit, lambda n: NightKey(n.night, n.site)))

    @get("/nights/{site:str}/{night:str}", guards=READ, operation_id="getNight")
    async def night(
        self, site: FromPath[str], night: FromPath[str], observations: NamedDependency[ObservationService]
    ) -> NightOut:
        """Every plan version, every log version and the observations of the latest log (those the
        caller may see)."""
        return await observations.night(*site_night(site, night))

    @post("/schedules/{site:str}/{night:str}", guards=SCHEDULE, operation_id="postSchedule", status_code=201)
    async def schedule(
        self,
        site: FromPath[str],
        night: FromPath[str],
        data: JSONBody[ScheduleIn],
        schedules: NamedDependency[ScheduleService],
    ) -> PlanOut:
        """The plan of a night by the SPICA scheduler: a new version every time (the old ones are kept)."""
        return await schedules.schedule(*site_night(site, night), data)

    @post(
        "/logs/{site:str}/{night:str}",
        guards=WRITE,
        opt=LOG_BODY,
        operation_id="postNightLog",
        status_code=201,
        responses={
            200: ResponseSpec(
                IngestReport,
                description="The same log again: its existing version, nothing changed",
                generate_examples=False,
            )
        },
    )
    async def log(
        self,
        request: Request[Any, Any, Any],
        site: FromPath[str],
        night: FromPath[str],
        logs: NamedDependency[LogService],
    ) -> Response[IngestReport]:
        """A CHARA night log, CSV (``text/csv``) or JSON (``application/json``), all or nothing. A new
        version answers 201 with what it added, changed and withdrew; the same log again answers 200
        with the existing version."""
        where = site_night(site, night)
        report = await logs.ingest(*where, await request.body(), request.headers.get("content-type"))
        return Response(report, status_code=201 if report.created else 200)

    @get(
        "/logs/{site:str}/{night:str}/versions/{version:int}", guards=READ, operation_id="getNightLogVersion"
    )
    async def version(
        self,
        site: FromPath[str],
        night: FromPath[str],
        version: FromPath[int],
        observations: NamedDependency[ObservationService],
    ) -> LogVersionOut:
        """One version of a night's log and what it changed compared with the previous one."""
        return await observations.log_version(*site_night(site, night), version)
