"""Signals between this process's handlers and runners: a job's phase changed (a WAIT returns), a job
was queued (a runner wakes), a running job is to stop (ABORT, DELETE). Other replicas' changes are
seen by polling the database (WAIT every second, idle runners every second, heartbeats every few)."""

from __future__ import annotations

import asyncio
from collections import Counter


class Watch:
    def __init__(self) -> None:
        self._changed: dict[str, asyncio.Event] = {}
        self._waiting: Counter[str] = Counter()
        self.queued = asyncio.Event()
        # the executions this process runs, by job id (cancelled to stop them)
        self.executing: dict[str, asyncio.Task[object]] = {}

    def changed(self, job_id: str) -> None:
        """The job's phase changed: wake whoever waits for it."""
        event = self._changed.pop(job_id, None)
        if event is not None:
            event.set()

    async def wait(self, job_id: str, seconds: float) -> None:
        """Until the job's phase changes in this process, or ``seconds`` pass."""
        event = self._changed.setdefault(job_id, asyncio.Event())
        self._waiting[job_id] += 1
        try:
            await asyncio.wait_for(event.wait(), max(seconds, 0.0))
        except TimeoutError:
            pass
        finally:
            self._waiting[job_id] -= 1
            if self._waiting[job_id] <= 0:
                del self._waiting[job_id]
                if self._changed.get(job_id) is event:
                    del self._changed[job_id]

    def stop(self, job_id: str) -> None:
        """Stop the job's execution if this process runs it."""
        task = self.executing.get(job_id)
        if task is not None:
            task.cancel()
