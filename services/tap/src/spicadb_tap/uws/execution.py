"""An async job's query, run through the query path the sync endpoint uses (spicadb_tap.query)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from spicadb_kit.context import ServiceContext

from ..config import TapSettings
from .model import Job
from .runner import Execute, JobFailed, Outcome


def executor(context: ServiceContext[TapSettings, Any]) -> Execute:
    """How this service's runners execute a job (as its creator, with its parameters)."""

    async def execute(
        job: Job, uploads: dict[str, bytes], write: Callable[[bytes], Awaitable[None]]
    ) -> Outcome:
        raise JobFailed("async queries are not available yet")

    return execute
