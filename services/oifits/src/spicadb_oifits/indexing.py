"""Indexing a stored upload, in one read of the file (run in a worker thread): validation under the push's
profile, the granules, and their quick-look plots."""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path
from uuid import UUID

import msgspec
from astropy.io import fits

from spicadb_contracts.bounds import GRANULES
from spicadb_contracts.oifits import IndexedGranule
from spicadb_kit.telemetry import context_from_headers, current_trace_headers, setup_tracing, tracer

from .granules import Granule, extract
from .reader import Unreadable, open_oifits
from .validation import Finding, Report, check, strict

_tracer = tracer(__name__)


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
        beyond = _beyond_bounds(granules)
        if beyond:
            return Indexed(Report(report.version, "invalid", [*report.findings, *beyond]), [], [])
        previews = _plots(hdus, granules) if plots else [{} for _ in granules]
    return Indexed(report, granules, previews)


def _beyond_bounds(granules: list[Granule]) -> list[Finding]:
    """R-BOUNDS: what the file.indexed event could not carry (spicadb_contracts.bounds), refused rather than
    cut: too many granules, a header value longer than its field, a non-finite or out-of-range number."""
    if len(granules) > GRANULES:
        message = f"the file makes {len(granules)} granules (target x INSNAME x night): at most {GRANULES}"
        return [Finding("R-BOUNDS", "error", "file", message)]
    findings = []
    for granule in granules:
        values = {f: getattr(granule, f) for f in IndexedGranule.__struct_fields__ if hasattr(granule, f)}
        values.update(granule_id=UUID(int=0), dataproduct_category=granule.dataproduct_category or "SCIENCE")
        try:
            msgspec.convert(values, IndexedGranule)
        except msgspec.ValidationError as exc:
            where = f"granule {granule.target_name[:40]!r} x {granule.insname[:40]!r} x {granule.night}"
            findings.append(Finding("R-BOUNDS", "error", where, str(exc)))
    return findings


def _plots(hdus: fits.HDUList, granules: list[Granule]) -> list[dict[str, bytes]]:
    from .quicklook import render  # matplotlib is imported on the first push, not at start

    with _tracer.start_as_current_span("quick-look plots", attributes={"oifits.granules": len(granules)}):
        return render(hdus, granules)


def _start_worker(exporter: str, endpoint: str) -> None:
    """A worker process exports its own spans (its parent's tracer provider is not inherited by spawn)."""
    setup_tracing("oifits", exporter, endpoint)


def _index_in_worker(
    trace_headers: dict[str, str], path: Path, *, calib_level: int | None, profile: str
) -> Indexed:
    """:func:`index_file` in a span continuing the push's trace (its context passed in by the parent)."""
    with _tracer.start_as_current_span("index_file", context=context_from_headers(trace_headers)) as span:
        indexed = index_file(path, calib_level=calib_level, profile=profile)
        span.set_attributes(
            {"oifits.verdict": indexed.report.verdict, "oifits.granules": len(indexed.granules)}
        )
        return indexed


class Indexer:
    """Runs :func:`index_file` in worker processes: indexing is CPU-bound Python (astropy, numpy, the
    plots) that would hold the service's event loop through the GIL, and a large file's arrays are freed
    with the worker rather than left in the service's heap. The workers start on the first push and are
    replaced after ``tasks_per_worker`` files; :meth:`close` (at the app's shutdown) ends them, since a
    service stopped by a signal exits without running atexit hooks."""

    def __init__(
        self, workers: int, tasks_per_worker: int = 50, tracing: tuple[str, str] = ("none", "")
    ) -> None:
        """``tracing``: the exporter and endpoint the workers export their spans with (the service's)."""
        self.workers = max(1, workers)
        self.tasks_per_worker = tasks_per_worker
        self.tracing = tracing
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # spawn: never fork a process that runs an event loop and threads
            context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                max_tasks_per_child=self.tasks_per_worker,
                initializer=_start_worker,
                initargs=self.tracing,
            )
        return self._executor

    async def index(self, path: Path, *, calib_level: int | None, profile: str) -> Indexed:
        with _tracer.start_as_current_span("index OIFITS file", attributes={"oifits.profile": profile}):
            loop = asyncio.get_running_loop()
            call = partial(
                _index_in_worker, current_trace_headers(), path, calib_level=calib_level, profile=profile
            )
            try:
                return await loop.run_in_executor(self._pool(), call)
            except BrokenProcessPool:
                # a worker died (out of memory on a huge file, killed): start afresh once
                self._executor = None
                return await loop.run_in_executor(self._pool(), call)

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
