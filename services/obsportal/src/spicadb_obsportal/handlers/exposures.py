"""The REST view: exposures (keyset pages) and planned versus observed."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, route
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from spicadb_kit.auth import requires
from spicadb_kit.pagination import (
    DEFAULT_LIMIT,
    LINK_HEADER,
    MAX_LIMIT,
    CursorParameter,
    Limit,
    linked,
    paged,
)

from ..models import ExposureOut, ExposurePage, Level, PlannedOut
from ..services.exposures import ObsportalService
from ..storage.exposures import ExposureKey, PlannedKey
from . import READ_METHODS, operation

READ = [requires("nightlogs:read")]


class ExposureController(Controller):
    path = "/obsportal"
    tags = ["exposures"]

    @route(
        "/exposures",
        http_method=READ_METHODS,
        guards=READ,
        operation_id=operation("listExposures"),
        response_headers=[LINK_HEADER],
    )
    async def listing(
        self,
        request: Request[Any, Any, Any],
        obsportal: NamedDependency[ObsportalService],
        night_from: Annotated[
            date | None, QueryParameter(description="first night (local date at its start)")
        ] = None,
        night_to: Annotated[date | None, QueryParameter(description="last night, included")] = None,
        programme: Annotated[str | None, QueryParameter()] = None,
        target: Annotated[str | None, QueryParameter(description="part of the target name")] = None,
        mode: Annotated[str | None, QueryParameter(description="SPICA mode: LR, MR640 ... HR")] = None,
        level: Annotated[Level | None, QueryParameter(description="quality flag")] = None,
        cursor: CursorParameter = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Response[ExposurePage]:
        """Exposures by start time, the ones the caller may see: their programme's members see them
        always, everyone once released, admins and trusted robots all."""
        items = await obsportal.listing(
            night_from=night_from,
            night_to=night_to,
            programme=programme,
            target=target,
            mode=mode,
            level=level,
            after=ExposureKey.decode(cursor),
            limit=limit + 1,
        )
        return paged(request, ExposurePage.of(items, limit, lambda e: ExposureKey(e.mjd_start, e.obs_id)))

    @route(
        "/exposures/{exp_id:str}",
        http_method=READ_METHODS,
        guards=READ,
        operation_id=operation("getExposure"),
    )
    async def detail(
        self, exp_id: FromPath[str], obsportal: NamedDependency[ObsportalService]
    ) -> ExposureOut:
        """One exposure by its exp_id (``SPICA.<start>_<obs_id>``); 404 when the caller may not see it."""
        return await obsportal.exposure(exp_id)

    @route(
        "/planned",
        http_method=READ_METHODS,
        guards=READ,
        operation_id=operation("listPlanned"),
        response_headers=[LINK_HEADER],
    )
    async def planned(
        self,
        request: Request[Any, Any, Any],
        obsportal: NamedDependency[ObsportalService],
        night_from: Annotated[date | None, QueryParameter()] = None,
        night_to: Annotated[date | None, QueryParameter()] = None,
        site: Annotated[str | None, QueryParameter()] = None,
        programme: Annotated[str | None, QueryParameter()] = None,
        observed: Annotated[
            bool | None, QueryParameter(description="false: planned but not observed")
        ] = None,
        cursor: CursorParameter = None,
        limit: Limit = MAX_LIMIT,
    ) -> Response[list[PlannedOut]]:
        """Planned versus observed: the entries of each night's plan in force, with the exposures that
        observed them (an exposure names its plan entry in ``planned_sequence``), by night, site and
        sequence; an array, the next page in the ``Link`` header."""
        rows = await obsportal.planned(
            night_from=night_from,
            night_to=night_to,
            site=site,
            programme=programme,
            observed=observed,
            after=PlannedKey.decode(cursor),
            limit=limit + 1,
        )
        return linked(request, rows, limit, lambda p: PlannedKey(p.night, p.site, p.sequence))
