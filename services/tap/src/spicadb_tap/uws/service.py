"""The jobs' rules (UWS 1.1): who sees a job, which phase goes to which, which parameters may change
when, and the bounds of execution durations and destruction times."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from spicadb_kit.errors import FieldError
from spicadb_kit.problems import VALIDATION
from spicadb_kit.rights import Viewer

from ..config import TapSettings
from ..problems import JOB_NOT_FOUND, JOB_PHASE
from . import storage
from .model import ABORTABLE, ACTIVE, FINAL, RUNNABLE, Job, Phase, new_job_id
from .watch import Watch

# the longest WAIT (seconds): WAIT=-1 waits this long
WAIT_CAP = 60.0
# the most jobs a listing shows (the newest)
LIST_LIMIT = 1000
# the longest values of the parameters a client sets (the query's as a sync query's)
MAX_LENGTH = {"QUERY": 200_000, "UPLOAD": 4096, "RUNID": 256, "LANG": 64, "RESPONSEFORMAT": 256, "MAXREC": 32}
# UPLOAD's value: name,URI pairs separated by semicolons
_UPLOAD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def results_dir(settings: TapSettings) -> Path:
    """Where async results are written: <data>/tap/results."""
    return Path(settings.data) / "tap" / "results"


def _invalid(field: str, message: str) -> Exception:
    return VALIDATION(f"{field}: {message}", errors=[FieldError(field, message)])


def upload_references(value: str) -> list[tuple[str, str]]:
    """UPLOAD's (table name, URI) pairs; a 400 problem when it cannot be read."""
    pairs = []
    for item in filter(None, (part.strip() for part in value.split(";"))):
        name, comma, uri = item.partition(",")
        if not comma or not _UPLOAD_NAME.match(name.strip()) or not uri.strip():
            raise _invalid("UPLOAD", f"{item!r} is not a table name and a URI separated by a comma")
        pairs.append((name.strip(), uri.strip()))
    return pairs


def _parameter_values(params: Mapping[str, str], parts: Mapping[str, bytes]) -> dict[str, Any]:
    """The job columns of the TAP parameters given (names upper case), checked as far as they can be
    before the query runs."""
    values: dict[str, Any] = {}
    for name, column in storage.PARAMETER_COLUMNS.items():
        if name not in params:
            continue
        value = params[name]
        if len(value) > MAX_LENGTH[name]:
            raise _invalid(name, f"longer than {MAX_LENGTH[name]} characters")
        if name == "MAXREC":
            if not value.strip().isdigit() or len(value.strip()) > 18:
                raise _invalid(name, "must be a whole number of rows, 0 or more")
            values[column] = int(value)
        else:
            values[column] = value
    for _, uri in upload_references(params.get("UPLOAD", "")):
        if uri.startswith("param:") and uri[6:] not in parts:
            raise _invalid("UPLOAD", f"{uri} names no part of the request")
    return values


def _seconds(value: str, field: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise _invalid(field, "must be a whole number of seconds") from None


def _instant(value: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _invalid(field, "must be an ISO 8601 date and time (UTC)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class JobService:
    """The async jobs as one caller (``viewer``) sees them."""

    def __init__(self, pool: asyncpg.Pool, settings: TapSettings, watch: Watch, viewer: Viewer) -> None:
        self.pool = pool
        self.settings = settings
        self.watch = watch
        self.viewer = viewer

    # --- bounds ---

    def _duration(self, value: str) -> int:
        """The execution duration granted for the one asked (0 or less, or more than the most: the most)."""
        asked = _seconds(value, "EXECUTIONDURATION")
        most = self.settings.async_max_execution_duration
        return most if asked <= 0 else min(asked, most)

    def _destruction(self, value: str, created: datetime) -> datetime:
        """The destruction time granted for the one asked (no later than the most after creation)."""
        asked = _instant(value, "DESTRUCTION")
        latest = created + timedelta(seconds=self.settings.async_max_destruction)
        return max(min(asked, latest), datetime.now(UTC))

    # --- reading ---

    async def get(self, job_id: str) -> Job:
        """The job, or a 404 problem when it does not exist or is another's (the same answer)."""
        async with self.pool.acquire() as conn:
            job = await storage.visible(conn, job_id, self.viewer.username)
        if job is None:
            raise JOB_NOT_FOUND(f"no job {job_id}")
        return job

    async def listing(self, phases: list[str], after: str | None, last: str | None) -> list[Job]:
        """The caller's jobs (none for an anonymous caller: their jobs are reached by id only), newest
        first: UWS 1.1's PHASE (repeatable), AFTER and LAST filters."""
        try:
            wanted = [Phase(p.strip().upper()) for p in phases]
        except ValueError:
            raise _invalid("PHASE", f"phases are {', '.join(Phase)}") from None
        since = _instant(after, "AFTER") if after else None
        count = _seconds(last, "LAST") if last else None
        if count is not None and count <= 0:
            raise _invalid("LAST", "must be a positive number of jobs")
        if self.viewer.username is None:
            return []
        # ARCHIVED jobs only when asked for (UWS 1.1)
        shown = wanted or [p for p in Phase if p is not Phase.ARCHIVED]
        async with self.pool.acquire() as conn:
            return await storage.owned(
                conn, self.viewer.username, phases=shown, after=since, last=count, limit=LIST_LIMIT
            )

    async def wait(self, job_id: str, seconds: float, phase: str | None = None) -> Job:
        """UWS 1.1's blocking GET: the job once its phase changes, or after ``seconds`` (capped; -1: the
        cap); at once when the job is in no active phase, or not in ``phase`` when one is given."""
        job = await self.get(job_id)
        if seconds < 0 or seconds > WAIT_CAP:
            seconds = WAIT_CAP
        if job.phase not in ACTIVE or (phase is not None and job.phase != phase.strip().upper()):
            return job
        deadline = asyncio.get_running_loop().time() + seconds
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            # this process's changes wake the wait; another replica's are polled each second
            await self.watch.wait(job_id, min(left, 1.0))
            async with self.pool.acquire() as conn:
                now = await storage.phase_of(conn, job_id)
            if now != job.phase:
                break
        return await self.get(job_id)

    # --- changing ---

    async def create(self, params: Mapping[str, str], parts: Mapping[str, bytes]) -> Job:
        """A new job of the caller's with these TAP parameters (names upper case) and inline upload
        parts; PENDING, or QUEUED at once with PHASE=RUN."""
        created = datetime.now(UTC)
        values = _parameter_values(params, parts)
        run = params.get("PHASE", "").strip().upper()
        if run not in ("", "RUN"):
            raise _invalid("PHASE", "a new job takes PHASE=RUN or no PHASE")
        duration = self.settings.async_execution_duration
        if "EXECUTIONDURATION" in params:
            duration = self._duration(params["EXECUTIONDURATION"])
        destruction = created + timedelta(seconds=self.settings.async_destruction)
        if "DESTRUCTION" in params:
            destruction = self._destruction(params["DESTRUCTION"], created)
        job = Job(
            id=new_job_id(),
            phase=Phase.QUEUED if run else Phase.PENDING,
            owner=self.viewer.username,
            sees_all=self.viewer.sees_all,
            created_at=created,
            execution_duration=duration,
            destruction=destruction,
            queued_at=created if run else None,
            **values,
        )
        async with self.pool.acquire() as conn, conn.transaction():
            await storage.insert(conn, job)
            await storage.keep_uploads(conn, job.id, _referenced(job.upload, parts))
        if run:
            self.watch.queued.set()
        return job

    async def _locked(self, conn: asyncpg.Connection, job_id: str) -> Job:
        job = await storage.visible(conn, job_id, self.viewer.username, lock=True)
        if job is None:
            raise JOB_NOT_FOUND(f"no job {job_id}")
        return job

    async def update_parameters(
        self, job_id: str, params: Mapping[str, str], parts: Mapping[str, bytes]
    ) -> Job:
        """Change TAP parameters: only while PENDING (RUNID, a label, at any time)."""
        async with self.pool.acquire() as conn, conn.transaction():
            job = await self._locked(conn, job_id)
            stored = await storage.uploads(conn, job_id) if "UPLOAD" in params else {}
            values = _parameter_values(params, {**stored, **parts})
            if set(values) - {"run_id"} and job.phase is not Phase.PENDING:
                raise JOB_PHASE(f"job {job_id} is {job.phase}: its parameters change only while PENDING")
            if values:
                await storage.update(conn, job_id, values)
            if "upload" in values:
                await storage.keep_uploads(conn, job_id, _referenced(values["upload"], parts))
        return await self.get(job_id)

    async def set_execution_duration(self, job_id: str, value: str) -> Job:
        async with self.pool.acquire() as conn, conn.transaction():
            job = await self._locked(conn, job_id)
            if job.phase is not Phase.PENDING:
                raise JOB_PHASE(
                    f"job {job_id} is {job.phase}: its execution duration changes only while PENDING"
                )
            await storage.update(conn, job_id, {"execution_duration": self._duration(value)})
        return await self.get(job_id)

    async def set_destruction(self, job_id: str, value: str) -> Job:
        async with self.pool.acquire() as conn, conn.transaction():
            job = await self._locked(conn, job_id)
            await storage.update(conn, job_id, {"destruction": self._destruction(value, job.created_at)})
        return await self.get(job_id)

    async def set_phase(self, job_id: str, value: str) -> Job:
        """PHASE=RUN (PENDING -> QUEUED; again while it runs: nothing) or PHASE=ABORT (a job not yet
        ended -> ABORTED, its execution stopped; an ended job stays as it is)."""
        asked = value.strip().upper()
        if asked not in ("RUN", "ABORT"):
            raise _invalid("PHASE", "must be RUN or ABORT")
        async with self.pool.acquire() as conn, conn.transaction():
            job = await self._locked(conn, job_id)
            if asked == "RUN" and job.phase in RUNNABLE:
                await storage.update(conn, job_id, {"phase": Phase.QUEUED, "queued_at": datetime.now(UTC)})
            elif asked == "RUN" and job.phase in FINAL:
                raise JOB_PHASE(f"job {job_id} is {job.phase}: it does not run again (create a new job)")
            elif asked == "ABORT" and job.phase in ABORTABLE:
                await storage.update(
                    conn,
                    job_id,
                    {
                        "phase": Phase.ABORTED,
                        "ended_at": datetime.now(UTC),
                        "worker": None,
                        "heartbeat_at": None,
                    },
                )
        if asked == "RUN":
            self.watch.queued.set()
        else:
            self.watch.stop(job_id)
        self.watch.changed(job_id)
        return await self.get(job_id)

    async def delete(self, job_id: str) -> None:
        """Delete the job, its uploads and its result (its execution stopped)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await self._locked(conn, job_id)
            result = await storage.delete(conn, job_id)
        self.watch.stop(job_id)
        self.watch.changed(job_id)
        remove_result(self.settings, job_id, result)

    def result_path(self, job: Job) -> Path | None:
        """The job's result file, when it has one."""
        if job.phase is not Phase.COMPLETED or not job.result_file:
            return None
        return results_dir(self.settings) / job.result_file


def _referenced(upload: str | None, parts: Mapping[str, bytes]) -> dict[str, bytes]:
    """The inline parts UPLOAD names (param:<part>), by part name."""
    names = {uri[6:] for _, uri in upload_references(upload or "") if uri.startswith("param:")}
    return {name: content for name, content in parts.items() if name in names}


def remove_result(settings: TapSettings, job_id: str, name: str | None) -> None:
    """Remove a job's result file and a partial one (a process that died mid-run leaves ``<id>.part``)."""
    folder = results_dir(settings)
    for path in (folder / name if name else None, folder / f"{job_id}.part"):
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
