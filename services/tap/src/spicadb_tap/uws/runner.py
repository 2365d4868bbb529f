"""The runners: ``async_workers`` tasks per process take QUEUED jobs (FOR UPDATE SKIP LOCKED: replicas
share the queue), execute each through the query path the sync endpoint uses, stream its result into
``<data>/tap/results/<id>.<ext>``, and end it COMPLETED or ERROR. A job past its execution duration
ends in ERROR; ABORT and DELETE stop an execution (here or on another replica, seen at the next
heartbeat). A job whose worker stopped beating (its process died) is queued again once, then ends in
ERROR. The sweeper deletes jobs past their destruction, with their files."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from spicadb_kit.logs import get_logger

from ..config import TapSettings
from . import storage
from .model import Job, Phase
from .service import remove_result, results_dir
from .watch import Watch

log = get_logger(__name__)

# a running job's heartbeat (seconds), and how long without one means its worker died
HEARTBEAT = 5.0
STALE = 30.0
# times a job is taken up (the first run and one more after its worker died)
MAX_ATTEMPTS = 2
# how often an idle runner looks for queued jobs another replica created, and the sweeper runs
POLL = 1.0
SWEEP = 60.0
# the longest a stopping process waits for an execution to end, then for its job's requeue (seconds)
GIVE_BACK = 10.0
# bytes gathered before a write to the result file (written from a thread)
WRITE_CHUNK = 1 << 20


class Outcome(msgspec.Struct, frozen=True):
    """What an execution wrote: its rows, whether MAXREC cut them, and the file's type."""

    rows: int
    overflow: bool
    media_type: str
    extension: str


class JobFailed(Exception):
    """The job's query failed: the message is the user's (the VOTable error document's text)."""


# execute(job, its inline uploads, write) -> Outcome: the query path (translation, rights, MAXREC,
# timeout, format) shared with the sync endpoint; raises JobFailed with the user's message
Execute = Callable[[Job, dict[str, bytes], Callable[[bytes], Awaitable[None]]], Awaitable[Outcome]]


class ResultFile:
    """A result written in large chunks from a thread, to ``<id>.part``, renamed ``<id>.<ext>`` when
    complete."""

    def __init__(self, folder: Path, job_id: str) -> None:
        self.part = folder / f"{job_id}.part"
        self.path: Path | None = None
        self.size = 0
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._file: Any = None

    async def open(self) -> None:
        self.part.parent.mkdir(parents=True, exist_ok=True)
        self._file = await asyncio.to_thread(open, self.part, "wb")

    async def write(self, data: bytes) -> None:
        self._buffer.append(data)
        self._buffered += len(data)
        self.size += len(data)
        if self._buffered >= WRITE_CHUNK:
            await self._flush()

    async def _flush(self) -> None:
        data, self._buffer, self._buffered = b"".join(self._buffer), [], 0
        if data:
            await asyncio.to_thread(self._file.write, data)

    async def complete(self, extension: str) -> None:
        await self._flush()
        await asyncio.to_thread(self._file.close)
        self._file = None
        self.path = self.part.with_suffix(f".{extension}")
        os.replace(self.part, self.path)

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        for path in (self.part, self.path):
            if path is not None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()


class Runner:
    """This process's runners and sweeper."""

    def __init__(self, pool: asyncpg.Pool, settings: TapSettings, watch: Watch, execute: Execute) -> None:
        self.pool = pool
        self.settings = settings
        self.watch = watch
        self.execute = execute
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    async def recover(self) -> None:
        """Take back the jobs whose worker died (queued again, or ERROR after their last attempt)."""
        async with self.pool.acquire() as conn:
            for job_id, phase in await storage.recover(conn, STALE, MAX_ATTEMPTS):
                log.warning("async job's worker stopped beating", job=job_id, phase=phase)
                self.watch.changed(job_id)
                if phase == Phase.QUEUED:
                    self.watch.queued.set()

    async def sweep(self) -> int:
        """Delete the jobs past their destruction and their result files; how many."""
        async with self.pool.acquire() as conn:
            gone = await storage.expired(conn, 1000)
        for job_id, result in gone:
            self.watch.stop(job_id)
            remove_result(self.settings, job_id, result)
        return len(gone)

    async def sweeper(self) -> None:
        while True:
            try:
                await self.recover()
                await self.sweep()
            except Exception as exc:  # the loop outlives any one failure (the database away a moment)
                log.warning("async job sweep failed", error=repr(exc))
            await asyncio.sleep(SWEEP)

    async def work(self, number: int) -> None:
        """One runner: take a queued job, execute it, again."""
        worker = f"{self.name}/{number}"
        while True:
            # cleared before looking: a job queued from here on wakes the wait below
            self.watch.queued.clear()
            claiming = asyncio.create_task(self._claim(worker))
            try:
                job = await asyncio.shield(claiming)
            except asyncio.CancelledError:
                # this process stops while claiming: the claim may have committed (the job EXECUTING
                # under this worker) with its answer, or the connection's release, still to come
                await _outlast(claiming)
                if not claiming.cancelled() and (taken := claiming.result()) is not None:
                    await _outlast(asyncio.create_task(self._requeue(taken, worker)))
                raise
            if job is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.watch.queued.wait(), POLL)
                continue
            self.watch.changed(job.id)
            try:
                await self.run(job, worker)
            except Exception as exc:  # its end not recorded: the job is taken back once stale (recover)
                log.error("async job run failed", job=job.id, error=repr(exc))

    async def run(self, job: Job, worker: str) -> None:
        """Execute one claimed job to its end (or give it back when this process stops)."""
        result = ResultFile(results_dir(self.settings), job.id)
        execution = asyncio.create_task(self._execute(job, result))
        self.watch.executing[job.id] = execution
        loop = asyncio.get_running_loop()
        deadline = loop.time() + job.execution_duration
        try:
            while not execution.done():
                left = deadline - loop.time()
                if left <= 0:
                    break
                await asyncio.wait({execution}, timeout=min(HEARTBEAT, left))
                if not execution.done() and not await self._beat(job.id, worker):
                    execution.cancel()  # aborted or deleted (maybe on another replica)
        except asyncio.CancelledError:
            # this process stops: another runner (here after a restart, or a replica) takes it up. The
            # kit's shutdown cancels this task again every second while it runs, and a cancelled query
            # may hold its connection longer than that (asyncpg's cancel request): the give-back runs
            # in a task of its own, waited for through those cancellations, each of its waits bounded
            await _outlast(asyncio.create_task(self._give_back(job, worker, execution, result)))
            raise
        finally:
            self.watch.executing.pop(job.id, None)
        await self._end(job, worker, execution, result)

    async def _give_back(
        self, job: Job, worker: str, execution: asyncio.Task[Outcome], result: ResultFile
    ) -> None:
        """Stop the execution (waiting a bounded time) and queue the job again."""
        execution.cancel()
        await asyncio.wait({execution}, timeout=GIVE_BACK)
        if execution.done() and not execution.cancelled():
            execution.exception()  # retrieved: its end no longer matters
        result.discard()
        await self._requeue(job, worker)

    async def _claim(self, worker: str) -> Job | None:
        """The oldest queued job, now this worker's; None when there is none (or the database is away a
        moment: look again later)."""
        try:
            async with self.pool.acquire() as conn:
                return await storage.claim(conn, worker)
        except Exception as exc:
            log.warning("async job claim failed", error=repr(exc))
            return None

    async def _requeue(self, job: Job, worker: str) -> None:
        """Queue a job of this worker again (this process stops), waiting a bounded time."""
        try:
            async with asyncio.timeout(GIVE_BACK), self.pool.acquire() as conn:
                await storage.requeue(conn, job.id, worker)
        except Exception as exc:  # the job is then taken back once stale (recover)
            log.warning("async job not given back", job=job.id, error=repr(exc))

    async def _beat(self, job_id: str, worker: str) -> bool:
        """The job's heartbeat; whether it is still this worker's (a failed beat does not stop it)."""
        try:
            async with self.pool.acquire() as conn:
                return await storage.beat(conn, job_id, worker)
        except Exception as exc:
            log.warning("async job heartbeat failed", job=job_id, error=repr(exc))
            return True

    async def _execute(self, job: Job, result: ResultFile) -> Outcome:
        async with self.pool.acquire() as conn:
            uploads = await storage.uploads(conn, job.id)
        await result.open()
        outcome = await self.execute(job, uploads, result.write)
        await result.complete(outcome.extension)
        return outcome

    async def _end(self, job: Job, worker: str, execution: asyncio.Task[Outcome], result: ResultFile) -> None:
        values: dict[str, Any]
        if not execution.done():
            await _cancelled(execution)
            values = _error(f"the job ran longer than its execution duration ({job.execution_duration} s)")
        elif execution.cancelled():
            values = {}  # stopped by ABORT or DELETE: the job is no longer this worker's
        elif isinstance(execution.exception(), JobFailed):
            values = _error(str(execution.exception()))
        elif execution.exception() is not None:
            log.error("async job failed", job=job.id, error=repr(execution.exception()))
            values = {**_error("the service failed to execute the query"), "error_type": "transient"}
        else:
            outcome = execution.result()
            values = {
                "phase": Phase.COMPLETED,
                "result_file": result.path.name if result.path else None,
                "result_media_type": outcome.media_type,
                "result_size": result.size,
                "result_rows": outcome.rows,
                "overflow": outcome.overflow,
            }
        if values.get("phase") is not Phase.COMPLETED:
            result.discard()
        ended = False
        if values:
            async with self.pool.acquire() as conn:
                ended = await storage.finish(conn, job.id, worker, values)
        if not ended:
            result.discard()  # aborted or deleted meanwhile
        self.watch.changed(job.id)

    def start(self, spawn: Callable[[Any, str], None]) -> None:
        for number in range(self.settings.async_workers):
            spawn(self.work(number), f"uws-runner-{number}")
        spawn(self.sweeper(), "uws-sweeper")


def _error(message: str) -> dict[str, Any]:
    return {"phase": Phase.ERROR, "error_summary": message[:4000], "error_type": "fatal"}


async def _cancelled(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def iterate(chunks: AsyncIterator[bytes], write: Callable[[bytes], Awaitable[None]]) -> None:
    """Write a stream's chunks."""
    async for chunk in chunks:
        await write(chunk)


async def _outlast(task: asyncio.Task[Any]) -> None:
    """Wait for a task through the kit's shutdown, which cancels a stopping runner again every second:
    what this process must still do before it stops (give a job back) runs in a task of its own, shielded,
    each of its waits bounded."""
    while not task.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(task)
