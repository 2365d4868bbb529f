"""A programme's target list import with a dry-run preview, as data: the file the visitor sent is
forwarded as it is to ``POST /programmes/{code}/targets/import`` (``dry_run=true`` for the preview),
and the preview shows the API's report (what would be created, skipped, reported) or its errors, each
bad cell at its row and column in a table of the file's rows.

The console keeps nothing between the preview and the import: a small file comes back inside the
preview's "Import" form (its bytes in a hidden field, base64), so the import sends exactly the bytes
previewed; a larger one is chosen again, with the same options and the preview box unticked."""

from __future__ import annotations

import asyncio
import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from ..api import ApiProblem
from .programmes import may_edit_targets
from .session import ApiSession, optional, path
from .targetfile import BadCell, FileTable, bad_cells, read_table

# the largest file the console takes (the gateway's route for its programmes' pages takes a little
# more: the form around the file); a longer list goes to the import API directly
UPLOAD_MAX_BYTES = 8 * 1024 * 1024
# the largest file the preview carries back in its "Import" form (base64: a third more in the page)
CARRY_MAX_BYTES = 1024 * 1024
DUPLICATE_POLICIES = ("keep", "skip", "refuse")


@dataclass
class ImportForm:
    """The import form as sent: the file (its name, the media type it goes to the API as, its bytes)
    and the options of ``POST /programmes/{code}/targets/import``."""

    filename: str = ""
    media_type: str = ""
    content: bytes = b""
    work_package: str = ""
    duplicates: str = "keep"
    dry_run: bool = True

    def params(self) -> list[tuple[str, str | int]]:
        params: list[tuple[str, str | int]] = [
            ("dry_run", "true" if self.dry_run else "false"),
            ("duplicates", self.duplicates),
        ]
        if self.work_package:
            params.append(("work_package", self.work_package))
        return params

    @property
    def carried(self) -> str | None:
        """The file's bytes for the preview's "Import" form (None: too large to carry, choose it again)."""
        if not self.content or len(self.content) > CARRY_MAX_BYTES:
            return None
        return base64.b64encode(self.content).decode("ascii")


def uncarry(text: str) -> bytes | None:
    """The bytes a preview's "Import" form carried back (None when they are not base64)."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


@dataclass
class ImportPage:
    programme: dict[str, Any]
    work_packages: list[dict[str, Any]] | ApiProblem
    form: ImportForm = field(default_factory=ImportForm)
    # the API's report: a dry run's preview (or an import done)
    report: dict[str, Any] | None = None
    # the API's (or the console's) refusal: its title, and its errors located below
    refused: ApiProblem | None = None
    errors: list[BadCell] = field(default_factory=list)
    # the file's rows, the bad cells marked (None: not shown as a table)
    table: FileTable | None = None
    # rows a dry run reports as duplicates: row -> what becomes of it
    duplicates: dict[int, str] = field(default_factory=dict)

    @property
    def status(self) -> int:
        if self.refused is None:
            return 200
        return self.refused.status if self.refused.status < 500 or self.refused.status == 504 else 502


class ImportConsole:
    """The import page and its preview, for one visitor."""

    def __init__(self, session: ApiSession) -> None:
        self.session = session
        self.caller = session.caller
        self._get = session.get

    async def page(self, code: str) -> ImportPage:
        """The programme (its problem raised) and its work packages, for the form."""
        base = ("programmes", code)
        programme, work_packages = await asyncio.gather(
            self._get(path(*base)), optional(self._get(path(*base, "work-packages")))
        )
        return ImportPage(programme, work_packages)

    def may_import(self, view: ImportPage) -> bool:
        return may_edit_targets(self.caller, view.programme)

    async def send(self, code: str, view: ImportPage, form: ImportForm) -> ImportPage:
        """The file to the import API (a dry run unless the form says otherwise): its report, or its
        refusal with each bad cell located in the file's rows."""
        view.form = form
        try:
            report = await self.session.upload(
                path("programmes", code, "targets", "import"), form.content, form.media_type, form.params()
            )
        except ApiProblem as problem:
            view.refused = problem
        else:
            view.report = dict(report)
            view.duplicates = {
                int(pair["row"]): str(pair.get("outcome") or "")
                for pair in view.report.get("duplicates") or []
                if isinstance(pair, dict) and isinstance(pair.get("row"), int)
            }
        if view.report is not None and not form.dry_run:
            return view  # imported: the programme's page shows the targets
        located = bad_cells(view.refused.errors) if view.refused is not None else []
        wanted = {cell.row for cell in located if cell.row is not None} | set(view.duplicates)
        view.table = await asyncio.to_thread(read_table, form.content, form.media_type, wanted)
        view.errors = view.table.mark(located) if view.table is not None else located
        return view
