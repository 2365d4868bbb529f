"""Async TAP queries as UWS 1.1 jobs: rows in PostgreSQL (``storage``), their rules (``service``), their
documents (``documents``), and the runners that execute them (``runner``), started and stopped with
the service by :func:`start_jobs` and :func:`stop_jobs` (app.py's hooks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spicadb_kit.context import ServiceContext

from ..config import TapSettings
from .execution import executor
from .runner import Runner
from .watch import Watch

__all__ = ["Jobs", "jobs_of", "start_jobs", "stop_jobs"]


@dataclass
class Jobs:
    """This process's side of the jobs: the signals between handlers and runners, and the runners."""

    watch: Watch
    runner: Runner


# by the id of the service's context (one per app; tests run several apps in one process)
_RUNNING: dict[int, Jobs] = {}


async def start_jobs(context: ServiceContext[TapSettings, Any]) -> None:
    """Startup: take back the jobs a stopped process left executing, then start the runners and the
    sweeper (background tasks of the service)."""
    watch = Watch()
    runner = Runner(context.pool, context.settings, watch, executor(context))
    _RUNNING[id(context)] = Jobs(watch, runner)
    await runner.recover()
    runner.start(context.spawn)


async def stop_jobs(context: ServiceContext[TapSettings, Any]) -> None:
    """Shutdown: forget this process's runtime (the kit cancels the runners: their jobs go back to
    the queue)."""
    _RUNNING.pop(id(context), None)


def jobs_of(context: ServiceContext[TapSettings, Any]) -> Jobs:
    """This process's jobs runtime (started by :func:`start_jobs`)."""
    return _RUNNING[id(context)]
