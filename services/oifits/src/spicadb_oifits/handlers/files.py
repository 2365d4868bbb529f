"""The HTTP edge: pushes (streamed), file records, range downloads, granules, quick-look plots, rejections."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, head, post
from litestar.di import NamedDependency
from litestar.exceptions import InternalServerException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream

from spicadb_kit.auth import Principal, requires
from spicadb_kit.openapi import binary, problem_responses, takes
from spicadb_kit.pagination import DEFAULT_LIMIT, LINK_HEADER, CursorParameter, Limit, paged
from spicadb_kit.responses import content_disposition

from ..catalogue import RULES
from ..domain import PLOT_KINDS, RangeNotSatisfiable, byte_range
from ..models import FileOut, FilePage, FileStatus, GranuleOut, Profile, RejectionOut, RejectionPage, RuleOut
from ..problems import PREVIEW_NOT_FOUND, RANGE_NOT_SATISFIABLE
from ..services.files import FileService
from ..services.push import PushRequest, PushService, UploadCutOff
from ..storage.files import FileKey, RejectionKey

ANONYMOUS = {"anonymous": True}
# plots never change for a granule: cached for a year, privately while the granule is proprietary
PLOT_CACHE = 365 * 24 * 3600


async def _body(request: Request[Any, Any, Any]) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except InternalServerException as exc:  # litestar's word for a client that went away mid-body
        raise UploadCutOff(str(exc)) from exc


def _released(release: datetime | None) -> bool:
    return release is not None and release <= datetime.now(UTC)


# the push's body is the raw file (read as a stream, so no ``data`` parameter tells litestar what it is)
_FILE = binary()
PUSH_BODY = takes(
    {"application/fits": _FILE, "application/octet-stream": _FILE}, "the OIFITS file's bytes, streamed"
)


class FileController(Controller):
    path = "/oifits"
    tags = ["files"]

    @post(
        "/files",
        guards=[requires("oifits:push")],
        operation_id="pushFile",
        opt=PUSH_BODY,
        request_max_body_size=None,  # the service's own limit (max_file_bytes) applies while streaming
        responses={
            **problem_responses(507),  # the store's disk is full: nothing kept, push again later
            200: ResponseSpec(
                FileOut,
                description="The same bytes pushed before: the existing file",
                generate_examples=False,
            ),
        },
    )
    async def push(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        pushes: NamedDependency[PushService],
        filename: Annotated[str, QueryParameter(description="the file's name (metadata: stored by content)")],
        product: Annotated[
            str | None, QueryParameter(description="the DRS product id: a new file of it supersedes the last")
        ] = None,
        calib_level: Annotated[int | None, QueryParameter(ge=0, le=3)] = None,
        profile: Annotated[
            Profile | None, QueryParameter(description="archive (lenient) or drs (warnings refuse)")
        ] = None,
    ) -> Response[FileOut]:
        """Push an OIFITS file as the raw request body (``application/fits``), streamed to storage and hashed
        on the way. 201 with the file record when new; 200 with the existing record when the same bytes
        were pushed before; 422 with the validation report when it cannot be indexed (only the report is
        kept); 413 above the size limit; 507 when the store's disk has no room left for it (nothing kept)."""
        declared = request.headers.get("content-length")
        record, created = await pushes.push(
            _body(request),
            int(declared) if declared and declared.isdigit() else None,
            PushRequest(filename, principal.subject, product, calib_level, profile),
        )
        location = {"Location": f"/oifits/files/{record.id}"}
        return Response(record, status_code=201 if created else 200, headers=location)

    @get("/files", opt=ANONYMOUS, operation_id="listFiles", response_headers=[LINK_HEADER])
    async def listing(
        self,
        request: Request[Any, Any, Any],
        files: NamedDependency[FileService],
        sha256: Annotated[str | None, QueryParameter(description="the file with this content")] = None,
        product: Annotated[str | None, QueryParameter()] = None,
        status: Annotated[FileStatus | None, QueryParameter()] = None,
        programme: Annotated[str | None, QueryParameter()] = None,
        cursor: CursorParameter = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Response[FilePage]:
        """Files newest first, the ones the caller may see. ``sha256`` finds a file by content (the DRS
        client asks before pushing)."""
        filters = {
            "sha256": sha256.lower() if sha256 else None,
            "product_id": product,
            "status": status,
            "programme": programme,
        }
        return paged(request, await files.files(filters, FileKey.decode(cursor), limit))

    @get("/files/{file_id:uuid}", opt=ANONYMOUS, operation_id="getFile")
    async def detail(self, file_id: FromPath[UUID], files: NamedDependency[FileService]) -> FileOut:
        """A file with its validation report, granules, observation links and plots."""
        return await files.file(file_id)

    @get(
        "/files/{file_id:uuid}/content",
        opt=ANONYMOUS,
        operation_id="downloadFile",
        media_type="application/fits",
    )
    async def content(
        self, request: Request[Any, Any, Any], file_id: FromPath[UUID], files: NamedDependency[FileService]
    ) -> Response[Any]:
        """The file's bytes; ``Range: bytes=a-b`` gives 206 with that part (one range; several get the whole
        file), 416 outside the file. ETag is the sha256."""
        return await _download(request, file_id, files, body=True)

    @head(
        "/files/{file_id:uuid}/content", opt=ANONYMOUS, operation_id="headFile", media_type="application/fits"
    )
    async def content_head(
        self, request: Request[Any, Any, Any], file_id: FromPath[UUID], files: NamedDependency[FileService]
    ) -> Response[None]:
        return await _download(request, file_id, files, body=False)

    @get("/granules/{granule_id:uuid}", opt=ANONYMOUS, operation_id="getGranule", tags=["granules"])
    async def granule(self, granule_id: FromPath[UUID], files: NamedDependency[FileService]) -> GranuleOut:
        """One granule (target x INSNAME x night) with its ObsCore values, observations and plots."""
        return await files.granule(granule_id)

    @get(
        "/granules/{granule_id:uuid}/previews/{name:str}",
        opt=ANONYMOUS,
        operation_id="getPreview",
        tags=["granules"],
        media_type="image/png",
    )
    async def preview(
        self,
        request: Request[Any, Any, Any],
        granule_id: FromPath[UUID],
        name: FromPath[str],
        files: NamedDependency[FileService],
    ) -> Response[bytes]:
        """A quick-look plot: ``uv.png``, ``vis2.png`` or ``t3phi.png``; made once at indexing, so it is
        cached (privately while the granule is proprietary) and answers 304 to its ETag."""
        kind = name.removesuffix(".png")
        if kind not in PLOT_KINDS or not name.endswith(".png"):
            raise PREVIEW_NOT_FOUND(f"no plot {name}: {', '.join(k + '.png' for k in PLOT_KINDS)}")
        png, sha256, release = await files.preview(granule_id, kind)
        etag = f'"{sha256}"'
        scope = "public" if _released(release) else "private"
        headers = {"ETag": etag, "Cache-Control": f"{scope}, max-age={PLOT_CACHE}, immutable"}
        if request.headers.get("if-none-match") == etag:
            return Response(b"", status_code=304, headers=headers)
        return Response(png, media_type="image/png", headers=headers)

    @get("/rules", opt=ANONYMOUS, operation_id="listRules", tags=["files"])
    async def rules(self) -> list[RuleOut]:
        """The rules every push is checked against (a report names only those a file broke): each id,
        its severity under the archive profile (the drs profile refuses warnings too), what it checks and
        the profiles that check it."""
        return list(RULES)

    @get(
        "/rejections",
        guards=[requires("oifits:read")],
        operation_id="listRejections",
        tags=["rejections"],
        response_headers=[LINK_HEADER],
    )
    async def rejections(
        self,
        request: Request[Any, Any, Any],
        files: NamedDependency[FileService],
        cursor: CursorParameter = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Response[RejectionPage]:
        """Pushes refused, newest first, each with its validation report."""
        return paged(request, await files.rejections(RejectionKey.decode(cursor), limit))

    @get(
        "/rejections/{rejection_id:uuid}",
        guards=[requires("oifits:read")],
        operation_id="getRejection",
        tags=["rejections"],
    )
    async def rejection(
        self, rejection_id: FromPath[UUID], files: NamedDependency[FileService]
    ) -> RejectionOut:
        return await files.rejection(rejection_id)


async def _download(
    request: Request[Any, Any, Any], file_id: UUID, files: FileService, *, body: bool
) -> Response[Any]:
    row = await files.stored(file_id)
    size, etag = row["size"], f'"{row["sha256"]}"'
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Content-Disposition": content_disposition(row["filename"]),
        "Cache-Control": ("public" if _released(row["release_date"]) else "private") + ", max-age=86400",
    }
    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range != etag:
        wanted = None  # the client's copy is another content: send it whole
    try:
        span = byte_range(wanted, size)
    except RangeNotSatisfiable:
        raise RANGE_NOT_SATISFIABLE(
            f"the range is outside the file ({size} bytes)",
            headers={"Content-Range": f"bytes */{size}"},
        ) from None
    start, end = span or (0, size)
    headers["Content-Length"] = str(end - start)
    status = 200
    if span is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    if not body:
        # an empty body with the file's headers (Content-Length of the file, as a GET would send)
        return Response(b"", status_code=status, headers=headers, media_type="application/fits")
    stream = files.store.read(row["sha256"], start, end)
    return Stream(stream, status_code=status, headers=headers, media_type="application/fits")
