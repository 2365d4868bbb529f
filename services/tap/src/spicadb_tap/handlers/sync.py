"""TAP 1.1 ``/tap/sync``: GET and POST (form-encoded, or multipart with inline UPLOAD parts); the
answer streamed in the format asked for, or 400 with a VOTable error document (QUERY_STATUS=ERROR)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from litestar import HttpMethod, Request, Response, route
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.response import Stream
from litestar.types import Method

from spicadb_kit import votable
from spicadb_kit.openapi import answers, binary, form, takes
from spicadb_kit.rights import request_viewer

from ..query import TapError, TapRequest, answer, parse_request
from ..query.uploads import UploadError
from ..results import MEDIA_TYPES, error_document
from ..state import TapContext
from .forms import BadForm, read_form

_TEXT, _INT = OpenAPIType.STRING, OpenAPIType.INTEGER
PARAMETERS = {
    "LANG": Schema(type=_TEXT, description="ADQL (ADQL-2.0 too); required"),
    "QUERY": Schema(type=_TEXT, description="the ADQL query; required"),
    "MAXREC": Schema(type=_INT, minimum=0, description="the most rows (0: metadata only); capped"),
    "RESPONSEFORMAT": Schema(
        type=_TEXT, description="votable (default), votable/b2, csv, tsv, json, or their media types"
    ),
    "FORMAT": Schema(type=_TEXT, description="RESPONSEFORMAT's older name"),
    "UPLOAD": Schema(
        type=_TEXT,
        description="name,param:part or name,http(s)://...[;...]: a multipart part's VOTable, or one the "
        "service fetches from a public address, as TAP_UPLOAD.name",
    ),
    "RUNID": Schema(type=_TEXT, description="echoed in the answer"),
    "REQUEST": Schema(type=_TEXT, description="ignored (TAP 1.0's doQuery)"),
}
_FORM = form(PARAMETERS, description="TAP parameters (names in any case; others ignored)")
_MULTIPART = form(
    {**PARAMETERS, "<part>": binary("a VOTable an UPLOAD names by param:<part>")},
    description="TAP parameters and the uploads' VOTables",
)
SYNC = {
    "anonymous": True,
    **answers(*sorted(set(MEDIA_TYPES.values())), errors=(400,)),
    **takes(
        {"application/x-www-form-urlencoded": _FORM, "multipart/form-data": _MULTIPART},
        "the query",
        required=False,
    ),
}


async def _parameters(request: Request[Any, Any, Any]) -> tuple[dict[str, str], dict[str, bytes]]:
    """The request's parameters (query string, then the body's) and its multipart parts' bytes."""
    params: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for key, value in request.query_params.items():
        params.setdefault(key.lower(), value)
    if request.method == HttpMethod.POST:
        body = await read_form(request)
        for key, value in body.multi_items():
            if isinstance(value, UploadFile):
                files[key] = await value.read()
            elif key.lower() == "upload" and "upload" in params:  # UPLOAD may be given more than once
                params["upload"] += ";" + value
            else:
                params.setdefault(key.lower(), value)
                files.setdefault(key, value.encode())
    return params, files


def _operation(_handler: Any, method: Method, _path: Any) -> str:
    """One OpenAPI operation id per method: tapSync (POST), tapSyncGet."""
    return "tapSync" if method == HttpMethod.POST else "tapSyncGet"


def _error(message: str, status: int = 400) -> Response[bytes]:
    return Response(content=error_document(message), status_code=status, media_type=votable.MEDIA_TYPE)


async def _chain(first: bytes, rest: AsyncGenerator[bytes, None]) -> AsyncIterator[bytes]:
    try:
        yield first
        async for chunk in rest:
            yield chunk
    finally:
        await rest.aclose()


@route(
    "/tap/sync",
    http_method=[HttpMethod.GET, HttpMethod.POST],
    opt=SYNC,
    operation_id=_operation,
    tags=["tap"],
    status_code=200,
)
async def tap_sync(request: Request[Any, Any, Any], context: NamedDependency[TapContext]) -> Response[Any]:
    """A synchronous TAP query: ``LANG=ADQL``, ``QUERY``, ``MAXREC`` (default and cap in
    /tap/capabilities; 0 asks for the columns only), ``RESPONSEFORMAT`` (votable, votable/b2, csv,
    tsv, json), ``UPLOAD`` (VOTables inline or by http(s) URL as ``TAP_UPLOAD.name``), ``RUNID``.
    Parameter names in any case; others ignored. Without a token only released data; with one, the
    caller's too. A refused query (syntax with its line and column, a table not published, a function
    outside ADQL), a refused or failed UPLOAD fetch, or one stopped by the timeout answers 400 with a
    VOTable QUERY_STATUS=ERROR."""
    settings = context.settings
    try:
        params, files = await _parameters(request)
        tap: TapRequest = parse_request(
            params,
            files,
            default_maxrec=settings.default_maxrec,
            hard_maxrec=settings.hard_maxrec,
            upload_max_bytes=settings.upload_max_bytes,
            upload_max_rows=settings.upload_max_rows,
            upload_fetch_timeout=settings.upload_fetch_timeout,
            upload_allow_hosts=settings.upload_allow_hosts,
        )
    except (TapError, UploadError, BadForm) as exc:
        return _error(str(exc))
    viewer = await request_viewer(request, context)
    state = context.state
    chunks = answer(
        context.pool,
        state.catalogue,
        tap,
        viewer=viewer,
        timeout=settings.sync_timeout,
        public_url=settings.public_url,
        reload=state.refresh_for_unknown,
    )
    try:
        first = await chunks.__anext__()
    except TapError as exc:
        return _error(str(exc))
    headers = {"Content-Disposition": f'inline; filename="{_filename(tap)}"'}
    return Stream(_chain(first, chunks), media_type=tap.media_type, headers=headers)


def _filename(tap: TapRequest) -> str:
    extension = {"votable": "xml", "votable-b2": "xml", "csv": "csv", "tsv": "tsv", "json": "json"}[
        tap.format
    ]
    return f"result.{extension}"


ROUTES: list[Any] = [tap_sync]
