"""Running a translated query: one transaction as the reader role, under the viewer's data rights.

:func:`run_query` opens the transaction (READ ONLY without uploads), loads the uploads into temporary
tables (as the tap role), sets the viewer (``spicadb_kit.rights.set_published_viewer``), the statement
timeout and the reader role, then reads ``SELECT * FROM (<sql>) AS q LIMIT maxrec+1`` through a
server-side cursor in batches: memory stays flat whatever the size, and one row past MAXREC says the
result overflowed. Result columns are typed from the cursor's type OIDs, with the declaration of the
published column a column shows (unit, UCD, utype) when the translation knows it.

:func:`execute` is the one path of sync and async queries: parameters -> translation -> rows -> bytes.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from spicadb_kit import votable
from spicadb_kit.published import READER_ROLE
from spicadb_kit.rights import Viewer, set_published_viewer

from ..adql import AdqlError, CatalogueView, Translated, UnknownTable, translate_async
from ..results import MEDIA_TYPES, ResultColumn, StreamError, descriptors_for, format_of, stream
from .remote import UrlPolicy, fetch_upload, is_url, parse_allow_hosts
from .types import result_column
from .uploads import UploadError, UploadTable, load_upload, parse_upload_parameter, read_upload

__all__ = [
    "BATCH_ROWS",
    "Outcome",
    "QueryError",
    "Rows",
    "TapError",
    "TapRequest",
    "UploadTable",
    "answer",
    "execute",
    "fetch_remote",
    "parse_request",
    "read_upload",
    "run_query",
]

# rows fetched from the cursor at a time
BATCH_ROWS = 1000
# the longest a query's transaction may wait between two batches (its reader is slow or gone)
IDLE_SECONDS = 60


class TapError(Exception):
    """A TAP request refused or failed: ``str()`` is the message for the user (an ADQL error with its
    position). Sync answers it 400 with the VOTable error document; an async job goes to ERROR."""


class QueryError(TapError):
    """The query failed in the database (timeout, a runtime error): a plain message, no SQL internals."""


@dataclass(frozen=True)
class TapRequest:
    """A TAP query's parameters, checked (see :func:`parse_request`)."""

    query: str
    maxrec: int
    format: str  # a value of results.FORMATS
    uploads: tuple[UploadTable, ...] = ()
    runid: str | None = None
    # whether the client asked for a MAXREC (0 = metadata only)
    lang: str = "ADQL"
    # UPLOADs by URL, (name, url), fetched by answer() under the policy (when the query runs)
    remote: tuple[tuple[str, str], ...] = ()
    url_policy: UrlPolicy | None = None
    upload_max_rows: int = 0

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]


def parse_request(
    params: Mapping[str, str],
    files: Mapping[str, bytes],
    *,
    default_maxrec: int,
    hard_maxrec: int,
    upload_max_bytes: int,
    upload_max_rows: int,
    upload_fetch_timeout: float = 20.0,
    upload_allow_hosts: str = "",
) -> TapRequest:
    """A TAP request from its parameters (names in any case; unknown ones and REQUEST ignored) and the
    multipart parts it may refer to by ``param:<name>`` in UPLOAD; an http(s) URL in UPLOAD is kept
    to be fetched when the query runs (:func:`answer`). Raises :class:`TapError`."""
    lowered = {k.lower(): v for k, v in params.items()}
    lang = (lowered.get("lang") or "").strip()
    if not lang:
        raise TapError("LANG is required (LANG=ADQL)")
    if lang.upper() not in ("ADQL", "ADQL-2.0", "ADQL-2.1"):
        raise TapError(f"LANG={lang} is not supported: ADQL only")
    query = (lowered.get("query") or "").strip()
    if not query:
        raise TapError("QUERY is required")
    maxrec = default_maxrec
    if lowered.get("maxrec", "").strip():
        try:
            maxrec = int(lowered["maxrec"].strip())
        except ValueError:
            raise TapError(f"MAXREC={lowered['maxrec']} is not an integer") from None
        if maxrec < 0:
            raise TapError("MAXREC must be 0 or more")
    maxrec = min(maxrec, hard_maxrec)
    requested = lowered.get("responseformat") or lowered.get("format")
    fmt = format_of(requested)
    if fmt is None:
        raise TapError(f"RESPONSEFORMAT={requested} is not supported (votable, votable/b2, csv, tsv, json)")
    uploads: list[UploadTable] = []
    try:
        pairs = parse_upload_parameter(lowered.get("upload", ""))
    except UploadError as exc:
        raise TapError(str(exc)) from None
    remote: list[tuple[str, str]] = []
    for name, source in pairs:
        if is_url(source):
            remote.append((name, source))
            continue
        if not source.startswith("param:"):
            raise TapError(f"UPLOAD {name}: write the source as param:<part> or an http(s) URL")
        part = source[len("param:") :]
        data = files.get(part)
        if data is None:
            raise TapError(f"UPLOAD {name}: the request has no part named {part}")
        if len(data) > upload_max_bytes:
            raise TapError(f"UPLOAD {name}: larger than {upload_max_bytes} bytes")
        try:
            uploads.append(read_upload(name, data, upload_max_rows))
        except UploadError as exc:
            raise TapError(str(exc)) from None
    hosts, networks = parse_allow_hosts(upload_allow_hosts)
    policy = UrlPolicy(upload_fetch_timeout, upload_max_bytes, hosts, networks)
    return TapRequest(
        query, maxrec, fmt, tuple(uploads), lowered.get("runid"), lang, tuple(remote), policy, upload_max_rows
    )


async def fetch_remote(request: TapRequest) -> TapRequest:
    """The request with its UPLOADs by URL fetched and read (:class:`TapError` naming the upload and
    the host when one is refused or fails)."""
    if not request.remote or request.url_policy is None:
        return request
    fetched: list[UploadTable] = []
    try:
        for name, url in request.remote:
            data = await fetch_upload(name, url, request.url_policy)
            fetched.append(read_upload(name, data, request.upload_max_rows))
    except UploadError as exc:
        raise TapError(str(exc)) from None
    return dataclasses.replace(request, uploads=request.uploads + tuple(fetched), remote=())


class Rows:
    """A query's rows, read from a server-side cursor in batches; ``overflow`` is known after the last.
    The first batch is read by :meth:`start` (a query that fails at once is refused before any answer)."""

    def __init__(self, columns: list[ResultColumn], cursor: Any, maxrec: int, timeout: float) -> None:
        self.columns = columns
        self.overflow = False
        self.count = 0
        self._cursor = cursor
        self._maxrec = maxrec
        self._timeout = timeout
        self._first: list[Any] | None = None
        self._done = False

    async def _fetch(self) -> list[Any]:
        """The next batch, cut at MAXREC (one row more than MAXREC says the result overflowed)."""
        if self._done or self.count >= self._maxrec:
            if not self._done and not self.overflow:
                self.overflow = bool(await self._cursor.fetch(1))
            self._done = True
            return []
        batch = await self._cursor.fetch(min(BATCH_ROWS, self._maxrec + 1 - self.count))
        if len(batch) < min(BATCH_ROWS, self._maxrec + 1 - self.count):
            self._done = True
        if self.count + len(batch) > self._maxrec:
            batch = batch[: self._maxrec - self.count]
            self.overflow = True
            self._done = True
        self.count += len(batch)
        return list(batch)

    async def start(self) -> None:
        """Read the first batch (database errors raised as they are)."""
        self._first = await self._fetch()

    async def __aiter__(self) -> AsyncIterator[list[Sequence[Any]]]:
        first, self._first = self._first, None
        if first:
            yield first
        while True:
            try:
                batch = await self._fetch()
            except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                raise StreamError(_message(exc, self._timeout)) from None
            if not batch:
                return
            yield batch


def _message(exc: BaseException, timeout: float) -> str:
    """What the user is told of a database error: the cause in plain words, no SQL."""
    if isinstance(exc, asyncpg.QueryCanceledError):
        return (
            f"the query ran longer than {timeout:g} s and was stopped: narrow it (a smaller region, "
            "TOP/MAXREC, more conditions) or run it as an async job"
        )
    # PostgreSQL ended the session of a transaction left idle: the connection is closed under the cursor
    closed = isinstance(exc, asyncpg.InterfaceError) and "connection is closed" in str(exc)
    if closed or isinstance(exc, asyncpg.IdleInTransactionSessionTimeoutError):
        return f"the answer was not read for {IDLE_SECONDS} s: the query was stopped"
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return "the query reads something that is not published"
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", "") or ""
        # user-facing classes: data exceptions (22), undefined or ambiguous names (42703, 42702, 42883,
        # 42804 datatype mismatch, 42P01 table): PostgreSQL's message names the column or value
        if state.startswith("22") or state in ("42703", "42702", "42883", "42804", "42803", "42P01", "42601"):
            text = str(exc).split("\n")[0]
            return f"the query failed: {text}"
        if state.startswith("53") or state.startswith("54"):
            return "the query needs more resources than a query may use: narrow it"
    return "the query failed in the database"


@contextlib.asynccontextmanager
async def run_query(
    pool: asyncpg.Pool,
    translated: Translated,
    *,
    viewer: Viewer,
    maxrec: int,
    timeout: float,
    uploads: Sequence[UploadTable] = (),
) -> AsyncIterator[Rows]:
    """The rows of a translated query (see the module). Raises :class:`QueryError` when the query
    cannot start; a failure while its rows are read ends the iteration with ``results.StreamError``."""
    async with pool.acquire() as conn:
        transaction = conn.transaction(readonly=not uploads)
        await transaction.start()
        try:
            try:
                loaded = [u for u in uploads if u.name.lower() in translated.uploads]
                for upload in loaded:
                    await load_upload(conn, upload, READER_ROLE)
                if loaded:  # the uploads are in: nothing else is written
                    await conn.execute("SET LOCAL transaction_read_only = on")
                await set_published_viewer(conn, viewer)
                # one round trip (the simple protocol takes several statements); a client that stops
                # reading its answer does not hold the connection for ever (the session is ended)
                await conn.execute(
                    f"SET LOCAL statement_timeout = {max(1, int(timeout * 1000))};"
                    f" SET LOCAL idle_in_transaction_session_timeout = {IDLE_SECONDS * 1000};"
                    f' SET LOCAL ROLE "{READER_ROLE}"'
                )
                statement = await conn.prepare(f"SELECT * FROM ({translated.sql}) AS q LIMIT {maxrec + 1}")
                columns = [result_column(a.name, a.type, translated) for a in statement.get_attributes()]
                # MAXREC=0 too: its one row past MAXREC says whether rows exist (OVERFLOW, as taplint checks)
                cursor = await statement.cursor()
                rows = Rows(columns, cursor, maxrec, timeout)
                await rows.start()
            except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                raise QueryError(_message(exc, timeout)) from None
            yield rows
        finally:
            with contextlib.suppress(Exception):
                await transaction.rollback()


@dataclass
class Outcome:
    """What a query gave: rows written, whether MAXREC cut them, the answer's media type."""

    media_type: str
    rows: int = 0
    overflow: bool = False
    error: str | None = None
    descriptors: list[votable.ServiceDescriptor] = field(default_factory=list)


async def translate_request(request: TapRequest, catalogue: CatalogueView) -> Translated:
    """The request's ADQL translated, in the parser's thread (raises :class:`AdqlError`)."""
    return await translate_async(request.query, catalogue, [u.name for u in request.uploads])


async def answer(
    pool: asyncpg.Pool,
    catalogue: CatalogueView,
    request: TapRequest,
    *,
    viewer: Viewer,
    timeout: float,
    public_url: str,
    reload: Callable[[], Awaitable[CatalogueView]] | None = None,
    outcome: Outcome | None = None,
) -> AsyncGenerator[bytes, None]:
    """A TAP query's answer, chunk by chunk, in ``request.format``. The first chunk comes once the query
    is translated and has started: :class:`TapError` raised before it means nothing was answered (the
    caller answers the error document); a failure while rows are written ends the answer with
    QUERY_STATUS=ERROR and is noted in ``outcome``. ``reload``: a fresher catalogue, asked for once
    when the query names a table the given one does not know. The database connection is held until
    the generator ends or is closed."""
    outcome = outcome if outcome is not None else Outcome(request.media_type)
    request = await fetch_remote(request)
    try:
        try:
            translated = await translate_request(request, catalogue)
        except UnknownTable:
            if reload is None:
                raise
            translated = await translate_request(request, await reload())
    except AdqlError as exc:
        raise TapError(str(exc)) from None
    async with run_query(
        pool, translated, viewer=viewer, maxrec=request.maxrec, timeout=timeout, uploads=request.uploads
    ) as rows:
        outcome.descriptors = descriptors_for(rows.columns, public_url.rstrip("/") + "/oidb/links")
        failed: list[str] = []
        async for chunk in stream(
            request.format, rows, descriptors=outcome.descriptors, runid=request.runid, failed=failed
        ):
            yield chunk
        outcome.error = failed[0] if failed else None
        outcome.rows = rows.count
        outcome.overflow = rows.overflow


async def execute(
    pool: asyncpg.Pool,
    catalogue: CatalogueView,
    request: TapRequest,
    *,
    viewer: Viewer,
    timeout: float,
    public_url: str,
    write: Callable[[bytes], Awaitable[None]],
    reload: Callable[[], Awaitable[CatalogueView]] | None = None,
) -> Outcome:
    """Translate, run and write a TAP query (the async jobs' path; sync streams :func:`answer` itself):
    every chunk of the answer goes to ``write``. Raises :class:`TapError` before anything is written
    when the query is refused or cannot start (a job's error document: ``results.error_document``). A
    failure while rows are written ends the answer with QUERY_STATUS=ERROR and sets ``Outcome.error``."""
    outcome = Outcome(request.media_type)
    chunks = answer(
        pool, catalogue, request, viewer=viewer, timeout=timeout, public_url=public_url, reload=reload,
        outcome=outcome,
    )  # fmt: skip
    try:
        async for chunk in chunks:
            await write(chunk)
    finally:
        await chunks.aclose()
    return outcome
