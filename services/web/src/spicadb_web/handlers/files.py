"""The files' pages: the pushes (filters, keyset pages), a file with its validation report, granules and
versions, and the rejections with the rules that refused them. The oifits API applies the rights; a
filter the API would refuse is refused here first with the same 400, shown as a page."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect

from spicadb_kit.openapi import form, takes

from ..api import ApiProblem
from ..rendering import HTML, page
from ..services.caller import Caller
from ..services.files import FILE_STATUSES, FileQuery, FilesConsole
from .common import ANSWERS, WRITE_ANSWERS, ConsoleController, Cursor, Text, html_answer
from .deps import area

# a filter out of its range, or a cursor no page gave (the API's own 400)
BAD_FILTER = {400: html_answer("A filter out of its range or a cursor no page gave: a page saying which")}
Status = Annotated[str | None, QueryParameter(max_length=20, description="current or superseded")]
Sha256 = Annotated[str | None, QueryParameter(max_length=64, description="the file with this content")]
# the admin's programme form, as the oifits API takes it (which checks the code)
PROGRAMME_FORM = takes(
    {
        "application/x-www-form-urlencoded": form(
            {
                "programme": Schema(
                    type=OpenAPIType.STRING,
                    max_length=64,
                    description="the programme's code; empty: the file belongs to no programme",
                )
            }
        )
    },
    "the programme form (admins), sent by the console's script with the session's X-CSRF-Token",
)


def _status(status: str | None) -> str:
    if status and status not in FILE_STATUSES:
        raise ApiProblem(
            400,
            "Bad Request",
            f"A file's status is one of: {', '.join(FILE_STATUSES)}.",
            [{"field": "status", "message": f"one of {', '.join(FILE_STATUSES)}"}],
        )
    return status or ""


class FilePages(ConsoleController):
    """The pushes, a file, the rejections and a rejection."""

    dependencies = {"console": area(FilesConsole)}

    @get("/console/files", operation_id="consoleFiles", media_type=HTML, responses={**ANSWERS, **BAD_FILTER})
    async def files(
        self,
        caller: NamedDependency[Caller],
        console: NamedDependency[FilesConsole],
        status: Status = None,
        product: Text = None,
        programme: Text = None,
        sha256: Sha256 = None,
        cursor: Cursor = None,
    ) -> Response[str]:
        """The pushes the visitor may see, newest first: status, programme, size, when and who; filters
        (status, DRS product, programme, content's sha256) and keyset pages."""
        query = FileQuery(_status(status), product or "", programme or "", sha256 or "", cursor)
        listing = await console.files(query)
        return page(
            "files.html", caller=caller, listing=listing, query=query, statuses=FILE_STATUSES, section="files"
        )

    @get(
        "/console/files/rejections",
        operation_id="consoleRejections",
        media_type=HTML,
        responses={**ANSWERS, **BAD_FILTER},
    )
    async def rejections(self, caller: NamedDependency[Caller],
                         console: NamedDependency[FilesConsole], cursor: Cursor = None) -> Response[str]:  # fmt: skip
        """Pushes refused, newest first, with the rules that refused them; keyset pages."""
        listing = await console.rejections(cursor)
        return page("files_rejections.html", caller=caller, listing=listing, section="files")

    @get(
        "/console/files/rejections/{rejection_id:uuid}",
        operation_id="consoleRejection",
        media_type=HTML,
        responses=ANSWERS,
    )
    async def rejection(self, caller: NamedDependency[Caller], console: NamedDependency[FilesConsole],
                        rejection_id: FromPath[UUID]) -> Response[str]:  # fmt: skip
        """A refused push: its report, each finding's rule, message and where in the file."""
        rejection, report = await console.rejection(rejection_id)
        return page(
            "files_rejection.html", caller=caller, rejection=rejection, report=report, section="files"
        )

    @get("/console/files/{file_id:uuid}", operation_id="consoleFile", media_type=HTML, responses=ANSWERS)
    async def file(
        self,
        caller: NamedDependency[Caller],
        console: NamedDependency[FilesConsole],
        file_id: FromPath[UUID],
        saved: Annotated[bool, QueryParameter(description="the page after its programme was saved")] = False,
    ) -> Response[str]:
        """A file: its facts, validation report, granules (to the OiDB view), versions (what it superseded
        and what superseded it) and its download link; for an admin, the form attaching it to a programme.
        A file the visitor may not see is the API's 404."""
        view = await console.file(file_id)
        view.saved = saved
        return page("files_file.html", caller=caller, view=view, section="files")

    @post(
        "/console/files/{file_id:uuid}/programme",
        operation_id="consoleAttachFile",
        opt=PROGRAMME_FORM,
        status_code=303,
        responses={**WRITE_ANSWERS, 303: ResponseSpec(None, description="Saved: to the file's page")},
    )
    async def attach(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        console: NamedDependency[FilesConsole],
        file_id: FromPath[UUID],
    ) -> Response[str]:
        """Attach the file to a programme, or to none (admins; the oifits API decides): then the file's
        page (303); refused, the page again with the problem's title beside the field, what was typed kept."""
        sent = await request.form()
        programme = str(sent.get("programme") or "").strip()
        try:
            await console.attach(file_id, programme)
        except ApiProblem as problem:
            view = await console.file(file_id)
            view.programme_typed, view.refused = programme, problem
            status = problem.status if problem.status < 500 else 502
            return page("files_file.html", status=status, caller=caller, view=view, section="files")
        return Redirect(
            f"/console/files/{file_id}?saved=true#programme-form",
            status_code=303,
            media_type="text/html",
            headers={"Cache-Control": "no-store"},
        )
