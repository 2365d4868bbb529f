"""OIFITS benchmark: the service's indexing of reduced files against a raw astropy read of the same files, in
one run; quick-look rendering reported apart; a whole push against a raw sink of the same stream.

Files: every file of ``../shared/data/oifits/MANIFEST.tsv`` whose expected verdict is ``valid`` or
``valid-with-warnings`` (the ones the service indexes). Without ``../shared`` (a user's clone), or with
``--synthetic N``, N files written to a temporary folder by ``tests/oifits/synthetic.py``: CHARA/SPICA
six-telescope files of one to three targets over one or two nights, LR (42 channels) or MR (3 channels),
four exposures a night, baselines spread over CHARA's lengths.

Measured (1 and 2 from this process, with a warm page cache: every file read once before timing):

1. indexing. Each round runs three passes over every file, in an order that turns with the round (noise
   and warm caches hit each first in turn):
   (a) raw baseline: astropy ``fits.open`` + ``.data`` of every binary table + close;
   (b) the service's own indexing path, as a push runs it: ``spicadb_oifits.indexing.Indexer.index`` (the
   push's default validation profile), i.e. ``index_file`` (validation, granules, bounds, and whatever
   else the service does there, quick-look plots included while it renders them in the push) in a worker
   process of the pool, its answer sent back; one file at a time, as one push; the worker started before
   timing;
   (c) ``index_file`` called in this process (reported: (b) - (c) is what the worker costs).
   Files/s of each (best round kept), the ratio of (b) to (a) ("indexing rate = X x the raw read") and ms
   per file. Target (``performance-targets.md``): >= 0.8x the raw read rate and >= 50 files/s. When it is
   missed (or with ``--profile``): the indexing split into open / validation / granules / the rest of
   ``index_file`` / the worker, the files that cost most against their raw read, and a cProfile of
   ``index_file`` passes by own and cumulative time;
2. quick-look rendering: ``spicadb_oifits.quicklook.render`` of every granule of every file (the files
   open and indexed beforehand, not timed): files/s, ms per granule and per plot. Reported, no target.
3. push: the oifits service's memory and throughput while a ``--push-mb`` MB file (default 500; 50 with
   ``--quick``) is
   pushed to it. A valid SPICA file (one target, 2000 channels, six telescopes, as many exposures as the
   size needs) written by ``synthetic.py`` to a temporary folder, sent from disk by httpx in 1 MiB chunks
   (Content-Length set) as the DRS (``oifits:push``). Started here, on free ports, and stopped by pid at the
   end: PostgreSQL and nats-server (the oifits schema migrated, its streams provisioned), a JWKS server in
   this process, the service (uvicorn, the real app, one indexing worker) in a process of its own. After a
   small warm-up push (the worker pool starts, lazy imports), the RSS of the service process and of each
   of its children (the indexing worker) is sampled every 50 ms: the service's peak growth while the body
   streams (until the incoming part holds every byte) and over the whole push (storing, indexing, plots,
   the rows), the worker's peak, wall time and MB/s; the answer must be 201 and the stored object as large
   as the file. Raw baseline in the same run: the same file, the same client, to a sink in a process of
   its own (``bench_sink.Sink`` under uvicorn) that only reads the body and hashes it (sha256 and md5).
   Targets (``performance-targets.md``): a 500 MB upload with flat memory, the service's peak RSS growth
   while streaming < 64 MB; the whole push (stored, indexed, answered) >= 0.5x the sink's throughput. The worker's peak is reported with no target, split into its file-backed part
   (astropy memory-maps the stored file: the pages it reads count in the worker's RSS) and its anonymous
   part (what the worker makes of them: validation, granules, quick-look plots).

Usage: ``.venv/bin/python tests/bench/oifits.py [--quick] [--rounds R] [--render-rounds R] [--synthetic N]
[--profile [DIR]] [--push-mb MB] [--only indexing|push] [--json FILE] [--smoke]``; exit status 1 when a
target is missed (``--smoke``: only when a figure could not be measured). ``--profile DIR`` also writes ``oifits-index.prof`` there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import hashlib
import io
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

from bench_paths import use_test_helpers
from bench_report import Figures, finish

HERE = Path(__file__).resolve().parent
use_test_helpers()

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import nats  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402
import synthetic as syn  # noqa: E402
from astropy.io import fits  # noqa: E402
from gateway_support import Jwks, LocalServer, ServerProcess  # noqa: E402
from oifits_samples import SAMPLES, manifest_rows  # noqa: E402
from programmes import infrastructure  # noqa: E402
from spicadb_oifits import quicklook, validation  # noqa: E402
from spicadb_oifits.config import OifitsSettings  # noqa: E402
from spicadb_oifits.granules import extract, index  # noqa: E402
from spicadb_oifits.indexing import Indexer, index_file  # noqa: E402
from spicadb_oifits.reader import open_oifits, tables  # noqa: E402
from spicadb_oifits.spec import SPEC  # noqa: E402
from spicadb_oifits.validation import check  # noqa: E402

from spicadb_kit.events.provision import provision  # noqa: E402
from spicadb_kit.infra import NatsServer, PostgresCluster  # noqa: E402
from spicadb_kit.migrate import migrate_service  # noqa: E402
from spicadb_kit.testing.services import role_dsn  # noqa: E402
from spicadb_kit.testing.tokens import TokenFactory  # noqa: E402

TARGET_RATIO = 0.8
TARGET_FILES_PER_S = 50.0
TARGET_RSS_MB = 64.0
TARGET_PUSH_RATIO = 0.5
# the validation profile of a push that names none: what the service indexes with
PROFILE = OifitsSettings(environment="test").default_profile
INDEXED = ("valid", "valid-with-warnings")
SECTIONS = ("indexing", "push")
MB = 2**20


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def verdict(passed: bool) -> str:
    return "ok" if passed else "SHORT"


# --- the files -------------------------------------------------------------------------------------


def corpus() -> list[Path]:
    return [SAMPLES / row["filename"] for row in manifest_rows() if row["expected_verdict"] in INDEXED]


def spread_uv(hdus: fits.HDUList, rng: np.random.Generator) -> fits.HDUList:
    """Baselines of CHARA's lengths (the writer gives every row the same (u, v), which no plot shows)."""
    pairs = None
    for hdu in hdus[1:]:
        n = len(hdu.data) if hdu.data is not None else 0
        if hdu.name in ("OI_VIS", "OI_VIS2"):
            pairs = rng.uniform(-330.0, 330.0, (n, 2)) if pairs is None or len(pairs) != n else pairs
            hdu.data["UCOORD"][:], hdu.data["VCOORD"][:] = pairs[:, 0], pairs[:, 1]
        elif hdu.name == "OI_T3":
            for col in ("U1COORD", "V1COORD", "U2COORD", "V2COORD"):
                hdu.data[col][:] = rng.uniform(-165.0, 165.0, n)
    return hdus


def synthetic_files(folder: Path, n: int, seed: int = 6) -> list[Path]:
    """``n`` clean SPICA files of one to three targets, one or two nights, LR or MR."""
    rng = np.random.default_rng(seed)
    modes = {"SPICA_LR": tuple(np.linspace(0.6025e-6, 0.8075e-6, 42)), "SPICA_MR": (0.78e-6, 0.8e-6, 0.82e-6)}
    paths = []
    for i in range(n):
        insname = "SPICA_LR" if i % 3 else "SPICA_MR"
        targets = tuple(syn.Target(f"HD {1000 + 10 * i + t}", 15.0 * t, 20.0 + t) for t in range(1 + i % 3))
        start = syn.mjd("2024-01-10T04:00") + 7 * i
        observations = tuple(
            syn.Observation(start + night + 0.02 * k, 1 + int(rng.integers(len(targets))), insname,
                            syn.CHARA_STATIONS)
            for night in range(1 + i % 2)
            for k in range(4)
        )  # fmt: skip
        spec = syn.Spec(targets=targets, insnames={insname: modes[insname]}, observations=observations)
        path = folder / f"synthetic-{i:03d}.fits"
        path.write_bytes(syn.to_bytes(spread_uv(syn.build(spec), rng)))
        paths.append(path)
    return paths


@contextlib.contextmanager
def files(args: argparse.Namespace) -> Iterator[tuple[str, list[Path]]]:
    found = [] if args.synthetic else corpus()
    if found:
        yield f"corpus ({SAMPLES.name}/MANIFEST.tsv, valid and valid-with-warnings)", found
        return
    folder = Path(tempfile.mkdtemp(prefix="spicadb-bench-oifits-"))
    try:
        n = args.synthetic or 16
        why = "" if args.synthetic else f"; no corpus at {SAMPLES}"
        yield f"{n} synthetic files (tests/oifits/synthetic.py{why})", synthetic_files(folder, n)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- 1. indexing against the raw read --------------------------------------------------------------


def raw_read(path: Path) -> None:
    """The baseline: what any reader of the file pays (astropy open, every table's data, close)."""
    with fits.open(path) as hdus:
        for hdu in hdus:
            if isinstance(hdu, fits.BinTableHDU):
                _ = hdu.data


def refused(path: Path, report: Any) -> RuntimeError:
    return RuntimeError(f"{path.name} refused: {[f.rule for f in report.findings if f.severity == 'error']}")


def in_process(path: Path) -> None:
    """What the service's worker runs for one push (``index_file``: validation under the default profile,
    granules, bounds, whatever else the service does there), called in this process."""
    indexed = index_file(path, calib_level=None, profile=PROFILE)
    if indexed.refused:
        raise refused(path, indexed.report)


class ServicePath:
    """The service's own indexing of a push: ``Indexer.index`` as the push awaits it (``index_file`` in a
    worker process of the pool, the answer sent back to the service), one file at a time as one push."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.indexer = Indexer(1)

    def __call__(self, path: Path) -> None:
        indexed = self.loop.run_until_complete(self.indexer.index(path, calib_level=None, profile=PROFILE))
        if indexed.refused:
            raise refused(path, indexed.report)

    def close(self) -> None:
        self.loop.run_until_complete(self.indexer.close())
        self.loop.close()


def timed_pass(call: Callable[[Path], None], paths: list[Path], per_file: dict[str, float]) -> float:
    """Seconds for one pass over every file; keeps each file's best time in ``per_file`` (seconds)."""
    started = time.perf_counter()
    for path in paths:
        began = time.perf_counter()
        call(path)
        seconds = time.perf_counter() - began
        per_file[path.name] = min(per_file.get(path.name, seconds), seconds)
    return time.perf_counter() - started


# the validation steps ``_Checker.run`` calls, timed one by one when present (validation.py may change)
CHECKER_STEPS = (
    "checksums", "decide_version", "structure", "primary_header", "multi_keywords", "wavelengths", "arrays_",
    "targets", "columns", "data_table", "inspol", "corr",
)  # fmt: skip


@contextlib.contextmanager
def timed_steps(seconds: dict[str, float]) -> Iterator[None]:
    """Wraps the checker's steps so that each adds its time to ``seconds['validation: <step>']``."""
    checker = validation._Checker
    originals = {name: getattr(checker, name) for name in CHECKER_STEPS if hasattr(checker, name)}

    def wrap(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                key = f"validation: {name}"
                seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - began

        return timed

    for name, method in originals.items():
        setattr(checker, name, wrap(name, method))
    try:
        yield
    finally:
        for name, method in originals.items():
            setattr(checker, name, method)


def phases(paths: list[Path], rounds: int) -> dict[str, float]:
    """One indexing pass split as ``index`` runs it (best of ``rounds``, seconds): open (headers), the
    tables' data (what the raw read pays too), the validation steps, the granules."""
    best: dict[str, float] = {}
    for _ in range(rounds):
        seconds: dict[str, float] = defaultdict(float)
        for path in paths:
            began = time.perf_counter()
            hdus = open_oifits(path)
            opened = time.perf_counter()
            with hdus:
                for _index, _name, hdu in tables(hdus):
                    _ = hdu.data
                loaded = time.perf_counter()
                with timed_steps(seconds):
                    check(hdus)
                checked = time.perf_counter()
                extract(hdus)
            done = time.perf_counter()
            seconds["open (astropy: headers)"] += opened - began
            seconds["tables' data (astropy .data)"] += loaded - opened
            seconds["validation: the rest"] += checked - loaded
            seconds["granules (extract)"] += done - checked
        steps = sum(
            value
            for key, value in seconds.items()
            if key.startswith("validation: ") and key != "validation: the rest"
        )
        seconds["validation: the rest"] -= steps
        for name, value in seconds.items():
            best[name] = min(best.get(name, value), value)
    return best


def profile(paths: list[Path], passes: int, folder: Path | None) -> dict[str, str]:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(passes):
        for path in paths:
            in_process(path)
    profiler.disable()
    if folder is not None:
        profiler.dump_stats(folder / "oifits-index.prof")
    texts = {}
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats(order).print_stats(18)
        texts[order] = text.getvalue()
    return texts


def measure_indexing(args: argparse.Namespace, paths: list[Path]) -> dict[str, Any]:
    """Each round: the raw read, the service's path (worker included) and ``index_file`` in this process,
    in an order that turns with the round (noise and warm caches hit each first in turn)."""
    service = ServicePath()
    try:
        for path in paths:  # the page cache, the imports, the worker's start and astropy's first-use costs
            path.read_bytes()
            raw_read(path)
            in_process(path)
            service(path)
        per_file: dict[str, dict[str, float]] = {"raw": {}, "index": {}, "in_process": {}}
        totals: dict[str, list[float]] = {"raw": [], "index": [], "in_process": []}
        passes = [("raw", raw_read), ("index", service), ("in_process", in_process)]
        for r in range(args.rounds):
            for label, call in passes[r % 3 :] + passes[: r % 3]:
                gc.collect()
                totals[label].append(timed_pass(call, paths, per_file[label]))
                say(f"round {r + 1}: {label:<11}{len(paths) / totals[label][-1]:8.1f} files/s")
    finally:
        service.close()
    n = len(paths)
    out: dict[str, Any] = {
        "files": n,
        "bytes": sum(path.stat().st_size for path in paths),
        "granules": sum(len(index(path)[1]) for path in paths),
        "profile": PROFILE,
        "per_file_ms": {
            name: {label: per_file[label][name] * 1e3 for label in per_file} for name in per_file["raw"]
        },
    }
    for label, seconds in totals.items():
        out[f"{label}_s"] = min(seconds)
        out[f"{label}_files_per_s"] = n / min(seconds)
        out[f"{label}_median_files_per_s"] = n / statistics.median(seconds)
    out["ratio"] = out["index_files_per_s"] / out["raw_files_per_s"]
    out["passed"] = out["ratio"] >= TARGET_RATIO and out["index_files_per_s"] >= TARGET_FILES_PER_S
    if args.profile is not None or not out["passed"]:
        say("where indexing time goes: phases, then cProfile")
        split = phases(paths, args.rounds)
        split["index_file: the rest (profile, bounds, plots, ...)"] = max(
            0.0, out["in_process_s"] - sum(split.values())
        )
        split["the worker (pool, the answer sent back)"] = max(0.0, out["index_s"] - out["in_process_s"])
        out["phases_s"] = split
        folder = Path(args.profile) if args.profile else None
        out["profiles"] = profile(paths, max(1, args.rounds), folder)
    return out


# --- 2. quick-look rendering -----------------------------------------------------------------------


def measure_rendering(args: argparse.Namespace, paths: list[Path]) -> dict[str, Any]:
    best: dict[str, float] = {}
    granules = plots = 0
    for r in range(args.render_rounds):
        seconds: dict[str, float] = {}
        granules = plots = 0
        for path in paths:
            _report, found = index(path)
            with open_oifits(path) as hdus:
                began = time.perf_counter()
                rendered = quicklook.render(hdus, found)
                seconds[path.name] = time.perf_counter() - began
            granules += len(found)
            plots += sum(len(kinds) for kinds in rendered)
        for name, value in seconds.items():
            best[name] = min(best.get(name, value), value)
        say(f"round {r + 1}: render {len(paths) / sum(seconds.values()):8.1f} files/s ({plots} plots)")
    total = sum(best.values())
    n = len(paths)
    return {
        "files": n,
        "granules": granules,
        "plots": plots,
        "render_s": total,
        "files_per_s": n / total,
        "ms_per_granule": total / max(granules, 1) * 1e3,
        "ms_per_plot": total / max(plots, 1) * 1e3,
        "slowest": sorted(((name, s * 1e3) for name, s in best.items()), key=lambda kv: -kv[1])[:3],
    }


# --- 3. the service's memory while a large file is pushed ------------------------------------------

PUSH_DATABASE = "bench_oifits"
CHUNK = 1024 * 1024
SAMPLE_S = 0.05
# what one six-telescope exposure of 2000 channels adds to the file (508.1 MB for 180 of them)
BYTES_PER_EXPOSURE = 508.14e6 / 180
DRS = "drs"


def write_large(path: Path, megabytes: int) -> dict[str, Any]:
    """A valid SPICA file of about ``megabytes`` MB: one target, one night, 2000 channels, six telescopes."""
    began = time.perf_counter()
    n = max(1, round(megabytes * 1e6 / BYTES_PER_EXPOSURE))
    start = syn.mjd("2026-05-15T04:00")
    spec = syn.Spec(
        insnames={"SPICA_HR": tuple(np.linspace(0.6e-6, 0.9e-6, 2000))},
        observations=tuple(
            syn.Observation(start + i * 0.0005, stations=syn.CHARA_STATIONS, insname="SPICA_HR")
            for i in range(n)
        ),
    )
    hdus = syn.build(spec)
    hdus.writeto(path)
    del hdus
    gc.collect()  # the bench's own copy of the tables: not needed any more
    sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(16 * CHUNK):
            sha256.update(chunk)
            md5.update(chunk)
    return {
        "file_bytes": path.stat().st_size,
        "exposures": n,
        "channels": 2000,
        "sha256": sha256.hexdigest(),
        "md5": md5.hexdigest(),
        "write_s": time.perf_counter() - began,
    }


class Watch:
    """Samples, every 50 ms in a thread of its own (whatever the event loop is doing), the RSS of a process
    and of each of its children (RSS and its file-backed part), and the largest part in ``incoming``."""

    def __init__(self, pid: int, incoming: Path | None = None) -> None:
        self.process = psutil.Process(pid)
        self.incoming = incoming
        # (perf_counter, own RSS, {child pid: (RSS, file-backed)}, largest incoming part in bytes)
        self.samples: list[tuple[float, int, dict[int, tuple[int, int]], int]] = []
        self.children: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        rss = self.process.memory_info().rss
        children = {}
        for child in self.process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                info = child.memory_info()
                children[child.pid] = (info.rss, info.shared)
                self.children.setdefault(child.pid, child)
        self.samples.append((time.perf_counter(), rss, children, self._part()))

    def _part(self) -> int:
        if self.incoming is None:
            return 0
        sizes = [0]
        for part in self.incoming.glob("*.part"):
            with contextlib.suppress(OSError):
                sizes.append(part.stat().st_size)
        return max(sizes)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.sample()
            self._stop.wait(SAMPLE_S)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def between(self, start: float, end: float) -> list[tuple[float, int, dict[int, tuple[int, int]], int]]:
        return [s for s in self.samples if start <= s[0] <= end]


async def send_file(
    url: str, path: Path, size: int, token: str | None = None
) -> tuple[httpx.Response, float, float]:
    """POST the file from disk in 1 MiB chunks with its Content-Length: (answer, start, last chunk sent)."""
    sent = [0.0]

    async def body() -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(path.open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()
        sent[0] = time.perf_counter()

    headers = {"Content-Type": "application/fits", "Content-Length": str(size)}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(timeout=httpx.Timeout(900.0)) as client:
        started = time.perf_counter()
        response = await client.post(url, params={"filename": path.name}, content=body(), headers=headers)
    return response, started, sent[0] or time.perf_counter()


def stop_all(server: ServerProcess, watch: Watch | None) -> None:
    """The server, then any child of it still running (the indexing workers), by pid."""
    children = list(watch.children.values()) if watch is not None else []
    with contextlib.suppress(psutil.Error):
        children += psutil.Process(server.pid).children(recursive=True)
    server.stop()
    alive = [c for c in {c.pid: c for c in children}.values() if c.is_running()]
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.terminate()
    for child in psutil.wait_procs(alive, timeout=5)[1]:
        with contextlib.suppress(psutil.Error):
            child.kill()


def sink_env() -> dict[str, str]:
    """The sink's module (``bench_sink``, quick to import) is in the bench folder: on its path."""
    folders = [HERE, HERE.parent / "gateway", HERE.parent / "support"]
    return {"PYTHONPATH": os.pathsep.join([*(str(f) for f in folders), os.environ.get("PYTHONPATH", "")])}


async def raw_sink(base: Path, path: Path, size: int) -> dict[str, Any]:
    sink = ServerProcess("bench_sink:create_sink", sink_env(), base / "sink.log").start()
    try:
        sink.wait_ready(timeout=120)
        with Watch(sink.pid) as watch:
            baseline = watch.process.memory_info().rss
            response, started, _sent = await send_file(sink.url + "/sink", path, size)
            ended = time.perf_counter()
            watch.sample()
        received = response.json() if response.status_code == 200 else {}
        peak = max(s[1] for s in watch.between(started, time.perf_counter()))
        seconds = ended - started
        return {
            "status": response.status_code,
            "received": received,
            "seconds": seconds,
            "mb_per_s": size / seconds / 1e6,
            "baseline_rss_mb": baseline / MB,
            "peak_rss_growth_mb": (peak - baseline) / MB,
        }
    finally:
        stop_all(sink, None)


async def prepare_oifits(cluster: PostgresCluster, server: NatsServer) -> None:
    """A fresh database with the oifits schema (and its kit components'), and the service's streams."""
    admin = await asyncpg.connect(cluster.dsn())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{PUSH_DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{PUSH_DATABASE}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(cluster.dsn(PUSH_DATABASE))
    try:
        await migrate_service(conn, SPEC)
    finally:
        await conn.close()
    nc = await nats.connect(server.url)
    try:
        await provision(nc.jetstream(), [SPEC])
    finally:
        await nc.close()


def oifits_env(
    cluster: PostgresCluster, server: NatsServer, tokens: TokenFactory, jwks_url: str, store: Path, size: int
) -> dict[str, str]:
    return {
        "SPICADB_ENVIRONMENT": "test",
        "SPICADB_LOG_LEVEL": "WARNING",
        "SPICADB_DATABASE_URL": role_dsn(cluster.dsn(PUSH_DATABASE), SPEC.role),
        "SPICADB_NATS_URL": server.url,
        "SPICADB_TOKEN_ISSUER": tokens.issuer,
        "SPICADB_TOKEN_AUDIENCE": tokens.audience,
        "SPICADB_JWKS_URL": jwks_url,
        "SPICADB_STORE_PATH": str(store),
        "SPICADB_MAX_FILE_BYTES": str(max(1024 * MB, 2 * size)),
        "SPICADB_INDEX_WORKERS": "1",
    }


def pushed(
    watch: Watch, size: int, started: float, sent: float, ended: float, baseline: int
) -> dict[str, Any]:
    """The push's figures from the samples: the streaming phase ends when the incoming part holds every
    byte (the service has read the whole body), or when the client sent its last chunk if no sample saw it."""
    samples = watch.between(started, ended + 1.0)
    streamed = next((s[0] for s in samples if s[3] >= size), sent)
    earlier = watch.between(0.0, started)
    before = earlier[-1][2] if earlier else {}
    # the indexing worker: the child that grew largest (multiprocessing's resource tracker is a child too)
    peaks: dict[int, tuple[int, int]] = {}
    for s in samples:
        for pid, rss in s[2].items():
            peaks[pid] = max(peaks.get(pid, rss), rss)
    worker = max(peaks, key=lambda pid: peaks[pid][0], default=0)
    anonymous = [rss - shared for s in samples for pid, (rss, shared) in s[2].items() if pid == worker]
    return {
        "seconds": ended - started,
        "mb_per_s": size / (ended - started) / 1e6,
        "streaming_s": streamed - started,
        "streaming_mb_per_s": size / (streamed - started) / 1e6,
        "baseline_rss_mb": baseline / MB,
        "streaming_growth_mb": (max(s[1] for s in samples if s[0] <= streamed) - baseline) / MB,
        "push_growth_mb": (max(s[1] for s in samples) - baseline) / MB,
        "worker_before_mb": before.get(worker, (0, 0))[0] / MB,
        "worker_peak_mb": peaks.get(worker, (0, 0))[0] / MB,
        "worker_peak_file_backed_mb": peaks.get(worker, (0, 0))[1] / MB,
        "worker_peak_anonymous_mb": max(anonymous, default=0) / MB,
        "children": len(peaks),
        "children_peak_mb": max(sum(rss for rss, _ in s[2].values()) for s in samples) / MB,
        "samples": len(samples),
        "series": [
            [round(s[0] - started, 3), round(s[1] / MB, 1), round(sum(r for r, _ in s[2].values()) / MB, 1)]
            for s in samples
        ],
    }


async def service_push(base: Path, path: Path, size: int, small: Path, small_size: int) -> dict[str, Any]:
    """The warm-up push of ``small``, then the push of ``path`` with the service's memory sampled."""
    store = base / "store"
    with infrastructure(base) as (cluster, server):
        say(f"PostgreSQL on {cluster.port}, NATS on {server.url}")
        await prepare_oifits(cluster, server)
        tokens = TokenFactory()
        jwks = await LocalServer(Jwks(tokens.jwks)).start()
        service: ServerProcess | None = None
        watch: Watch | None = None
        try:
            env = oifits_env(cluster, server, tokens, jwks.url + "/.well-known/jwks.json", store, size)
            service = ServerProcess(SPEC.app, env, base / "oifits.log").start()
            service.wait_ready(timeout=120)
            say(f"oifits service {service.url} (pid {service.pid})")
            token = tokens.mint("oifits:push", subject=DRS, client_id=DRS, lifetime=7200)
            url = service.url + "/oifits/files"
            with Watch(service.pid, store / "incoming") as watch:
                before = watch.process.memory_info().rss
                answer, _, _ = await send_file(url, small, small_size, token)
                if answer.status_code != 201:
                    raise RuntimeError(f"warm-up push: HTTP {answer.status_code}: {answer.text[:400]}")
                await asyncio.sleep(0.5)
                baseline = watch.process.memory_info().rss
                say(f"pushing {size / 1e6:.1f} MB ({path.name}) to the service")
                response, started, sent = await send_file(url, path, size, token)
                ended = time.perf_counter()
                watch.sample()
            out = pushed(watch, size, started, sent, ended, baseline)
            out["warmup_growth_mb"] = (baseline - before) / MB
            out["status"] = response.status_code
            if response.status_code in (200, 201):
                record = response.json()
                out["answer"] = {k: record.get(k) for k in ("id", "size", "sha256", "md5", "verdict")}
            else:
                out["answer"] = response.text[:600]
            return out
        finally:
            if service is not None:
                stop_all(service, watch)
            await jwks.stop()


def measure_push(args: argparse.Namespace) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="spicadb-bench-oifits-push-"))
    base.chmod(0o755)  # the postgres user must reach its data folder inside
    try:
        path = base / "big.fits"
        say(f"writing a {args.push_mb} MB OIFITS file")
        out = write_large(path, args.push_mb)
        say(f"{out['file_bytes'] / 1e6:.1f} MB, {out['exposures']} exposures in {out['write_s']:.1f} s")
        size = out["file_bytes"]
        out["raw"] = asyncio.run(raw_sink(base, path, size))
        say(f"raw sink: {out['raw']['mb_per_s']:.0f} MB/s")
        small = base / "warm-up.fits"
        small_size = small.write_bytes(syn.to_bytes(syn.build()))
        out["service"] = service = asyncio.run(service_push(base, path, size, small, small_size))
        sha = str(service["answer"].get("sha256") or "") if isinstance(service["answer"], dict) else ""
        stored = base / "store" / "objects" / sha[:2] / sha[2:4] / sha
        service["stored_bytes"] = stored.stat().st_size if sha and stored.exists() else None
    finally:
        shutil.rmtree(base, ignore_errors=True)
    raw, service = out["raw"], out["service"]
    out["ratio"] = service["mb_per_s"] / raw["mb_per_s"]
    out["streaming_ratio"] = service["streaming_mb_per_s"] / raw["mb_per_s"]
    out["raw_ok"] = raw["received"] == {"size": out["file_bytes"], "sha256": out["sha256"], "md5": out["md5"]}
    answer = service["answer"] if isinstance(service["answer"], dict) else {}
    out["stored_ok"] = service["status"] == 201 and service["stored_bytes"] == out["file_bytes"]
    out["digests_ok"] = (answer.get("sha256"), answer.get("md5")) == (out["sha256"], out["md5"])
    out["flat"] = service["streaming_growth_mb"] < TARGET_RSS_MB
    out["passed"] = bool(out["flat"] and out["stored_ok"] and out["digests_ok"] and out["raw_ok"])
    return out


# --- the run ---------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"rounds": args.rounds}
    if args.only in (None, "indexing"):
        with files(args) as (label, paths):
            results["source"] = label
            say(f"{len(paths)} files: {label}")
            try:
                results["indexing"] = measure_indexing(args, paths)
            except Exception as exc:  # the other sections' figures are still reported
                traceback.print_exc()
                results["indexing"] = {"error": f"{type(exc).__name__}: {exc}"}
                return results
            if args.render_rounds > 0:
                results["rendering"] = measure_rendering(args, paths)
    if args.only in (None, "push") and args.push_mb > 0:
        try:
            results["push"] = measure_push(args)
        except Exception as exc:  # the other sections' figures are still reported
            traceback.print_exc()
            results["push"] = {"error": f"{type(exc).__name__}: {exc}"}
    return results


def report_profile(section: dict[str, Any]) -> None:
    total = sum(section["phases_s"].values())
    print(f"  where the service's indexing time goes ({total * 1e3:.1f} ms for the {section['files']} files;"
          f" the raw read: {section['raw_s'] * 1e3:.1f} ms):")  # fmt: skip
    for name, seconds in sorted(section["phases_s"].items(), key=lambda kv: -kv[1]):
        if seconds < total * 0.005:
            continue
        print(f"    {name:<40}{seconds * 1e3:>8.1f} ms{seconds / total * 100:>6.0f}%")
    costly = sorted(section["per_file_ms"].items(), key=lambda kv: -(kv[1]["index"] - kv[1]["raw"]))[:5]
    print("  files that cost most over their raw read (ms: raw, the service's indexing):")
    for name, ms in costly:
        print(f"    {name[:60]:<62}{ms['raw']:>7.2f}{ms['index']:>8.2f}{ms['index'] / ms['raw']:>7.1f}x")
    for order, text in section["profiles"].items():
        lines = [line for line in text.splitlines() if line.strip()]
        start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
        print(f"  indexing under cProfile, by {'own' if order == 'tottime' else 'cumulative'} time:")
        for line in lines[start : start + 19]:
            print("    " + line[:170])


def report(results: dict[str, Any], figures: Figures) -> bool:
    ok = True
    section = results.get("indexing")
    target = f">= {TARGET_RATIO:g}x the raw read rate, >= {TARGET_FILES_PER_S:g} files/s"
    if section and "error" in section:
        ok = False
        figures.failed("OIFITS indexing (the service's path)", section["error"], target=target)
        print(f"OIFITS indexing: FAILED {section['error'][:400]}")
    elif section:
        print()
        print(
            f"OIFITS indexing: {section['files']} files, {section['bytes'] / 1e6:.1f} MB, {section['granules']}"
            f" granules; {results['source']}; best of {results['rounds']} rounds"
        )
        print(f"{'':<34}{'files/s':>9}{'median':>9}{'ms/file':>9}")
        labels = (
            ("  (a) raw read (astropy)", "raw"),
            ("  (b) the service's indexing (worker)", "index"),
            ("  (c) index_file in this process", "in_process"),
        )
        for label, key in labels:
            rate = section[f"{key}_files_per_s"]
            print(
                f"{label:<34}{rate:>9.1f}{section[f'{key}_median_files_per_s']:>9.1f}"
                f"{section[f'{key}_s'] / section['files'] * 1e3:>9.2f}"
            )
        ok &= section["passed"]
        figures.add("OIFITS indexing (the service's path, worker included)", section["index_files_per_s"],
                    "files/s", target=target, met=section["passed"], baseline=section["raw_files_per_s"],
                    baseline_label="astropy reading the same files")  # fmt: skip
        figures.add("OIFITS index_file in this process", section["in_process_files_per_s"], "files/s",
                    baseline=section["raw_files_per_s"], baseline_label="astropy reading the same files")  # fmt: skip
        print(
            f"  indexing rate = {section['ratio']:.2f}x the raw read, {section['index_files_per_s']:.1f} files/s"
            f"   target {target}: {verdict(section['passed'])}"
        )
        if "profiles" in section:
            report_profile(section)
    rendering = results.get("rendering")
    if rendering:
        print()
        print(
            f"quick-look rendering: {rendering['files']} files, {rendering['granules']} granules,"
            f" {rendering['plots']} plots (reported, no target)"
        )
        print(
            f"  {rendering['files_per_s']:.1f} files/s, {rendering['ms_per_granule']:.1f} ms/granule,"
            f" {rendering['ms_per_plot']:.1f} ms/plot"
        )
        figures.add("quick-look rendering", rendering["files_per_s"], "files/s")
        slowest = ", ".join(f"{name[:40]} {ms:.0f} ms" for name, ms in rendering["slowest"])
        print(f"  slowest files: {slowest}")
    push = results.get("push")
    if push:
        ok &= report_push(push, figures)
    print()
    return bool(ok)


def report_push(push: dict[str, Any], figures: Figures) -> bool:
    print()
    if "error" in push:
        figures.failed("OIFITS push", push["error"])
        print(f"OIFITS push: FAILED {push['error'][:400]}")
        return False
    raw, service = push["raw"], push["service"]
    what = f"OIFITS push of {push['file_bytes'] / 1e6:.0f} MB"
    if not (push["stored_ok"] and push["digests_ok"] and push["raw_ok"]):
        figures.failed(what, f"answer {service['status']}, stored/digests/raw sink ok: "
                             f"{push['stored_ok']}/{push['digests_ok']}/{push['raw_ok']}")  # fmt: skip
    else:
        figures.add(f"{what}: whole push (stored, indexed, answered)", service["mb_per_s"], "MB/s",
                    target=f">= {TARGET_PUSH_RATIO:g}x the raw sink", met=push["ratio"] >= TARGET_PUSH_RATIO,
                    baseline=raw["mb_per_s"], baseline_label="a raw sink of the same stream")  # fmt: skip
        figures.add(f"{what}: seconds to the answer", service["seconds"], "s", baseline=raw["seconds"],
                    baseline_label="a raw sink of the same stream")  # fmt: skip
        figures.add(f"{what}: service RSS growth while streaming", service["streaming_growth_mb"], "MB",
                    target=f"< {TARGET_RSS_MB:.0f} MB", met=push["flat"])  # fmt: skip
    print(
        f"OIFITS push: {push['file_bytes'] / 1e6:.1f} MB file ({push['exposures']} exposures x"
        f" {push['channels']} channels, 6 telescopes), sent from disk by httpx in 1 MiB chunks; RSS sampled"
        f" every {SAMPLE_S * 1e3:.0f} ms ({service['samples']} samples during the push)"
    )
    print(f"{'':<44}{'MB/s':>8}{'seconds':>9}{'RSS before':>12}{'peak growth':>13}")
    rows = (
        ("  (a) raw sink (uvicorn, sha256 + md5)", raw["mb_per_s"], raw["seconds"],
         raw["baseline_rss_mb"], raw["peak_rss_growth_mb"]),
        ("  (b) oifits service: streaming the body", service["streaming_mb_per_s"], service["streaming_s"],
         service["baseline_rss_mb"], service["streaming_growth_mb"]),
        (f"  (b) oifits service: whole push ({service['status']})", service["mb_per_s"], service["seconds"],
         service["baseline_rss_mb"], service["push_growth_mb"]),
    )  # fmt: skip
    for label, rate, seconds, before, growth in rows:
        print(f"{label:<44}{rate:>8.0f}{seconds:>9.2f}{before:>9.0f} MB{growth:>10.1f} MB")
    print(
        f"  push throughput = {push['ratio']:.2f}x the raw sink (the whole push: storing, fsync, indexing,"
        f" plots, rows); streaming the body {push['streaming_ratio']:.2f}x"
    )
    print(
        f"  service RSS growth while streaming {service['streaming_growth_mb']:.1f} MB (whole push"
        f" {service['push_growth_mb']:.1f} MB)   target < {TARGET_RSS_MB:.0f} MB: {verdict(push['flat'])}"
    )
    print(
        f"  indexing worker: peak RSS {service['worker_peak_mb']:.0f} MB ({service['worker_before_mb']:.0f} MB"
        f" before the push), of which file-backed {service['worker_peak_file_backed_mb']:.0f} MB; anonymous"
        f" peak {service['worker_peak_anonymous_mb']:.0f} MB (reported, no target)"
    )
    print(
        "    file-backed: astropy's read of the stored file, memory-mapped (the pages it touches count in the"
        " worker's RSS, shared with the page cache); anonymous: what the worker makes of them (validation,"
        " granules, quick-look plots)"
    )
    print(
        f"  warm-up push (small file, first use: worker pool, imports): service RSS +{service['warmup_growth_mb']:.1f} MB"
    )
    stored = service["stored_bytes"]
    print(
        f"  answer {service['status']}, stored object {stored if stored is not None else 'missing'} bytes"
        f" (file {push['file_bytes']}): {verdict(push['stored_ok'])}; sha256 and md5 as computed here:"
        f" service {verdict(push['digests_ok'])}, raw sink {verdict(push['raw_ok'])}"
    )
    if service["status"] != 201:
        print(f"  the service answered: {str(service['answer'])[:400]}")
    return bool(push["passed"])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7, help="raw and indexing passes (best kept)")
    parser.add_argument("--render-rounds", type=int, default=2, help="rendering passes (best kept; 0: none)")
    parser.add_argument("--synthetic", type=int, default=0, help="N synthetic files instead of the corpus")
    parser.add_argument("--quick", action="store_true", help="three rounds, one rendering pass, 50 MB push")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a synthetic file, one round, a 5 MB push: checks the bench runs (exit 1 only when a figure failed)",
    )
    parser.add_argument("--push-mb", type=int, default=500, help="size of the pushed file (0: no push)")
    parser.add_argument("--only", choices=SECTIONS, help="one section of the benchmark")
    parser.add_argument("--json", type=Path, help="write the results here too")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="",
        help="profile indexing even when the target is met; DIR: write .prof",
    )
    # `make bench` passes one BENCH_ARGS to every benchmark: the others' options are not errors here
    args, others = parser.parse_known_args()
    if others:
        say(f"ignoring options of the other benchmarks: {' '.join(others)}")
    if args.quick:
        args.rounds, args.render_rounds, args.push_mb = 3, 1, min(args.push_mb, 50)
    if args.smoke:
        args.synthetic, args.rounds, args.render_rounds, args.push_mb = 1, 1, 1, 5
    args.rounds = max(1, args.rounds)
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    results = run(args)
    figures = Figures("oifits")
    report(results, figures)
    return finish(figures, results, args.json, args.smoke)


if __name__ == "__main__":
    sys.exit(main())
