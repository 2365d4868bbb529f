"""The JSON view of the OiDB table: granules (keyset pages) and one granule. GET and HEAD (the server
sends no body to a HEAD); no token needed, one sent is honoured."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from litestar import Controller, HttpMethod, Request, Response, route
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.types import Method

from spicadb_kit.pagination import DEFAULT_LIMIT, LINK_HEADER, CursorParameter, Limit, paged

from ..models import GranuleOut, GranulePage
from ..services.granules import GranuleService
from ..storage.granules import GranuleKey

ANONYMOUS = {"anonymous": True}
READ = [HttpMethod.GET, HttpMethod.HEAD]


def operation(name: str) -> Any:
    """One OpenAPI operation id per method of a GET/HEAD route: ``name``, ``<name>Head``."""

    def create(_handler: Any, method: Method, _path: Any) -> str:
        return name if method == HttpMethod.GET else f"{name}Head"

    return create


class GranuleController(Controller):
    path = "/oidb"
    tags = ["granules"]

    @route(
        "/granules",
        http_method=READ,
        opt=ANONYMOUS,
        operation_id=operation("listGranules"),
        response_headers=[LINK_HEADER],
    )
    async def listing(
        self,
        request: Request[Any, Any, Any],
        granules: NamedDependency[GranuleService],
        target: Annotated[
            str | None, QueryParameter(description="target name (case and blanks aside)")
        ] = None,
        ra: Annotated[float | None, QueryParameter(ge=0, le=360, description="cone centre (deg)")] = None,
        dec: Annotated[float | None, QueryParameter(ge=-90, le=90, description="cone centre (deg)")] = None,
        radius: Annotated[float | None, QueryParameter(gt=0, le=180, description="cone radius (deg)")] = None,
        night: Annotated[date | None, QueryParameter(description="local date of the evening")] = None,
        programme: Annotated[str | None, QueryParameter()] = None,
        instrument_mode: Annotated[
            str | None, QueryParameter(description="SPICA mode: LR, MR ... HR")
        ] = None,
        calib_level: Annotated[int | None, QueryParameter(ge=0, le=3)] = None,
        quality_level: Annotated[
            int | None,
            QueryParameter(
                ge=0,
                le=5,
                description="the effective quality level, OiDB's scale: 0 unknown, 1 trash, 2 to be reduced "
                "again, 3 quick look, 4 science ready, 5 outstanding",
            ),
        ] = None,
        updated_since: Annotated[
            datetime | None, QueryParameter(description="changed at or after (harvesting)")
        ] = None,
        superseded: Annotated[
            bool, QueryParameter(description="list the granules of superseded files too")
        ] = False,
        cursor: CursorParameter = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Response[GranulePage]:
        """Granules by id, the ones the caller may see: everyone once released (calibrators at once),
        the programme's members always, admins and trusted robots all. Superseded files' granules only
        with ``superseded=true``."""
        limit = min(limit, granules.settings.page_max)
        items = await granules.listing(
            target=target,
            cone=(ra, dec, radius),
            night=night,
            programme=programme,
            instrument_mode=instrument_mode,
            calib_level=calib_level,
            quality_level=quality_level,
            updated_since=updated_since,
            superseded=superseded,
            after=GranuleKey.decode(cursor),
            limit=limit + 1,
        )
        return paged(request, GranulePage.of(items, limit, lambda g: GranuleKey(g.id)))

    @route(
        "/granules/{granule_id:str}", http_method=READ, opt=ANONYMOUS, operation_id=operation("getGranule")
    )
    async def detail(
        self, granule_id: FromPath[str], granules: NamedDependency[GranuleService]
    ) -> GranuleOut:
        """One granule by its uuid; 404 when unknown or when the caller may not see it."""
        return await granules.granule(granule_id)
