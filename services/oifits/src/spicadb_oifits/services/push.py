"""A push from the DRS: stream to the store while hashing, refuse what cannot be indexed (keeping only the
report), index the rest, link its granules to their observations, and record it all in one transaction
with its events. The same bytes again are the same file; a new reduction of a product supersedes the last.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import msgspec

from spicadb_astro import nights
from spicadb_contracts.oifits import FileIndexed, FileRejected, FileSuperseded, IndexedGranule, Preview
from spicadb_kit.db import transaction
from spicadb_kit.errors import FieldError, Problem
from spicadb_kit.events import Outbox
from spicadb_kit.logs import get_logger

from ..blobs import BlobStore, Part, StoreFull, TooLarge
from ..config import OifitsSettings
from ..domain import file_programme, filename_problem, name_key, product_problem
from ..granules import Granule
from ..indexing import Indexed, Indexer
from ..models import FileOut
from ..problems import BAD_PUSH, FILE_TOO_LARGE, INSUFFICIENT_STORAGE, INVALID_OIFITS, UPLOAD_INCOMPLETE
from ..storage.files import FileStore, RejectionStore
from ..storage.observations import ObservationStore
from .files import FileService
from .links import Link, Linker
from .urls import Urls

log = get_logger(__name__)


class UploadCutOff(Exception):
    """The client went away before the whole body arrived."""


class PushRequest(msgspec.Struct, frozen=True):
    filename: str
    pushed_by: str
    product_id: str | None = None
    calib_level: int | None = None
    # None: the service's default profile
    profile: str | None = None


class Pushed(msgspec.Struct, frozen=True):
    file_id: UUID
    created: bool


class _SameContent(Exception):
    def __init__(self, file_id: UUID) -> None:
        self.file_id = file_id


class PushService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        outbox: Outbox,
        store: BlobStore,
        settings: OifitsSettings,
        indexer: Indexer,
        reader: FileService,
    ) -> None:
        self.pool = pool
        self.outbox = outbox
        self.store = store
        self.settings = settings
        self.indexer = indexer
        # the pusher reads back the record of its own push, whatever the programme
        self.reader = reader
        self.urls = Urls(settings.public_url)

    async def push(
        self, body: AsyncIterator[bytes], declared: int | None, request: PushRequest
    ) -> tuple[FileOut, bool]:
        """The file's record, and whether this push created it (False: the same bytes were there)."""
        pushed = await self._push(body, declared, request)
        return await self.reader.file(pushed.file_id), pushed.created

    async def _push(self, body: AsyncIterator[bytes], declared: int | None, request: PushRequest) -> Pushed:
        try:
            return await self._store(body, declared, request)
        except StoreFull as full:
            # the part, the objects this push created and its transaction are gone by now
            log.warning("push refused: the file store is full", filename=request.filename, error=str(full))
            raise INSUFFICIENT_STORAGE(
                f"no room left in the file store for {request.filename} or its plots; nothing was kept:"
                " push it again once space is freed"
            ) from None

    async def _store(self, body: AsyncIterator[bytes], declared: int | None, request: PushRequest) -> Pushed:
        _check(request)
        profile = request.profile if request.profile is not None else self.settings.default_profile
        request = msgspec.structs.replace(request, profile=profile)  # the report and the row say which
        limit = self.settings.max_file_bytes
        if declared is not None and declared > limit:
            raise _too_large(limit)
        async with self.store.receiving(limit) as part:
            await _receive(body, part, declared, limit)
            async with self.pool.acquire() as conn:
                existing = await FileStore(conn).by_sha256(part.sha256)
            if existing is not None:
                return Pushed(existing, False)
            indexed = await self.indexer.index(part.path, calib_level=request.calib_level, profile=profile)
            if indexed.refused:
                await self._reject(part, indexed, request)
            try:
                return Pushed(await self._record(part, indexed, request), True)
            except _SameContent as same:
                return Pushed(same.file_id, False)

    async def _reject(self, part: Part, indexed: Indexed, request: PushRequest) -> None:
        report = msgspec.to_builtins(indexed.report)
        report["profile"] = request.profile
        async with transaction(self.pool) as conn:
            row = await RejectionStore(conn).record(
                {
                    "id": uuid.uuid4(),
                    "sha256": part.sha256,
                    "size": part.size,
                    "filename": request.filename,
                    "product_id": request.product_id,
                    "profile": request.profile,
                    "report": report,
                    "pushed_by": request.pushed_by,
                }
            )
            rules = sorted({f.rule for f in indexed.report.findings if f.severity == "error"})
            event = FileRejected(
                rejection_id=row["id"],
                filename=request.filename,
                sha256=part.sha256,
                size=part.size,
                rules=rules,
                pushed_by=request.pushed_by,
                pushed_at=row["last_pushed_at"],
                product_id=request.product_id,
            )
            await self.outbox.add(conn, event, aggregate_id=str(row["id"]))
        raise INVALID_OIFITS(
            f"{request.filename} cannot be indexed: {', '.join(rules)}; only the validation report is kept",
            rejection_id=str(row["id"]),
            report=report,
        )

    async def _record(self, part: Part, indexed: Indexed, request: PushRequest) -> UUID:
        """Keep the bytes and the plots, then the rows and events, in one transaction that holds a lock
        on every object key it uses from before storing to the commit. A concurrent push of the same
        bytes (or plots) waits there, so an object this push created is used by no committed record
        until this push commits: removing it again on failure cannot take it from another file."""
        plots = [[(kind, png, _key(png)) for kind, png in previews.items()] for previews in indexed.previews]
        keys = {part.sha256, *(key for kept in plots for _, _, key in kept)}
        async with transaction(self.pool) as conn:
            files = FileStore(conn)
            await files.lock_objects(keys)
            created: list[str] = []
            try:
                if await self.store.keep(part):
                    created.append(part.sha256)
                for kept in plots:
                    for _, png, key in kept:
                        if (await self.store.put(png))[1]:
                            created.append(key)
                async with conn.transaction():  # a savepoint: the locks outlive a failed insert
                    sized = [[(kind, key, len(png)) for kind, png, key in kept] for kept in plots]
                    return await self._insert(conn, part, indexed, sized, request)
            except BaseException:
                await self._discard(files, created)
                raise

    async def _discard(self, files: FileStore, created: list[str]) -> None:
        """Remove the objects this failed push created, still under its locks, unless a committed record
        uses one (it cannot, by the locks; checked all the same). When the check itself fails the
        objects stay: an orphan costs space, a removed object a file."""
        if not created:
            return
        try:
            used = await files.objects_in_use(created)
        except Exception:
            log.warning("objects of a failed push left in the store", keys=created)
            return
        for key in created:
            if key not in used:
                await self.store.remove(key)

    async def _insert(
        self,
        conn: asyncpg.Connection,
        part: Part,
        indexed: Indexed,
        plots: list[list[tuple[str, str, int]]],
        request: PushRequest,
    ) -> UUID:
        files = FileStore(conn)
        file_id, now = uuid.uuid4(), datetime.now(UTC)
        previous = None
        if request.product_id:
            await files.lock_product(request.product_id)
            previous = await files.current_of_product(request.product_id)
        declared = file_programme(indexed.granules, await files.programme_codes())
        if declared is None and previous is not None:
            # a new reduction of the same data: the programme the last one had (an admin may have given it)
            declared = previous["programme"]
        linker = Linker(conn, self.settings)
        links = [await linker.for_granule(g, declared) for g in indexed.granules]
        programmes = [declared or _programme_of(found) for found in links]
        file_row = self._file_row(file_id, part, indexed, request, previous, programmes)
        superseded: list[UUID] = []
        if previous is not None:
            superseded = await files.supersede(previous["id"], file_id)
        if not await files.insert_file(file_row):
            raise _SameContent(await files.by_sha256(part.sha256) or file_id)
        granule_ids = [uuid.uuid4() for _ in indexed.granules]
        await files.insert_granules(
            [
                _granule_row(gid, file_id, g, p)
                for gid, g, p in zip(granule_ids, indexed.granules, programmes, strict=True)
            ]
        )
        await files.insert_previews(
            [
                (gid, kind, key, size)
                for gid, kept in zip(granule_ids, plots, strict=True)
                for kind, key, size in kept
            ]
        )
        await ObservationStore(conn).link(
            [(gid, obs, how) for gid, found in zip(granule_ids, links, strict=True) for obs, how, _ in found]
        )
        if previous is not None:
            event = FileSuperseded(
                file_id=previous["id"],
                product_id=request.product_id or "",
                superseded_by=file_id,
                granule_ids=superseded,
                superseded_at=now,
            )
            await self.outbox.add(conn, event, aggregate_id=str(previous["id"]))
        granules = [
            self._indexed(gid, g, p, found, kept)
            for gid, g, p, found, kept in zip(
                granule_ids, indexed.granules, programmes, links, plots, strict=True
            )
        ]
        await self.outbox.add(
            conn, self._event(file_row, indexed, granules, previous), aggregate_id=str(file_id)
        )
        log.info("file indexed", file=str(file_id), granules=len(granules), size=part.size)
        return file_id

    def _file_row(
        self,
        file_id: UUID,
        part: Part,
        indexed: Indexed,
        request: PushRequest,
        previous: asyncpg.Record | None,
        programmes: list[str | None],
    ) -> dict[str, object]:
        report = msgspec.to_builtins(indexed.report)
        report["profile"] = request.profile
        distinct = set(programmes)
        calibrators = all(g.dataproduct_category == "CALIB" for g in indexed.granules)
        return {
            "id": file_id,
            "sha256": part.sha256,
            "md5": part.md5,
            "size": part.size,
            "filename": request.filename,
            "product_id": request.product_id,
            "product_version": (previous["product_version"] + 1) if previous is not None else 1,
            "oifits_version": _version(indexed.report.version),
            "verdict": indexed.report.verdict,
            "profile": request.profile,
            "report": report,
            "calib_level": max(g.calib_level for g in indexed.granules),
            "programme": distinct.pop() if len(distinct) == 1 else None,
            "category": "CALIB" if calibrators else "SCIENCE",
            "obs_end": nights.datetime_of_mjd(max(g.t_max for g in indexed.granules)),
            "pushed_by": request.pushed_by,
        }

    def _indexed(
        self,
        gid: UUID,
        g: Granule,
        programme: str | None,
        links: list[Link],
        kept: list[tuple[str, str, int]],
    ) -> IndexedGranule:
        values = {f: getattr(g, f) for f in IndexedGranule.__struct_fields__ if hasattr(g, f)}
        values.update(
            granule_id=gid,
            dataproduct_category=g.dataproduct_category or "SCIENCE",
            programme=programme,
            observation_ids=sorted(obs for obs, _, _ in links),
            previews=[
                Preview(kind, self.urls.preview(gid, kind), "image/png", size) for kind, _, size in kept
            ],
        )
        return IndexedGranule(**values)

    def _event(
        self,
        row: dict[str, object],
        indexed: Indexed,
        granules: list[IndexedGranule],
        previous: asyncpg.Record | None,
    ) -> FileIndexed:
        file_id = row["id"]
        assert isinstance(file_id, UUID)
        return FileIndexed(
            file_id=file_id,
            filename=str(row["filename"]),
            sha256=str(row["sha256"]),
            md5=str(row["md5"]),
            size=int(str(row["size"])),
            oifits_version=_version(indexed.report.version),
            verdict=indexed.report.verdict,
            warnings=sum(1 for f in indexed.report.findings if f.severity == "warning"),
            access_url=self.urls.content(file_id),
            pushed_by=str(row["pushed_by"]),
            pushed_at=datetime.now(UTC),
            granules=granules,
            programme=row["programme"] if isinstance(row["programme"], str) else None,
            product_id=row["product_id"] if isinstance(row["product_id"], str) else None,
            product_version=int(str(row["product_version"])),
            supersedes=previous["id"] if previous is not None else None,
        )


def _key(data: bytes) -> str:
    """The store's key of small bytes (content-addressed: their sha256)."""
    return hashlib.sha256(data).hexdigest()


def _check(request: PushRequest) -> None:
    errors = []
    if problem := filename_problem(request.filename):
        errors.append(FieldError("query.filename", problem))
    if request.product_id is not None and (problem := product_problem(request.product_id)):
        errors.append(FieldError("query.product", problem))
    if errors:
        raise BAD_PUSH("the push's parameters are not right", errors=errors)


def _too_large(limit: int) -> Problem:
    return FILE_TOO_LARGE(f"the file is larger than this service takes ({limit} bytes)", max_file_bytes=limit)


async def _receive(body: AsyncIterator[bytes], part: Part, declared: int | None, limit: int) -> None:
    try:
        async for chunk in body:
            await part.write(chunk)
        await part.finish()
    except TooLarge:
        raise _too_large(limit) from None
    except UploadCutOff:
        raise UPLOAD_INCOMPLETE("the upload was cut off before its end; nothing was kept") from None
    if declared is not None and part.size != declared:
        raise UPLOAD_INCOMPLETE(
            f"the upload ended after {part.size} of the {declared} bytes announced; nothing was kept"
        )


def _programme_of(links: list[Link]) -> str | None:
    """The programme of a granule's observations, when they agree on one."""
    found = {programme for _, _, programme in links if programme}
    return found.pop() if len(found) == 1 else None


def _version(version: str | None) -> int | None:
    return {"v1": 1, "v2": 2}.get(version or "")


def _granule_row(gid: UUID, file_id: UUID, g: Granule, programme: str | None) -> dict[str, object]:
    row = {f: getattr(g, f) for f in Granule.__struct_fields__}
    row.update(
        id=gid,
        file_id=file_id,
        target_key=name_key(g.target_name),
        dataproduct_category=g.dataproduct_category or "SCIENCE",
        programme=programme,
        obs_end=nights.datetime_of_mjd(g.t_max),
    )
    return row
