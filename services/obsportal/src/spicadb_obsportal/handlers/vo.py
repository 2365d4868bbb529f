"""The VO edge: ObsPortal's search.votable (Aspro2's raw observations, OiDB's harvesting) and a
Simple Cone Search 1.03. No token needed; one sent is honoured (members see their proprietary data)."""

from __future__ import annotations

from typing import Any

from litestar import HttpMethod, Request, Response, post, route
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIType, Schema

from spicadb_kit.openapi import answers, form, takes

from .. import votable
from ..services.exposures import ObsportalService, VOError
from . import READ_METHODS, operation

ANONYMOUS = {"anonymous": True}
# VOTables, errors too (a bad parameter: 400 with PARAM status=ERROR, or INFO name="Error" for SCS)
VO = {**ANONYMOUS, **answers(votable.MEDIA_TYPE, errors=(400,))}
_TEXT, _NUMBER = OpenAPIType.STRING, OpenAPIType.NUMBER
# the search's fields, as the GET takes them in its query (every one optional; a form's values are text)
SEARCH_FORM = form(
    {
        "ra": Schema(type=_NUMBER, minimum=0.0, maximum=360.0, description="ICRS degrees (with dec)"),
        "dec": Schema(type=_NUMBER, minimum=-90.0, maximum=90.0, description="ICRS degrees (with ra)"),
        "radius": Schema(type=_NUMBER, minimum=0.0, description="arcseconds (default 30)"),
        "all_fields": Schema(type=_TEXT, description="ignored: every field is always written"),
        "instrument": Schema(type=_TEXT, description="SPICA (another: no rows)"),
        "interferometer": Schema(type=_TEXT, description="CHARA (another: no rows)"),
        "date_updated_from": Schema(
            type=_TEXT, description="a date (from its start) or an ISO date and time"
        ),
        "date_updated_to": Schema(type=_TEXT, description="a date (to its end) or an ISO date and time"),
    },
    description="the search's fields, as Aspro2 and OiDB send them (query fields are read too)",
)


def _answer(request: Request[Any, Any, Any], body: str, status: int = 200) -> Response[bytes]:
    content = b"" if request.method == HttpMethod.HEAD else body.encode()
    return Response(content=content, status_code=status, media_type=votable.MEDIA_TYPE)


async def _search(request: Request[Any, Any, Any], obsportal: ObsportalService) -> Response[bytes]:
    params: dict[str, str] = dict(request.query_params.items())
    if request.method == HttpMethod.POST:
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    try:
        return _answer(request, await obsportal.search(params))
    except VOError as exc:
        return _answer(request, votable.status_error(str(exc)), 400)


@post(
    "/obsportal/search.votable",
    opt={**VO, **takes({"application/x-www-form-urlencoded": SEARCH_FORM}, "the search", required=False)},
    operation_id="searchVotable",
    tags=["vo"],
    status_code=200,
)
async def search_votable(
    request: Request[Any, Any, Any], obsportal: NamedDependency[ObsportalService]
) -> Response[bytes]:
    """ObsPortal's search, as Aspro2 sends it: a form (``application/x-www-form-urlencoded``) with
    ``ra``, ``dec`` in degrees, ``radius`` in **arcseconds** (default 30), ``all_fields`` (ignored: every
    field is always written); also OiDB's harvesting filters (``instrument=SPICA``,
    ``interferometer=CHARA``, ``date_updated_from``, ``date_updated_to``: a date, the whole day, or an ISO
    date and time). A VOTable 1.4 with ObsPortal's exact FIELDs; 400 with PARAM status=ERROR when a
    parameter is wrong. Without a token only released data; with one, the caller's too."""
    return await _search(request, obsportal)


@route(
    "/obsportal/search.votable",
    http_method=READ_METHODS,
    opt=VO,
    operation_id=operation("searchVotableGet"),
    tags=["vo"],
)
async def search_votable_get(
    request: Request[Any, Any, Any], obsportal: NamedDependency[ObsportalService]
) -> Response[bytes]:
    """The same search with the fields in the query string."""
    return await _search(request, obsportal)


@route(
    "/obsportal/scs",
    http_method=READ_METHODS,
    opt=VO,
    operation_id=operation("coneSearch"),
    tags=["vo"],
)
async def cone_search(
    request: Request[Any, Any, Any], obsportal: NamedDependency[ObsportalService]
) -> Response[bytes]:
    """Simple Cone Search 1.03: ``RA``, ``DEC``, ``SR`` in ICRS decimal degrees, ``VERB`` 1, 2 (default)
    or 3; ``SR=0`` asks for the metadata only. SR above the advertised maximum (INFO ``maxSR``, setting
    ``SPICADB_SCS_MAX_SR``) and any bad parameter answer a VOTable with one INFO name="Error"."""
    try:
        return _answer(request, await obsportal.cone(dict(request.query_params.items())))
    except VOError as exc:
        return _answer(request, votable.error(str(exc)))
