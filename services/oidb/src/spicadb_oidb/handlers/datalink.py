"""DataLink 1.1 {links}: from a granule to its file, quick-look plots and night-log observations, from
an L0 observation to the granules reduced from it. No token needed; one sent is honoured."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import HttpMethod, Request, Response, post, route
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import QueryParameter

from spicadb_kit.openapi import answers, form, takes

from .. import votable
from ..services.granules import GranuleService, VOError
from .granules import ANONYMOUS, READ, operation

# DataLink answers VOTables, errors too (400 with a DALI error document)
VO = {**ANONYMOUS, **answers(votable.DATALINK_MEDIA_TYPE, votable.MEDIA_TYPE, errors=(400,))}
# DALI-sync: the same parameters in a form (pyvo's iter_datalinks posts its batches of IDs)
LINKS_FORM = form(
    {
        "ID": Schema(type=OpenAPIType.STRING, description="repeatable"),
        "RESPONSEFORMAT": Schema(type=OpenAPIType.STRING, description="votable"),
    },
    description="the parameters of the GET, as a form (query parameters are read too)",
)


@route("/oidb/links", http_method=READ, opt=VO, operation_id=operation("links"), tags=["vo"])
async def links(
    request: Request[Any, Any, Any],
    granules: NamedDependency[GranuleService],
    # declared for the documentation; read from the raw query, where DALI lets names come in any case
    ids: Annotated[list[str] | None, QueryParameter(name="ID", description="repeatable")] = None,
    response_format: Annotated[
        str | None, QueryParameter(name="RESPONSEFORMAT", description="votable")
    ] = None,
) -> Response[bytes]:
    """``ID`` (repeatable): a granule's obs_publisher_did (or its uuid), or an L0 observation's ID
    (``<l0 prefix>?<uuid>``, or its uuid); ``RESPONSEFORMAT`` a VOTable or absent. A VOTable of the
    links (``#this``, ``#preview``, ``#progenitor`` of a granule, ``#derivation`` of an observation);
    an ID unknown or not visible gets one row ``NotFoundFault: <ID>``. A bad parameter: 400 with a DALI
    error document."""
    return await _links(request, granules, list(request.query_params.multi_items()))


@post(
    "/oidb/links",
    opt={**VO, **takes({"application/x-www-form-urlencoded": LINKS_FORM}, "the parameters", required=False)},
    operation_id="linksPost",
    tags=["vo"],
    status_code=200,
)
async def links_post(
    request: Request[Any, Any, Any], granules: NamedDependency[GranuleService]
) -> Response[bytes]:
    """The same, the parameters in a form (``application/x-www-form-urlencoded``), as DALI-sync allows
    and pyvo's ``iter_datalinks`` sends them; query parameters count too."""
    body = await request.form()
    items = [(k, v) for k, v in body.multi_items() if isinstance(v, str)]
    return await _links(request, granules, [*request.query_params.multi_items(), *items])


async def _links(
    request: Request[Any, Any, Any], granules: GranuleService, params: list[tuple[str, str]]
) -> Response[bytes]:
    try:
        body = await granules.links(params)
        status, media_type = 200, votable.DATALINK_MEDIA_TYPE
    except VOError as exc:
        body, status, media_type = votable.error(str(exc)), 400, votable.MEDIA_TYPE
    content = b"" if request.method == HttpMethod.HEAD else body.encode()
    return Response(content=content, status_code=status, media_type=media_type)
