"""Observations and their quality flags."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from spicadb_kit.auth import requires
from spicadb_kit.pagination import DEFAULT_LIMIT, LINK_HEADER, CursorParameter, Limit, paged

from ..models import FlagIn, Level, ObservationOut, ObservationPage
from ..services.observations import ObservationService
from ..storage.observations import ObservationFilter, ObservationKey

READ = [requires("nightlogs:read")]
FLAG = [requires("nightlogs:flag")]


class ObservationController(Controller):
    path = "/nightlogs/observations"
    tags = ["observations"]

    @get("/", guards=READ, operation_id="listObservations", response_headers=[LINK_HEADER])
    async def listing(
        self,
        request: Request[Any, Any, Any],
        observations: NamedDependency[ObservationService],
        site: Annotated[str | None, QueryParameter()] = None,
        night_from: Annotated[date | None, QueryParameter(description="first night")] = None,
        night_to: Annotated[date | None, QueryParameter(description="last night")] = None,
        programme: Annotated[str | None, QueryParameter(description="programme code")] = None,
        target: Annotated[str | None, QueryParameter(description="target id, or target name")] = None,
        mode: Annotated[str | None, QueryParameter(description="SPICA mode")] = None,
        level: Annotated[Level | None, QueryParameter()] = None,
        kind: Annotated[Literal["science", "calibrator", "check", "unknown"] | None, QueryParameter()] = None,
        withdrawn: Annotated[bool, QueryParameter(description="include withdrawn observations")] = False,
        cursor: CursorParameter = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Response[ObservationPage]:
        """Observations the caller may see, by start time (keyset pages)."""
        target_id: UUID | None = None
        name: str | None = None
        if target is not None:
            try:
                target_id = UUID(target)
            except ValueError:
                name = target
        flt = ObservationFilter(
            site=site, night_from=night_from, night_to=night_to, programme=programme, target_id=target_id,
            target_name=name, mode=mode, level=level, kind=kind, withdrawn=withdrawn,
        )  # fmt: skip
        items = await observations.listing(flt, ObservationKey.decode(cursor), limit + 1)
        return paged(request, ObservationPage.of(items, limit, lambda o: ObservationKey(o.mjd_start, o.id)))

    @get("/{observation_id:uuid}", guards=READ, operation_id="getObservation")
    async def detail(
        self, observation_id: FromPath[UUID], observations: NamedDependency[ObservationService]
    ) -> ObservationOut:
        """One observation with its projected baselines and the history of its quality flags."""
        return await observations.get(observation_id)

    @post(
        "/{observation_id:uuid}/flags",
        guards=FLAG,
        operation_id="flagObservation",
        status_code=201,
        responses={
            200: ResponseSpec(
                ObservationOut,
                description="The same level, reasons and comment again: nothing changed",
                generate_examples=False,
            )
        },
    )
    async def flag(
        self,
        observation_id: FromPath[UUID],
        data: JSONBody[FlagIn],
        observations: NamedDependency[ObservationService],
    ) -> Response[ObservationOut]:
        """Set the quality level (good, usable, degraded, bad, unknown) with reasons and a comment; every
        change is kept. The same level, reasons and comment again change nothing (200)."""
        observation, changed = await observations.flag(observation_id, data)
        return Response(observation, status_code=201 if changed else 200)
