"""Reading files, granules, plots and rejections, always through the data-rights rule: a file or granule
the viewer may not see answers exactly as one that does not exist."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from spicadb_kit.rights import Viewer
from spicadb_kit.rows import row_to

from ..blobs import BlobStore
from ..config import OifitsSettings
from ..domain import PLOT_TITLES
from ..models import (
    FileOut,
    FilePage,
    FileSummary,
    GranuleOut,
    ObservationLinkOut,
    PreviewOut,
    RejectionOut,
    RejectionPage,
    ReportOut,
)
from ..problems import FILE_NOT_FOUND, GRANULE_NOT_FOUND, PREVIEW_NOT_FOUND, REJECTION_NOT_FOUND
from ..storage.files import FileKey, FileStore, RejectionKey, RejectionStore
from .urls import Urls


class FileService:
    def __init__(
        self, pool: asyncpg.Pool, viewer: Viewer, settings: OifitsSettings, store: BlobStore
    ) -> None:
        self.pool = pool
        self.viewer = viewer
        self.settings = settings
        self.store = store
        self.urls = Urls(settings.public_url)
        self._who = (viewer.username, viewer.sees_all)

    async def file(self, file_id: UUID) -> FileOut:
        async with self.pool.acquire() as conn:
            files = FileStore(conn)
            row = await files.file(file_id, *self._who)
            if row is None:
                raise FILE_NOT_FOUND(f"no file {file_id}")
            granules = await self._granules(files, await files.granules_of_file(file_id))
        return self._file_out(row, granules)

    async def stored(self, file_id: UUID) -> asyncpg.Record:
        """A file the viewer may download (sha256, size, name)."""
        async with self.pool.acquire() as conn:
            row = await FileStore(conn).file(file_id, *self._who)
        if row is None:
            raise FILE_NOT_FOUND(f"no file {file_id}")
        return row

    async def files(self, filters: dict[str, Any], after: FileKey | None, limit: int) -> FilePage:
        async with self.pool.acquire() as conn:
            rows = await FileStore(conn).files(*self._who, filters=filters, after=after, limit=limit + 1)
        return FilePage.of([self._summary(r) for r in rows], limit, lambda f: FileKey(f.pushed_at, f.id))

    async def granule(self, granule_id: UUID) -> GranuleOut:
        async with self.pool.acquire() as conn:
            files = FileStore(conn)
            row = await files.granule(granule_id, *self._who)
            if row is None:
                raise GRANULE_NOT_FOUND(f"no granule {granule_id}")
            (granule,) = await self._granules(files, [row])
        return granule

    async def preview(self, granule_id: UUID, kind: str) -> tuple[bytes, str, datetime | None]:
        """(PNG bytes, sha256, release date) of one plot of a visible granule."""
        async with self.pool.acquire() as conn:
            row = await FileStore(conn).preview(granule_id, kind, *self._who)
        if row is None:
            raise PREVIEW_NOT_FOUND(f"no {kind} plot for granule {granule_id}")
        return await self.store.read_all(row["sha256"]), row["sha256"], row["release_date"]

    async def rejection(self, rejection_id: UUID) -> RejectionOut:
        async with self.pool.acquire() as conn:
            row = await RejectionStore(conn).get(rejection_id)
        if row is None:
            raise REJECTION_NOT_FOUND(f"no rejection {rejection_id}")
        return _rejection_out(row)

    async def rejections(self, after: RejectionKey | None, limit: int) -> RejectionPage:
        async with self.pool.acquire() as conn:
            rows = await RejectionStore(conn).listing(after, limit + 1)
        items = [_rejection_out(r) for r in rows]
        return RejectionPage.of(items, limit, lambda r: RejectionKey(r.last_pushed_at, r.id))

    async def _granules(self, files: FileStore, rows: Sequence[asyncpg.Record]) -> list[GranuleOut]:
        ids = [r["id"] for r in rows]
        previews: dict[UUID, list[PreviewOut]] = defaultdict(list)
        for p in await files.previews(ids):
            url = self.urls.preview(p["granule_id"], p["kind"])
            previews[p["granule_id"]].append(row_to(PreviewOut, p, title=PLOT_TITLES[p["kind"]], url=url))
        links: dict[UUID, list[ObservationLinkOut]] = defaultdict(list)
        for link in await files.links(ids):
            url = self.urls.observation(link["observation_id"])
            links[link["granule_id"]].append(row_to(ObservationLinkOut, link, url=url))
        return [row_to(GranuleOut, r, observations=links[r["id"]], previews=previews[r["id"]]) for r in rows]

    def _file_out(self, row: asyncpg.Record, granules: list[GranuleOut]) -> FileOut:
        url = self.urls.content(row["id"])
        return row_to(FileOut, row, download_url=url, report=_report(row["report"]), granules=granules)

    def _summary(self, row: asyncpg.Record) -> FileSummary:
        return row_to(FileSummary, row, url=self.urls.file(row["id"]))


def _report(stored: Any) -> ReportOut:
    """A stored validation report (older ones may lack the version and the profile)."""
    document = msgspec.json.decode(stored) if isinstance(stored, str | bytes) else stored
    return msgspec.convert({"version": None, "profile": "archive", **document}, ReportOut)


def _rejection_out(row: asyncpg.Record) -> RejectionOut:
    return row_to(RejectionOut, row, report=_report(row["report"]))
