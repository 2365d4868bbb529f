"""The job rows (SQL only: the domain service and the runner own the transactions and the rules)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from .model import Job, Phase

_COLUMNS = (
    "id, phase, owner, sees_all, created_at, execution_duration, destruction, run_id, lang, query, maxrec,"
    " response_format, upload, quote, queued_at, started_at, ended_at, error_summary, error_type,"
    " result_file, result_media_type, result_size, result_rows, overflow, worker, attempts"
)
# a job is seen by its owner, or by anyone when it has none (reached by its unguessable id); a job past
# its destruction is gone for everyone, whether or not the sweeper has deleted it yet
_VISIBLE = "destruction > now() AND (owner IS NULL OR owner = $2)"
# the parameters a client may set, and their columns
PARAMETER_COLUMNS = {
    "LANG": "lang",
    "QUERY": "query",
    "MAXREC": "maxrec",
    "RESPONSEFORMAT": "response_format",
    "UPLOAD": "upload",
    "RUNID": "run_id",
}


def _job(row: asyncpg.Record | None) -> Job | None:
    return None if row is None else msgspec.convert(dict(row), Job)


async def insert(conn: asyncpg.Connection, job: Job) -> None:
    await conn.execute(
        "INSERT INTO job (id, phase, owner, sees_all, created_at, execution_duration, destruction, run_id,"
        " lang, query, maxrec, response_format, upload, queued_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        job.id, job.phase, job.owner, job.sees_all, job.created_at, job.execution_duration,
        job.destruction, job.run_id, job.lang, job.query, job.maxrec, job.response_format, job.upload,
        job.queued_at,
    )  # fmt: skip


async def keep_uploads(conn: asyncpg.Connection, job_id: str, parts: Mapping[str, bytes]) -> None:
    """Store inline UPLOAD parts with the job (a part sent again replaces the last)."""
    await conn.executemany(
        "INSERT INTO job_upload (job_id, name, content) VALUES ($1, $2, $3)"
        " ON CONFLICT (job_id, name) DO UPDATE SET content = EXCLUDED.content",
        [(job_id, name, content) for name, content in parts.items()],
    )


async def uploads(conn: asyncpg.Connection, job_id: str) -> dict[str, bytes]:
    rows = await conn.fetch("SELECT name, content FROM job_upload WHERE job_id = $1", job_id)
    return {row["name"]: bytes(row["content"]) for row in rows}


async def visible(
    conn: asyncpg.Connection, job_id: str, viewer: str | None, *, lock: bool = False
) -> Job | None:
    """The job if this viewer may see it (None otherwise: the caller answers as if it did not exist)."""
    suffix = " FOR UPDATE" if lock else ""
    sql = f"SELECT {_COLUMNS} FROM job WHERE id = $1 AND {_VISIBLE}{suffix}"
    return _job(await conn.fetchrow(sql, job_id, viewer))


async def by_id(conn: asyncpg.Connection, job_id: str) -> Job | None:
    return _job(await conn.fetchrow(f"SELECT {_COLUMNS} FROM job WHERE id = $1", job_id))


async def phase_of(conn: asyncpg.Connection, job_id: str) -> Phase | None:
    value = await conn.fetchval("SELECT phase FROM job WHERE id = $1", job_id)
    return None if value is None else Phase(value)


async def owned(
    conn: asyncpg.Connection,
    owner: str,
    *,
    phases: Sequence[Phase],
    after: datetime | None,
    last: int | None,
    limit: int,
) -> list[Job]:
    """An owner's jobs, newest first: in these phases, created after ``after``, the ``last`` ones."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM job WHERE owner = $1 AND destruction > now() AND phase = ANY($2::text[])"
        " AND ($3::timestamptz IS NULL OR date_trunc('milliseconds', created_at) > $3)"
        " ORDER BY created_at DESC, id LIMIT $4",
        owner,
        [str(p) for p in phases],
        after,
        min(last, limit) if last is not None else limit,
    )
    return [msgspec.convert(dict(row), Job) for row in rows]


async def update(conn: asyncpg.Connection, job_id: str, values: Mapping[str, Any]) -> None:
    """Set these columns (names from this module's callers only, never from a request)."""
    names = list(values)
    sets = ", ".join(f"{name} = ${k}" for k, name in enumerate(names, start=2))
    await conn.execute(f"UPDATE job SET {sets}, updated_at = now() WHERE id = $1", job_id, *values.values())


async def delete(conn: asyncpg.Connection, job_id: str) -> str | None:
    """Delete a job (its uploads with it); its result file's name, for the caller to remove."""
    row = await conn.fetchrow("DELETE FROM job WHERE id = $1 RETURNING result_file", job_id)
    return None if row is None else row["result_file"]


# --- the runners' --------------------------------------------------------------------------------


async def claim(conn: asyncpg.Connection, worker: str) -> Job | None:
    """Take the oldest QUEUED job for this worker (another replica's runner skips it)."""
    row = await conn.fetchrow(
        f"UPDATE job SET phase = 'EXECUTING', worker = $1, started_at = now(), heartbeat_at = now(),"
        " attempts = attempts + 1, updated_at = now()"
        " WHERE id = (SELECT id FROM job WHERE phase = 'QUEUED' AND destruction > now()"
        " ORDER BY queued_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
        f" RETURNING {_COLUMNS}",
        worker,
    )
    return _job(row)


async def beat(conn: asyncpg.Connection, job_id: str, worker: str) -> bool:
    """Record that the worker is still executing the job; False when the job is no longer its own
    (aborted, deleted, taken back after a stall)."""
    done = await conn.execute(
        "UPDATE job SET heartbeat_at = now() WHERE id = $1 AND worker = $2 AND phase = 'EXECUTING'",
        job_id,
        worker,
    )
    return bool(done.endswith(" 1"))


async def finish(conn: asyncpg.Connection, job_id: str, worker: str, values: Mapping[str, Any]) -> bool:
    """End the worker's execution of the job with these columns (phase among them); False when the job
    was no longer its own."""
    names = list(values)
    sets = ", ".join(f"{name} = ${k}" for k, name in enumerate(names, start=3))
    done = await conn.execute(
        f"UPDATE job SET {sets}, worker = NULL, heartbeat_at = NULL, ended_at = now(), updated_at = now()"
        " WHERE id = $1 AND worker = $2 AND phase = 'EXECUTING'",
        job_id,
        worker,
        *values.values(),
    )
    return bool(done.endswith(" 1"))


async def requeue(conn: asyncpg.Connection, job_id: str, worker: str) -> None:
    """Give a job back to the queue (its worker is stopping)."""
    await conn.execute(
        "UPDATE job SET phase = 'QUEUED', worker = NULL, heartbeat_at = NULL, started_at = NULL,"
        " attempts = greatest(attempts - 1, 0), updated_at = now()"
        " WHERE id = $1 AND worker = $2 AND phase = 'EXECUTING'",
        job_id,
        worker,
    )


async def recover(conn: asyncpg.Connection, stale_seconds: float, max_attempts: int) -> list[tuple[str, str]]:
    """Jobs whose worker stopped beating (its process died): queued again while they have attempts
    left, ERROR otherwise. The (id, new phase) of each."""
    rows = await conn.fetch(
        "UPDATE job SET"
        " phase = CASE WHEN attempts < $2 THEN 'QUEUED' ELSE 'ERROR' END,"
        " error_summary = CASE WHEN attempts < $2 THEN NULL"
        "   ELSE 'the service stopped while the job was executing, ' || attempts || ' times: run it again' END,"
        " error_type = CASE WHEN attempts < $2 THEN NULL ELSE 'transient' END,"
        " ended_at = CASE WHEN attempts < $2 THEN NULL ELSE now() END,"
        " started_at = CASE WHEN attempts < $2 THEN NULL ELSE started_at END,"
        " worker = NULL, heartbeat_at = NULL, updated_at = now()"
        " WHERE phase = 'EXECUTING' AND heartbeat_at < now() - make_interval(secs => $1)"
        " RETURNING id, phase",
        stale_seconds,
        max_attempts,
    )
    return [(row["id"], row["phase"]) for row in rows]


async def expired(conn: asyncpg.Connection, limit: int) -> list[tuple[str, str | None]]:
    """Delete jobs past their destruction (at most ``limit``): (id, result file) of each."""
    rows = await conn.fetch(
        "DELETE FROM job WHERE id IN (SELECT id FROM job WHERE destruction <= now()"
        " ORDER BY destruction LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING id, result_file",
        limit,
    )
    return [(row["id"], row["result_file"]) for row in rows]


async def result_files(conn: asyncpg.Connection, names: Sequence[str]) -> set[str]:
    """Which of these result file names a job still refers to."""
    rows = await conn.fetch("SELECT result_file FROM job WHERE result_file = ANY($1::text[])", list(names))
    return {row["result_file"] for row in rows}
