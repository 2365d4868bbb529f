"""Indexing a stored upload, in one read of the file (run in a worker thread): validation under the push's
profile, the granules, and their quick-look plots."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path
from typing import ClassVar

import msgspec

from .granules import Granule, extract
from .reader import Unreadable, open_oifits
from .validation import Finding, Report, check, strict

PR_SET_PDEATHSIG = 1  # linux/prctl.h


class Indexed(msgspec.Struct, frozen=True):
    report: Report
    granules: list[Granule]
    # per granule, in order: plot kind -> PNG bytes
    previews: list[dict[str, bytes]]

    @property
    def refused(self) -> bool:
        return self.report.verdict == "invalid"


def _refuse(report: Report, finding: Finding) -> Indexed:
    return Indexed(Report(report.version, "invalid", [*report.findings, finding]), [], [])


def index_file(path: Path, *, calib_level: int | None, profile: str, plots: bool = True) -> Indexed:
    """Never raises on bad bytes: an unreadable file is an invalid report (R-FITS)."""
    try:
        hdus = open_oifits(path)
    except Unreadable as exc:
        return Indexed(Report(None, "invalid", [Finding("R-FITS", "error", "file", str(exc))]), [], [])
    with hdus:
        report = check(hdus)
        if profile == "drs":
            report = strict(report, hdus[0].header)
        if report.verdict == "invalid":
            return Indexed(report, [], [])
        try:
            granules = extract(hdus, calib_level)
        except Exception as exc:  # validated files extract; bad bytes deep in a column still must not crash
            return _refuse(report, Finding("R-FITS", "error", "file", f"unreadable content: {exc}"))
        if not granules:
            # a flux-only file: OI_FLUX rows make no granule (as in OiDB), so there is nothing to index
            message = "no OI_VIS, OI_VIS2 or OI_T3 row: the file makes no granule"
            return _refuse(report, Finding("R-DATA", "error", "file", message))
        previews = _plots(hdus, granules) if plots else [{} for _ in granules]
    return Indexed(report, granules, previews)


def _plots(hdus: object, granules: list[Granule]) -> list[dict[str, bytes]]:
    from .quicklook import render  # matplotlib is imported on the first push, not at start

    return render(hdus, granules)  # type: ignore[arg-type]


def _follow_parent(parent: int) -> None:
    """In a worker: end with the service, even one killed without a chance to stop its pool. On Linux the
    kernel sends SIGKILL when the parent goes (PR_SET_PDEATHSIG); elsewhere, and as a backstop, a thread
    watches for the worker being handed to another parent."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it went before the signal was asked for
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="follow-parent", daemon=True).start()


class Indexer:
    """Runs :func:`index_file` in worker processes: indexing is CPU-bound Python (astropy, numpy, the
    plots) that would hold the service's event loop through the GIL, and a large file's arrays are freed
    with the worker rather than left in the service's heap. Workers are started once per process and
    replaced after ``tasks_per_worker`` files."""

    _pools: ClassVar[dict[int, ProcessPoolExecutor]] = {}

    def __init__(self, workers: int, tasks_per_worker: int = 50) -> None:
        self.workers = max(1, workers)
        self.tasks_per_worker = tasks_per_worker

    def _pool(self) -> ProcessPoolExecutor:
        pool = self._pools.get(self.workers)
        if pool is None:
            # spawn: never fork a process that runs an event loop and threads
            context = multiprocessing.get_context("spawn")
            pool = ProcessPoolExecutor(
                self.workers, mp_context=context, max_tasks_per_child=self.tasks_per_worker
            )
            self._pools[self.workers] = pool
            atexit.register(pool.shutdown, wait=False, cancel_futures=True)
        return pool

    async def index(self, path: Path, *, calib_level: int | None, profile: str) -> Indexed:
        loop = asyncio.get_running_loop()
        call = partial(index_file, path, calib_level=calib_level, profile=profile)
        try:
            return await loop.run_in_executor(self._pool(), call)
        except BrokenProcessPool:
            # a worker died (out of memory on a huge file, killed): start afresh once
            self._pools.pop(self.workers, None)
            return await loop.run_in_executor(self._pool(), call)
