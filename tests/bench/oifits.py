"""OIFITS benchmark: indexing reduced files (validation + granules) against a raw astropy read of the same
files, in one run; quick-look rendering reported apart.

Files: every file of ``../shared/data/oifits/MANIFEST.tsv`` whose expected verdict is ``valid`` or
``valid-with-warnings`` (the ones the service indexes). Without ``../shared`` (a user's clone), or with
``--synthetic N``, N files written to a temporary folder by ``tests/oifits/synthetic.py``: CHARA/SPICA
six-telescope files of one to three targets over one or two nights, LR (42 channels) or MR (3 channels),
four exposures a night, baselines spread over CHARA's lengths.

Measured, in this process, with a warm page cache (every file read once before timing):

1. indexing. Each round runs the two passes over every file, alternately first (noise hits both):
   (a) raw baseline: astropy ``fits.open`` + ``.data`` of every binary table + close;
   (b) indexing: ``spicadb_oifits.granules.index(path)``, validation and granules from one read.
   Files/s of each (best round kept), their ratio ("indexing rate = X x the raw read") and ms per file.
   Target (``performance-targets.md``): >= 0.5x the raw read rate and >= 50 files/s. When it is missed
   (or with ``--profile``): the indexing pass split into open / validation / granules, the files that
   cost most against their raw read, and a cProfile of indexing passes by own and cumulative time;
2. quick-look rendering: ``spicadb_oifits.quicklook.render`` of every granule of every file (the files
   open and indexed beforehand, not timed): files/s, ms per granule and per plot, and indexing plus
   rendering in files/s, the work the service does once per pushed file. Reported, no target.

Later sections (the service's memory while a 500 MB file is pushed) go in :data:`SECTIONS` and ``run``.

Usage: ``.venv/bin/python tests/bench/oifits.py [--quick] [--rounds R] [--render-rounds R] [--synthetic N]
[--profile [DIR]] [--only indexing] [--json FILE]``; exit status 1 when a target is missed.
``--profile DIR`` also writes ``oifits-index.prof`` there.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import json
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "oifits")]

import numpy as np  # noqa: E402
import synthetic as syn  # noqa: E402
from astropy.io import fits  # noqa: E402
from oifits_samples import SAMPLES, manifest_rows  # noqa: E402
from spicadb_oifits import quicklook, validation  # noqa: E402
from spicadb_oifits.granules import extract, index  # noqa: E402
from spicadb_oifits.reader import open_oifits, tables  # noqa: E402
from spicadb_oifits.validation import check  # noqa: E402

TARGET_RATIO = 0.5
TARGET_FILES_PER_S = 50.0
INDEXED = ("valid", "valid-with-warnings")
SECTIONS = ("indexing",)


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


def indexing(path: Path) -> None:
    report, _granules = index(path)
    if report.verdict == "invalid":
        raise RuntimeError(
            f"{path.name} refused: {[f.rule for f in report.findings if f.severity == 'error']}"
        )


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
            index(path)
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
    for path in paths:  # the page cache, the imports and astropy's first-use costs
        path.read_bytes()
        raw_read(path)
        indexing(path)
    raw_files: dict[str, float] = {}
    index_files: dict[str, float] = {}
    raw_s: list[float] = []
    index_s: list[float] = []
    for r in range(args.rounds):
        passes = [("raw", raw_read, raw_files, raw_s), ("index", indexing, index_files, index_s)]
        for label, call, per_file, totals in passes if r % 2 == 0 else passes[::-1]:
            gc.collect()
            totals.append(timed_pass(call, paths, per_file))
            say(f"round {r + 1}: {label:<6}{len(paths) / totals[-1]:8.1f} files/s")
    n = len(paths)
    out: dict[str, Any] = {
        "files": n,
        "bytes": sum(path.stat().st_size for path in paths),
        "granules": sum(len(index(path)[1]) for path in paths),
        "raw_s": min(raw_s),
        "index_s": min(index_s),
        "raw_files_per_s": n / min(raw_s),
        "index_files_per_s": n / min(index_s),
        "raw_median_files_per_s": n / statistics.median(raw_s),
        "index_median_files_per_s": n / statistics.median(index_s),
        "per_file_ms": {
            name: {"raw": raw_files[name] * 1e3, "index": index_files[name] * 1e3} for name in raw_files
        },
    }
    out["ratio"] = out["index_files_per_s"] / out["raw_files_per_s"]
    out["passed"] = out["ratio"] >= TARGET_RATIO and out["index_files_per_s"] >= TARGET_FILES_PER_S
    if args.profile is not None or not out["passed"]:
        say("where indexing time goes: phases, then cProfile")
        out["phases_s"] = phases(paths, args.rounds)
        folder = Path(args.profile) if args.profile else None
        out["profiles"] = profile(paths, max(1, args.rounds), folder)
    return out


# --- 2. quick-look rendering -----------------------------------------------------------------------


def measure_rendering(args: argparse.Namespace, paths: list[Path], index_s: float) -> dict[str, Any]:
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
        "with_index_files_per_s": n / (total + index_s),
        "slowest": sorted(((name, s * 1e3) for name, s in best.items()), key=lambda kv: -kv[1])[:3],
    }


# --- the run ---------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"rounds": args.rounds}
    if args.only in (None, "indexing"):
        with files(args) as (label, paths):
            results["source"] = label
            say(f"{len(paths)} files: {label}")
            results["indexing"] = measure_indexing(args, paths)
            if args.render_rounds > 0:
                results["rendering"] = measure_rendering(args, paths, results["indexing"]["index_s"])
    # further sections (the service's memory while a 500 MB file is pushed) run here, each into its key
    return results


def report_profile(section: dict[str, Any]) -> None:
    total = sum(section["phases_s"].values())
    print(f"  where indexing time goes ({total * 1e3:.1f} ms for the {section['files']} files, best pass;"
          f" the raw read: {section['raw_s'] * 1e3:.1f} ms):")  # fmt: skip
    for name, seconds in sorted(section["phases_s"].items(), key=lambda kv: -kv[1]):
        if seconds < total * 0.005:
            continue
        print(f"    {name:<40}{seconds * 1e3:>8.1f} ms{seconds / total * 100:>6.0f}%")
    costly = sorted(section["per_file_ms"].items(), key=lambda kv: -(kv[1]["index"] - kv[1]["raw"]))[:5]
    print("  files that cost most over their raw read (ms: raw, index):")
    for name, ms in costly:
        print(f"    {name[:60]:<62}{ms['raw']:>7.2f}{ms['index']:>8.2f}{ms['index'] / ms['raw']:>7.1f}x")
    for order, text in section["profiles"].items():
        lines = [line for line in text.splitlines() if line.strip()]
        start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
        print(f"  indexing under cProfile, by {'own' if order == 'tottime' else 'cumulative'} time:")
        for line in lines[start : start + 19]:
            print("    " + line[:170])


def report(results: dict[str, Any]) -> bool:
    ok = True
    section = results.get("indexing")
    if section:
        print()
        print(
            f"OIFITS indexing: {section['files']} files, {section['bytes'] / 1e6:.1f} MB, {section['granules']}"
            f" granules; {results['source']}; best of {results['rounds']} rounds"
        )
        print(f"{'':<34}{'files/s':>9}{'median':>9}{'ms/file':>9}")
        for label, key in (("  (a) raw read (astropy)", "raw"), ("  (b) indexing (granules.index)", "index")):
            rate = section[f"{key}_files_per_s"]
            print(
                f"{label:<34}{rate:>9.1f}{section[f'{key}_median_files_per_s']:>9.1f}"
                f"{section[f'{key}_s'] / section['files'] * 1e3:>9.2f}"
            )
        ok &= section["passed"]
        print(
            f"  indexing rate = {section['ratio']:.2f}x the raw read, {section['index_files_per_s']:.1f} files/s"
            f"   target >= {TARGET_RATIO:g}x the raw read rate, >= {TARGET_FILES_PER_S:g} files/s:"
            f" {verdict(section['passed'])}"
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
            f" {rendering['ms_per_plot']:.1f} ms/plot; indexing + rendering"
            f" {rendering['with_index_files_per_s']:.1f} files/s"
        )
        slowest = ", ".join(f"{name[:40]} {ms:.0f} ms" for name, ms in rendering["slowest"])
        print(f"  slowest files: {slowest}")
    print()
    return bool(ok)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7, help="raw and indexing passes (best kept)")
    parser.add_argument("--render-rounds", type=int, default=2, help="rendering passes (best kept; 0: none)")
    parser.add_argument("--synthetic", type=int, default=0, help="N synthetic files instead of the corpus")
    parser.add_argument("--quick", action="store_true", help="three rounds, one rendering pass")
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
        args.rounds, args.render_rounds = 3, 1
    args.rounds = max(1, args.rounds)
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    results = run(args)
    ok = report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
