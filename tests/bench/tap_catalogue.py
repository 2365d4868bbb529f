"""Calibrator catalogue benchmark: `spicadb catalogue import` of a JSDC-shaped VOTable next to a raw COPY of
the same rows into the same table, in the same run.

What runs (started here, on a free port, stopped by pid at the end): PostgreSQL, the tap service's
migrations (catalogues.calibrators with its GiST and b-tree indexes). The catalogues are generated here
(``calibrator_votables``: JSDC as VizieR writes it, sexagesimal positions, 42 columns): ``--rows`` (500,000)
and a tenth of it.

Measured:

1. baseline: ``COPY ... FROM STDIN (FORMAT csv)`` (asyncpg ``copy_to_table``) of the same rows, already
   converted (decimal positions, nulls), into the empty table, committed;
2. the command itself (``spicadb catalogue import FILE --source S``, a process of its own, as an operator
   runs it) into the empty table: wall time (process start to exit) and the import's own seconds, and the
   peak RSS of the command and its reading child together (sampled every 20 ms), for the tenth and for the
   whole: a streamed import's peak does not grow with the file;
3. ``--replace`` of the whole (the previous rows deleted and the new ones COPYed in one transaction).

Targets: 500,000 rows imported in < 60 s (the whole command); peak RSS of the whole no more than 64 MB
above the tenth's. Exit status 1 when a target is missed.

Usage: ``.venv/bin/python tests/bench/tap_catalogue.py [--rows N] [--keep]``
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench_paths import use_test_helpers
from bench_report import Figures, finish

use_test_helpers()

import asyncpg  # noqa: E402
import psutil  # noqa: E402
from calibrator_votables import Star, stars, write_jsdc  # noqa: E402
from spicadb_tap.calibrators.columns import COPY_COLUMNS  # noqa: E402
from spicadb_tap.spec import SPEC  # noqa: E402

from spicadb_kit.infra import DEFAULT_PG_BIN, PostgresCluster, free_port  # noqa: E402
from spicadb_kit.migrate import migrate_service  # noqa: E402
from spicadb_kit.testing.services import role_dsn  # noqa: E402

DATABASE = "bench_tap_catalogue"
TARGET_SECONDS = 60.0
TARGET_RSS_GROWTH_MB = 64.0
SPICADB = Path(sys.executable).with_name("spicadb")


def say(text: str) -> None:
    print(text, flush=True)


# --- the catalogues --------------------------------------------------------------------------------


def csv_row(star: Star) -> list[Any]:
    """The row the import makes of a star (what COPY gets, already converted)."""
    values: dict[str, Any] = {
        "name": star.label,
        "ra": star.ra,
        "dec": star.dec,
        "pmra": star.pmra,
        "pmdec": star.pmdec,
        "parallax": star.plx,
        "e_parallax": 0.5,
        **{f"{b.lower()}mag": star.mags.get(b) for b in "BVRIJHK"},
        "ldd": star.ldd,
        "e_ldd": star.e_ldd,
        **{f"udd{b.lower()}": star.ud.get(b) for b in "BVRIJHK"},
        "sptype": star.sptype,
        "calflag": star.calflag,
        "bad_calibrator": "f",
        "source": "copy",
        "import_id": 0,
    }
    return ["" if values.get(c) is None else values[c] for c in COPY_COLUMNS]


def generate(folder: Path, n: int) -> tuple[Path, Path]:
    """A JSDC VOTable of ``n`` stars and the CSV of the same rows."""
    votable, table = folder / f"jsdc_{n}.vot", folder / f"jsdc_{n}.csv"
    with votable.open("w") as out:
        write_jsdc(out, stars(n))
    with table.open("w", newline="") as out:
        writer = csv.writer(out)
        for star in stars(n):
            writer.writerow(csv_row(star))
    return votable, table


# --- measures --------------------------------------------------------------------------------------


async def copy_baseline(dsn: str, table: Path) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("TRUNCATE catalogues.calibrators")
        started = time.perf_counter()
        async with conn.transaction():
            await conn.copy_to_table(
                "calibrators",
                schema_name="catalogues",
                source=table,
                columns=list(COPY_COLUMNS),
                format="csv",
                null="",
            )
        seconds = time.perf_counter() - started
        await conn.execute("TRUNCATE catalogues.calibrators")
        return seconds
    finally:
        await conn.close()


def run_command(dsn: str, *args: str) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of one `spicadb catalogue ...` process."""
    env = {**os.environ, "SPICADB_DATABASE_URL": dsn}
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(SPICADB), "catalogue", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    watched = psutil.Process(process.pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                # the command and its reading child (forked: pages they share are counted twice, so this
                # overstates, the same way for every size)
                family = [watched, *watched.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in family))
            except psutil.Error:
                pass  # a child came and went between the two calls
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"spicadb catalogue {' '.join(args)} exited {process.returncode}: {err[-2000:]}")
    return seconds, peak / 2**20, out


async def prepare(cluster: PostgresCluster) -> str:
    admin = await asyncpg.connect(cluster.dsn())
    await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    await admin.close()
    conn = await asyncpg.connect(cluster.dsn(DATABASE))
    try:
        await migrate_service(conn, SPEC)
    finally:
        await conn.close()
    return role_dsn(cluster.dsn(DATABASE), SPEC.role)


def last_line(out: str) -> str:
    return out.strip().splitlines()[-1] if out.strip() else ""


def run(args: argparse.Namespace, base: Path, figures: Figures) -> dict[str, Any]:
    cluster = PostgresCluster(
        base / "pgdata",
        free_port(),
        bin_dir=Path(os.environ.get("SPICADB_PG_BIN", DEFAULT_PG_BIN)),
        settings={"max_connections": "50", "shared_buffers": "512MB", "max_wal_size": "4GB"},
    )
    try:
        cluster.init()
        cluster.start()
        dsn = asyncio.run(prepare(cluster))
        small_n = max(1, args.rows // 10)
        say(f"generating JSDC VOTables of {small_n:,} and {args.rows:,} stars (and the CSV of the same rows)")
        started = time.perf_counter()
        small, _ = generate(base, small_n)
        whole, whole_csv = generate(base, args.rows)
        say(f"  {time.perf_counter() - started:.1f} s, {whole.stat().st_size / 2**20:,.0f} MiB of VOTable")

        copy_s = asyncio.run(copy_baseline(dsn, whole_csv))
        say(f"baseline COPY of {args.rows:,} rows (csv, same table and indexes): {copy_s:.1f} s")

        small_s, small_rss, out = run_command(dsn, "import", str(small), "--source", "small")
        say(
            f"import of {small_n:,} rows: {small_s:.1f} s, peak RSS (command + reader) {small_rss:.0f} MB\n  {last_line(out)}"
        )
        asyncio.run(truncate(dsn))

        whole_s, whole_rss, out = run_command(dsn, "import", str(whole), "--source", "jsdc")
        say(f"import of {args.rows:,} rows: {whole_s:.1f} s, peak RSS {whole_rss:.0f} MB\n  {last_line(out)}")
        replace_s, replace_rss, out = run_command(dsn, "import", str(whole), "--source", "jsdc", "--replace")
        say(
            f"--replace of {args.rows:,} rows: {replace_s:.1f} s, peak RSS {replace_rss:.0f} MB\n  {last_line(out)}"
        )

        growth = whole_rss - small_rss
        ok_time = whole_s < TARGET_SECONDS
        ok_memory = growth <= TARGET_RSS_GROWTH_MB
        say("")
        say(
            f"{'PASS' if ok_time else 'MISS'} import {args.rows:,} rows: {whole_s:.1f} s (target < {TARGET_SECONDS:.0f} s),"
            f" {whole_s / copy_s:.1f}x the COPY of the same rows ({copy_s:.1f} s)"
        )
        say(
            f"{'PASS' if ok_memory else 'MISS'} memory: peak RSS {whole_rss:.0f} MB for {args.rows:,} rows vs "
            f"{small_rss:.0f} MB for {small_n:,} (growth {growth:+.0f} MB, target <= {TARGET_RSS_GROWTH_MB:.0f})"
        )
        figures.add(f"catalogue import of {args.rows:,} rows", whole_s, "s",
                    target=f"< {TARGET_SECONDS:.0f} s", met=ok_time, baseline=copy_s,
                    baseline_label="COPY of the same rows")  # fmt: skip
        figures.add(f"catalogue import: peak RSS growth from {small_n:,} to {args.rows:,} rows", growth, "MB",
                    target=f"<= {TARGET_RSS_GROWTH_MB:.0f} MB", met=ok_memory)  # fmt: skip
        figures.add(f"catalogue --replace of {args.rows:,} rows", replace_s, "s", baseline=copy_s,
                    baseline_label="COPY of the same rows")  # fmt: skip
        return {
            "rows": args.rows,
            "copy_s": copy_s,
            "import_s": whole_s,
            "import_rss_mb": whole_rss,
            "small_rows": small_n,
            "small_import_s": small_s,
            "small_rss_mb": small_rss,
            "replace_s": replace_s,
            "replace_rss_mb": replace_rss,
        }
    finally:
        cluster.stop()


async def truncate(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("TRUNCATE catalogues.calibrators")
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=500_000, help="stars in the catalogue")
    parser.add_argument("--keep", action="store_true", help="keep the data folder")
    parser.add_argument("--json", type=Path, help="write the results here too")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="2,000 rows: checks the bench runs (exit 1 only when a figure failed)",
    )
    # `make bench` passes one BENCH_ARGS to every benchmark: the others' options are not errors here
    args, others = parser.parse_known_args()
    if others:
        say(f"ignoring options of the other benchmarks: {' '.join(others)}")
    if args.smoke:
        args.rows = 2000
    base = Path(tempfile.mkdtemp(prefix="spicadb-bench-catalogue-"))
    base.chmod(0o755)  # the postgres user must reach its data folder inside
    figures = Figures("tap_catalogue")
    try:
        results = run(args, base, figures)
        return finish(figures, results, args.json, args.smoke)
    finally:
        if args.keep:
            say(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
