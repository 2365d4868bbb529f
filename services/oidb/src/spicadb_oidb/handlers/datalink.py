"""DataLink 1.1 {links}: from a granule to its file, quick-look plots and night-log observations, from
an L0 observation to the granules reduced from it. No token needed; one sent is honoured."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import HttpMethod, Request, Response, route
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from spicadb_kit.openapi import answers

from .. import votable
from ..services.granules import GranuleService, VOError
from .granules import ANONYMOUS, READ, operation

# DataLink answers VOTables, errors too (400 with a DALI error document)
VO = {**ANONYMOUS, **answers(votable.DATALINK_MEDIA_TYPE, votable.MEDIA_TYPE, errors=(400,))}


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
    try:
        body = await granules.links(request.query_params.multi_items())
        status, media_type = 200, votable.DATALINK_MEDIA_TYPE
    except VOError as exc:
        body, status, media_type = votable.error(str(exc)), 400, votable.MEDIA_TYPE
    content = b"" if request.method == HttpMethod.HEAD else body.encode()
    return Response(content=content, status_code=status, media_type=media_type)
