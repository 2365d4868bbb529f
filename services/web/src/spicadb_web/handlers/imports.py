"""A programme's target list import with a dry-run preview: the page with its form (offered to those
who may add the programme's targets), and the form's answer: the preview (what the import would do, or
each bad cell at its row and column), or, once the preview is confirmed, the import and back to the
programme's page."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import ClientException
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import FromPath
from litestar.response import Redirect

from spicadb_kit.openapi import binary, form, takes

from ..api import ApiProblem
from ..rendering import HTML, href, page
from ..services.caller import Caller
from ..services.imports import (
    DUPLICATE_POLICIES,
    UPLOAD_MAX_BYTES,
    ImportConsole,
    ImportForm,
    ImportPage,
    uncarry,
)
from ..services.session import path
from ..services.targetfile import MEDIA_TYPES, UNKNOWN, media_type
from .common import ANSWERS, WRITE_ANSWERS, ConsoleController, html_answer, problem_page
from .deps import area

# the form's fields besides the file (its options, the carried file's name and type): a little room
FORM_ROOM = 64 * 1024
# what a text field of the form may hold (a work package's code, a file's name)
FIELD_CHARS = 200

IMPORT_FORM = takes(
    {
        "multipart/form-data": form(
            {
                "file": binary(
                    "the target list: CSV (or TSV), VOTable, JSON or FITS, as the import API takes"
                ),
                "content": Schema(
                    type=OpenAPIType.STRING,
                    description="instead of a file: the previewed file's bytes (base64), carried back by "
                    "the preview's Import form",
                ),
                "filename": Schema(type=OpenAPIType.STRING, max_length=FIELD_CHARS, description="its name"),
                "media_type": Schema(type=OpenAPIType.STRING, description="the media type it was sent as"),
                "work_package": Schema(
                    type=OpenAPIType.STRING, max_length=FIELD_CHARS, description="of the rows that name none"
                ),
                "duplicates": Schema(type=OpenAPIType.STRING, enum=list(DUPLICATE_POLICIES)),
                "dry_run": Schema(
                    type=OpenAPIType.STRING, enum=["true"], description="present: a preview, nothing written"
                ),
            }
        )
    },
    "the import form, sent by the console's script (multipart, with the session's X-CSRF-Token)",
)
NOT_OFFERED = 403


def _refusal(code: str) -> ApiProblem:
    return ApiProblem(
        NOT_OFFERED,
        "You may not import targets here",
        f"Importing a target list into {code} needs the programmes:write scope and the role of PI or "
        "co-investigator in it (or an administrator's).",
    )


def _import_page(caller: Caller, view: ImportPage) -> Response[str]:
    return page(
        "programme_import.html",
        status=view.status,
        caller=caller,
        view=view,
        policies=DUPLICATE_POLICIES,
        max_bytes=UPLOAD_MAX_BYTES,
        section="programmes",
    )


async def _drain(request: Request[Any, Any, Any]) -> None:
    """Read an upload refused for its size to its end (the gateway bounds it), keeping none of it."""
    async for _ in request.stream():
        pass


async def _sent(request: Request[Any, Any, Any]) -> ImportForm:
    """The form as sent: a file, or the bytes a preview carried back; its options bounded."""
    sent = await request.form()
    upload = sent.get("file")
    chosen = ImportForm(
        work_package=str(sent.get("work_package") or "")[:FIELD_CHARS],
        duplicates=str(sent.get("duplicates") or "keep")[:FIELD_CHARS],
        dry_run=str(sent.get("dry_run") or "") in ("true", "on"),
    )
    if isinstance(upload, UploadFile) and upload.filename:
        chosen.filename = upload.filename[:FIELD_CHARS]
        chosen.content = await upload.read()
        chosen.media_type = media_type(chosen.filename, upload.content_type or "")
        await upload.close()
        return chosen
    carried = uncarry(str(sent.get("content") or ""))
    if carried:
        chosen.filename = str(sent.get("filename") or "")[:FIELD_CHARS]
        given = str(sent.get("media_type") or "")
        known = given in MEDIA_TYPES.values() or given == UNKNOWN
        chosen.media_type = given if known else media_type(chosen.filename, "")
        chosen.content = carried
    return chosen


class ImportPages(ConsoleController):
    """A programme's target list import, previewed first."""

    dependencies = {"console": area(ImportConsole)}

    @get(
        "/console/programmes/{code:str}/import",
        operation_id="consoleImportTargets",
        media_type=HTML,
        responses={
            **ANSWERS,
            403: html_answer("Not one who may add this programme's targets: a page saying so"),
        },
    )
    async def form(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        console: NamedDependency[ImportConsole],
        code: FromPath[str],
    ) -> Response[str]:
        """The import form: a file (CSV or TSV, VOTable, JSON, FITS), the work package of the rows that
        name none, the duplicates policy, and "preview only" (ticked). Offered to a visitor with
        ``programmes:write`` who is the programme's PI or a co-investigator (or an admin)."""
        view = await console.page(code)
        if not console.may_import(view):
            return problem_page(request, _refusal(code))
        return _import_page(caller, view)

    @post(
        "/console/programmes/{code:str}/import",
        operation_id="consoleImportTargetsSend",
        opt=IMPORT_FORM,
        status_code=200,
        responses={
            **WRITE_ANSWERS,
            200: html_answer("The preview: what the import would do, or each bad cell at its row and column"),
            303: ResponseSpec(None, description="Imported: to the programme's page, its targets"),
            400: html_answer("A body that is not a form, or an option the API refuses: the form again"),
            413: html_answer(f"A file over {UPLOAD_MAX_BYTES} bytes: the form again, saying so"),
            415: html_answer("A file the import API cannot read as a target list: the form again, saying so"),
        },
    )
    async def send(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        console: NamedDependency[ImportConsole],
        code: FromPath[str],
    ) -> Response[str]:
        """The import form, sent by the console's script: the file goes to the import API as it is,
        ``dry_run=true`` while "preview only" is ticked (the preview: the API's report, or its errors
        with the file's rows, each bad cell marked), else for real, then the programme's page (303)."""
        view = await console.page(code)
        if not console.may_import(view):
            await _drain(request)
            return problem_page(request, _refusal(code))
        length = request.headers.get("content-length") or ""
        if length.isdigit() and int(length) > UPLOAD_MAX_BYTES + FORM_ROOM:
            await _drain(request)
            view.refused = _too_large()
            return _import_page(caller, view)
        try:
            sent = await _sent(request)
        except ClientException as exc:  # not a form (a broken multipart body): the page says so
            view.refused = ApiProblem(400, "The form could not be read", str(exc.detail))
            return _import_page(caller, view)
        if len(sent.content) > UPLOAD_MAX_BYTES:
            view.refused = _too_large()
        elif not sent.content:
            view.form = sent
            view.refused = ApiProblem(
                422,
                "The file is empty" if sent.filename else "Choose a file",
                f"{sent.filename} has nothing in it." if sent.filename else "No target list was sent.",
                [{"field": "file", "message": "an empty file" if sent.filename else "choose a file"}],
            )
        if view.refused is not None:
            return _import_page(caller, view)
        view = await console.send(code, view, sent)
        if view.report is not None and not sent.dry_run:
            done = href("/console" + path("programmes", code), imported=view.report.get("imported", 0))
            return Redirect(done + "#targets", status_code=303, media_type="text/html",
                            headers={"Cache-Control": "no-store"})  # fmt: skip
        return _import_page(caller, view)


def _too_large() -> ApiProblem:
    return ApiProblem(
        413,
        "The file is too large",
        f"The console takes target lists up to {UPLOAD_MAX_BYTES // (1024 * 1024)} MiB; send a longer one "
        "to the import API (POST /programmes/{code}/targets/import) directly.",
        [{"field": "file", "message": f"larger than {UPLOAD_MAX_BYTES} bytes"}],
    )
