"""An async job's query, run through the path the sync endpoint uses (spicadb_tap.query.execute): the
job's parameters checked as a sync request's, translated against the catalogue, run as the job's
creator (their viewer when they created it), its answer written chunk by chunk."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from spicadb_kit.context import ServiceContext

from ..config import TapSettings
from ..query import TapError, execute, parse_request
from ..query.uploads import UploadError
from .model import Job
from .runner import Execute, JobFailed, Outcome

# a result file's extension by the answer's format (results.FORMATS' values)
EXTENSIONS = {"votable": "xml", "votable-b2": "xml", "csv": "csv", "tsv": "tsv", "json": "json"}
# the statement timeout's margin over the job's execution duration: the runner's own cut comes first
# and says which limit the job reached
MARGIN = 5.0


def _parameters(job: Job) -> dict[str, str]:
    return {name.upper(): value for name, value in job.parameters()}


def executor(context: ServiceContext[TapSettings, Any]) -> Execute:
    """How this service's runners execute a job."""
    settings = context.settings

    async def run(job: Job, uploads: dict[str, bytes], write: Callable[[bytes], Awaitable[None]]) -> Outcome:
        try:
            request = parse_request(
                _parameters(job),
                uploads,
                default_maxrec=settings.default_maxrec,
                hard_maxrec=settings.hard_maxrec,
                upload_max_bytes=settings.upload_max_bytes,
                upload_max_rows=settings.upload_max_rows,
                upload_fetch_timeout=settings.upload_fetch_timeout,
                upload_allow_hosts=settings.upload_allow_hosts,
            )
            state = context.state
            done = await execute(
                context.pool,
                state.catalogue,
                request,
                viewer=job.viewer,
                timeout=job.execution_duration + MARGIN,
                public_url=settings.public_url,
                write=write,
                reload=state.refresh_for_unknown,
            )
        except (TapError, UploadError) as exc:
            raise JobFailed(str(exc)) from None
        if done.error is not None:  # failed while its rows were written
            raise JobFailed(done.error)
        return Outcome(done.rows, done.overflow, done.media_type, EXTENSIONS.get(request.format, "dat"))

    return run
