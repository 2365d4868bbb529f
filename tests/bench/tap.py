"""TAP benchmark: ADQL cone searches over HTTP through the tap service on 1,000,000 ObsCore rows and
1,000,000 exposures, next to the same SQL run directly, and an async job of 100,000 rows (time to
COMPLETED, the tap process's memory).

What runs (all started here, on free ports, and stopped by pid at the end):

- PostgreSQL and nats-server; one database with the owners of the published views (oidb: ivoa.ObsCore,
  obsportal: obsportal.exposures, programmes: spicadb.targets) and the tap service migrated, as
  ``spicadb migrate`` does (the migration runner makes the schemas and grants the reader role);
- the tap service as a process of its own (uvicorn, the real app: it verifies tokens itself against a
  JWKS server with the test key that runs here), its async results in a folder of this run;
- the keep-alive HTTP client of ``programmes.py``, in this process.

Data: 1,000,000 exposures written straight into obsportal's ``exposure`` table (``nightlogs.py``'s
generator: 50,000 targets over CHARA's sky, 300 programmes, most rows released) and 1,000,000 granules
into oidb's ``granule`` table (positions of the same targets, the same programmes copied into oidb's
``programme_rights``), each by COPY with the table's plain indexes dropped before and made again after
(its constraints' indexes kept), then ANALYZE.

Measured:

1. cones: TOPCAT's typical query, ``SELECT TOP 1000 * FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS',
   s_ra, s_dec), CIRCLE('ICRS', ra, dec, r)) = 1`` (r 0.01 and 0.05 deg), and the same on
   obsportal.exposures (its position columns found by UCD in the published declaration), at random
   centres near the data, sequential ``POST /tap/sync`` anonymous and with a member's token. Baseline:
   the same SQL (the tap service's own translation, its ``SELECT * FROM (...) q LIMIT maxrec+1``) run
   directly with asyncpg as the service runs it: one read-only transaction, the viewer set, the reader
   role taken, all rows fetched. Each arm (cone, caller) has centres of its own (the service caches
   translations by text), read once untimed beforehand (both arms meet a warm cache). Target: HTTP p99
   < 20 ms (ratio to the SQL printed; the translation's share printed apart). One EXPLAIN shows the
   GiST index used below the views' security barrier;
2. an async job of 100,000 ObsCore rows (``POST /tap/async`` with ``PHASE=RUN``, then ``WAIT``): time
   to COMPLETED, the result's download, against the same rows fetched directly; the tap process's peak
   RSS growth (VmHWM after minus VmRSS before, sampled from /proc). Target: flat (< 64 MB).

Usage: ``.venv/bin/python tests/bench/tap.py [--quick] [--granules N] [--exposures N] [--requests N]
[--async-rows N] [--profile DIR] [--json FILE] [--keep]``; exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import pstats
import re
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench_paths import use_test_helpers
from bench_report import Figures, finish

use_test_helpers()

import asyncpg  # noqa: E402
import nats  # noqa: E402
import numpy as np  # noqa: E402
import uvloop  # noqa: E402
from gateway_support import Jwks, LocalServer, ServerProcess  # noqa: E402
from nightlogs import MEMBER, fill_obsportal, positions  # noqa: E402
from programmes import Http, failure, infrastructure, say, summary, timed, verdict  # noqa: E402
from spicadb_obsportal.spec import SPEC as OBSPORTAL  # noqa: E402
from spicadb_oidb.spec import SPEC as OIDB  # noqa: E402
from spicadb_programmes.spec import SPEC as PROGRAMMES  # noqa: E402
from spicadb_tap.spec import SPEC as TAP  # noqa: E402

from spicadb_kit.db import init_connection  # noqa: E402
from spicadb_kit.events.provision import provision  # noqa: E402
from spicadb_kit.infra import NatsServer, PostgresCluster, free_port  # noqa: E402
from spicadb_kit.migrate import migrate_service  # noqa: E402
from spicadb_kit.published import READER_ROLE, PublishedTable, read_catalogue  # noqa: E402
from spicadb_kit.rights import Viewer, set_published_viewer  # noqa: E402
from spicadb_kit.testing.services import role_dsn  # noqa: E402
from spicadb_kit.testing.tokens import TokenFactory  # noqa: E402

TARGET_CONE_P99_MS = 20.0
TARGET_ASYNC_RSS_MB = 64.0
DATABASE = "bench_tap"
MAXREC = 1000
# label, ADQL table, cone radius (degrees)
CONES: tuple[tuple[str, str, float], ...] = (
    ("ObsCore r=0.01", "ivoa.ObsCore", 0.01),
    ("ObsCore r=0.05", "ivoa.ObsCore", 0.05),
    ("exposures r=0.01", "obsportal.exposures", 0.01),
    ("exposures r=0.05", "obsportal.exposures", 0.05),
)
MJD_ZERO = datetime(1858, 11, 17, tzinfo=UTC)
PUBLIC = "http://127.0.0.1:8000"


# --- the platform -----------------------------------------------------------------------------------


async def prepare(cluster: PostgresCluster, server: NatsServer) -> None:
    """One database, the owners migrated before the tap service (as ``spicadb migrate`` orders them)."""
    admin = await asyncpg.connect(cluster.dsn())
    await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    await admin.close()
    conn = await asyncpg.connect(cluster.dsn(DATABASE))
    try:
        for spec in (OIDB, OBSPORTAL, PROGRAMMES, TAP):
            await migrate_service(conn, spec)
    finally:
        await conn.close()
    nc = await nats.connect(server.url)
    await provision(nc.jetstream(), [OIDB, OBSPORTAL, PROGRAMMES, TAP])
    await nc.close()


async def owner_pool(cluster: PostgresCluster, schema: str, role: str, size: int = 2) -> asyncpg.Pool:
    """As the owner's role, in its schema, with the kit's codecs; no statement timeout (a COPY of 100,000
    exposures of 15 baselines each is some 300 MB)."""
    pool = await asyncpg.create_pool(
        role_dsn(cluster.dsn(DATABASE), role),
        min_size=1,
        max_size=size,
        init=init_connection,
        server_settings={"search_path": f"{schema},public", "application_name": "bench"},
        command_timeout=None,
    )
    assert pool is not None
    return pool


@contextlib.asynccontextmanager
async def plain_indexes_dropped(admin: asyncpg.Connection, table: str) -> AsyncIterator[None]:
    """``schema.table``'s indexes that back no constraint dropped for a bulk COPY, made again after (their
    definitions read from the catalogue: the owner's migrations stay the one source)."""
    schema, name = table.split(".")
    rows = await admin.fetch(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = $1 AND i.tablename = $2"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.schemaname) || '.'"
        " || quote_ident(i.indexname))::regclass)",
        schema,
        name,
    )
    for row in rows:
        await admin.execute(f'DROP INDEX "{schema}"."{row["indexname"]}"')
    try:
        yield
    finally:
        started = time.perf_counter()
        await admin.execute("SET maintenance_work_mem = '512MB'")
        for row in rows:
            await admin.execute(row["indexdef"])
        say(f"{table}: {len(rows)} indexes made again in {time.perf_counter() - started:.0f} s")


# --- the data ----------------------------------------------------------------------------------------


def _tsv(value: object) -> str:
    return "\\N" if value is None else str(value)


async def fill_granules(
    pool: asyncpg.Pool, n: int, ra: np.ndarray, dec: np.ndarray, codes: list[str], seed: int = 7
) -> dict[str, Any]:
    """``n`` current granules of the programmes ``codes`` (one in twenty of none), at positions drawn from
    the exposures', ending between seven years ago and last month, COPYed into oidb's ``granule``."""
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    now = datetime.now(UTC)
    owner = rng.integers(0, len(ra), n)
    first = (now - timedelta(days=7 * 365) - MJD_ZERO).total_seconds() / 86400.0
    last = (now - timedelta(days=30) - MJD_ZERO).total_seconds() / 86400.0
    t_max = np.round(rng.uniform(first, last, n), 7)
    t_min = t_max - rng.uniform(600, 3600, n) / 86400.0
    programme = rng.integers(0, len(codes), n)
    unassigned = rng.random(n) < 0.05
    calibrator = rng.random(n) < 0.25
    modes = [("LR", 150.0, 6.0e-7, 9.0e-7), ("MR", 3000.0, 6.4e-7, 7.0e-7), ("HR", 10000.0, 6.8e-7, 7.0e-7)]
    mode_of = rng.integers(0, len(modes), n)
    quality = rng.integers(0, 6, n)
    size = rng.integers(200_000, 50_000_000, n)
    columns = (
        "dataproduct_type", "calib_level", "target_name", "obs_id", "obs_collection", "obs_creator_name",
        "obs_publisher_did", "access_url", "access_format", "access_estsize", "s_ra", "s_dec", "t_min", "t_max",
        "t_exptime", "em_min", "em_max", "em_res_power", "facility_name", "instrument_name", "instrument_mode",
        "nb_channels", "nb_vis", "nb_vis2", "nb_t3", "subdate", "progid", "access_md5", "interferometer_stations",
        "t_exptime_total", "granule_id", "file_id", "night", "programme", "dataproduct_category", "nb_flux",
        "quality_level", "file_quality_level", "obs_end", "access_size",
    )  # fmt: skip
    await pool.execute("TRUNCATE granule RESTART IDENTITY")
    chunk = 100_000
    for offset in range(0, n, chunk):
        out = io.StringIO()
        ids = rng.bytes(32 * min(chunk, n - offset))
        for j, k in enumerate(range(offset, min(n, offset + chunk))):
            granule_id = uuid.UUID(bytes=ids[32 * j : 32 * j + 16])
            file_id = uuid.UUID(bytes=ids[32 * j + 16 : 32 * j + 32])
            end = MJD_ZERO + timedelta(days=float(t_max[k]))
            mode, power, em_min, em_max = modes[mode_of[k]]
            code = None if unassigned[k] else codes[programme[k]]
            t = int(owner[k])
            out.write(
                "\t".join((
                    "visibility", "2", f"HD {100_000 + t % 50_000}", f"SPICA.{end.date().isoformat()}", "SPICA",
                    "drs", f"ivo://jmmc.fr/spicadb/oidb?{granule_id}", f"{PUBLIC}/oifits/files/{file_id}",
                    "application/fits", str(int(size[k]) // 1000), repr(float(ra[t])), repr(float(dec[t])),
                    repr(float(t_min[k])), repr(float(t_max[k])), "2.5", repr(em_min), repr(em_max), repr(power),
                    "CHARA", "SPICA", mode, "120", "60", "60", "80", end.isoformat(), _tsv(code),
                    "0123456789abcdef0123456789abcdef", "E1-W2-W1-S2-S1-E2", "600.0", str(granule_id),
                    str(file_id), (end - timedelta(hours=20)).date().isoformat(), _tsv(code),
                    "CALIB" if calibrator[k] else "SCIENCE", "24", str(int(quality[k])), str(int(quality[k])),
                    end.isoformat(), str(int(size[k])),
                ))
                + "\n"
            )  # fmt: skip
        await pool.copy_to_table("granule", source=io.BytesIO(out.getvalue().encode()), columns=columns)
        say(f"granules: {min(n, offset + chunk):,} of {n:,} written")
    seconds = time.perf_counter() - started
    return {"granules": n, "fill_s": seconds}


async def fill(args: argparse.Namespace, cluster: PostgresCluster) -> dict[str, Any]:
    """The exposures, then the granules at the exposures' positions; indexes made again; ANALYZE."""
    admin = await asyncpg.connect(cluster.dsn(DATABASE))
    obsportal = await owner_pool(cluster, OBSPORTAL.schema, OBSPORTAL.role)
    oidb = await owner_pool(cluster, OIDB.schema, OIDB.role)
    try:
        async with plain_indexes_dropped(admin, f"{OBSPORTAL.schema}.exposure"):
            exposures = await fill_obsportal(obsportal, args.exposures)
        # the same programmes, members and proprietary periods in oidb's copy of the rights
        await admin.execute(f"TRUNCATE {OIDB.schema}.programme_rights")
        await admin.execute(
            f"INSERT INTO {OIDB.schema}.programme_rights SELECT * FROM {OBSPORTAL.schema}.programme_rights"
        )
        codes = [
            r["code"]
            for r in await admin.fetch(f"SELECT code FROM {OIDB.schema}.programme_rights ORDER BY code")
        ]
        ra, dec = exposures.pop("exposure_positions")
        async with plain_indexes_dropped(admin, f"{OIDB.schema}.granule"):
            granules = await fill_granules(oidb, args.granules, ra, dec, codes)
        await admin.execute("ANALYZE")
        return {"exposures": exposures, "granules": granules, "positions": (ra, dec)}
    finally:
        await oidb.close()
        await obsportal.close()
        await admin.close()


# --- the queries -------------------------------------------------------------------------------------


def position_columns(table: PublishedTable) -> tuple[str, str]:
    """The RA and Dec columns of a published table, by UCD (the main ones first)."""

    def find(word: str) -> str:
        named = [c for c in table.columns if c.ucd and word in c.ucd.split(";")]
        main = [c for c in named if c.ucd and "meta.main" in c.ucd]
        if not (main or named):
            raise RuntimeError(f"{table.qualified} declares no {word} column")
        return (main or named)[0].name

    return find("pos.eq.ra"), find("pos.eq.dec")


def cone_adql(
    table: str, columns: tuple[str, str], ra: float, dec: float, radius: float, top: int = MAXREC
) -> str:
    return (
        f"SELECT TOP {top} * FROM {table} WHERE CONTAINS(POINT('ICRS', {columns[0]}, {columns[1]}),"
        f" CIRCLE('ICRS', {ra}, {dec}, {radius})) = 1"
    )


class Translator:
    """The tap service's own ADQL translation (the SQL it runs), from the catalogue in the database."""

    def __init__(self, catalogue: Any) -> None:
        from spicadb_tap.adql import translate

        self.catalogue = catalogue
        self.translate = translate

    @classmethod
    async def load(cls, conn: asyncpg.Connection) -> Translator:
        from spicadb_tap.catalogue import load_catalogue

        return cls(await load_catalogue(conn))

    def sql(self, adql: str) -> str:
        return str(self.translate(adql, self.catalogue, []).sql)


async def direct(conn: asyncpg.Connection, sql: str, viewer: Viewer, maxrec: int) -> int:
    """The rows of ``sql`` as the tap service reads them (read-only transaction, viewer set, statement
    timeout, the reader role, MAXREC+1 wrapper), all fetched; their count."""
    async with conn.transaction(readonly=True):
        await set_published_viewer(conn, viewer)
        await conn.execute("SET LOCAL statement_timeout = 30000")
        await conn.execute(f'SET LOCAL ROLE "{READER_ROLE}"')
        rows = await conn.fetch(f"SELECT * FROM ({sql}) AS q LIMIT {maxrec + 1}")
    return len(rows)


class TapHttp(Http):
    """The keep-alive client of programmes.py, anonymous when ``token`` is empty (then ``head`` keeps the
    last answer's status line and headers)."""

    head = b""

    async def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json"
    ) -> tuple[int, bytes]:
        if self.token:
            return await super().request(method, path, body, content_type)
        reader, writer = await self._connect()
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAccept: */*\r\n"
        if body is not None:
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        writer.write(head.encode() + b"\r\n" + (body or b""))
        await writer.drain()
        response = await reader.readuntil(b"\r\n\r\n")
        self.head = response
        lower = response.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            content = await reader.readexactly(int(lower[at + 17 : lower.index(b"\r\n", at + 2)]))
        else:
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                parts.append((await reader.readexactly(size + 2))[:-2])
                if size == 0:
                    break
            content = b"".join(parts)
        if b"\r\nconnection: close" in lower:
            await self.close()
        return int(response[9:12]), content


def sync_body(adql: str, maxrec: int = MAXREC) -> bytes:
    return urlencode({"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": adql, "MAXREC": maxrec}).encode()


async def cones(
    args: argparse.Namespace, clients: dict[str, TapHttp], conn: asyncpg.Connection, data: dict[str, Any]
) -> dict[str, Any]:
    ra, dec = data["positions"]
    catalogue = {t.qualified.lower(): t for t in await read_catalogue(conn)}
    translator = await Translator.load(conn)
    rng = np.random.default_rng(11)
    viewers = {"anonymous": Viewer(None), "member": Viewer(MEMBER)}
    out: dict[str, Any] = {}
    for label, table, radius in CONES:
        published = catalogue.get(table.lower())
        if published is None:
            out[label] = {"error": f"{table} is not published"}
            say(f"{label}: FAILED {out[label]['error']}")
            continue
        columns = position_columns(published)
        for who, http in clients.items():
            key = f"{label}, {who}"
            # centres of this arm alone (the service caches translations: no text is asked twice)
            centres = positions(rng, ra, dec, args.requests + 10, radius)
            # the SQL translated beforehand: the baseline is the database's part (the translation is the
            # service's, measured by the HTTP arm)
            sqls, translations = [], []
            for centre in centres:
                started = time.perf_counter()
                sqls.append(translator.sql(cone_adql(table, columns, *centre, radius)))
                translations.append(time.perf_counter() - started)
            sql_at, web_at = iter(sqls * 2), iter(centres * 2)
            # the cones' pages read once beforehand: both arms meet the same (warm) cache, whichever runs
            # first; a cold read of a 2 GB table on a shared box is not what the ratio compares
            for sql in sqls:
                await direct(conn, sql, Viewer(None, sees_all=True), MAXREC)
            rows: list[int] = []
            sql_rows: list[int] = []

            async def over_http(
                http: TapHttp = http, columns: tuple[str, str] = columns, at: Any = web_at, rows: list[int] = rows,
                table: str = table, radius: float = radius,
            ) -> None:  # fmt: skip
                adql = cone_adql(table, columns, *next(at), radius)
                status, answer = await http.request(
                    "POST", "/tap/sync", sync_body(adql), "application/x-www-form-urlencoded"
                )
                if status != 200 or b'name="QUERY_STATUS" value="OK"' not in answer:
                    raise RuntimeError(f"POST /tap/sync {adql}: {failure(status, answer)}")
                rows.append(answer.count(b"<TR>"))

            async def run_direct(
                viewer: Viewer = viewers[who], at: Any = sql_at, rows: list[int] = sql_rows
            ) -> None:
                rows.append(await direct(conn, next(at), viewer, MAXREC))

            # a fresh connection per arm: the server closes one left idle 61 s while the other arms ran
            await http.close()
            try:
                half = max(1, args.requests // 2)
                sql = await timed(run_direct, half)
                web = await timed(over_http, half)
                # the second half in the other order: neither side always runs on the cache the other warmed
                web += await timed(over_http, args.requests - half, warmup=0)
                sql += await timed(run_direct, args.requests - half, warmup=0)
            except Exception as exc:  # reported in the table
                out[key] = {"error": str(exc)[:600]}
                say(f"{key}: FAILED {out[key]['error']}")
                continue
            out[key] = {
                "sql": summary(sql),
                "http": summary(web),
                # the service's ADQL translation alone, in this process (part of every HTTP request)
                "translate": summary(translations[5:] or translations),
                "rows_mean": float(np.mean(rows)),
                "rows_max": int(np.max(rows)),
                "sql_rows_mean": float(np.mean(sql_rows)),
            }
            say(
                f"{key:<30} rows {out[key]['rows_mean']:6.1f} (max {out[key]['rows_max']}):"
                f" SQL p50 {out[key]['sql']['p50_ms']:6.2f} p99 {out[key]['sql']['p99_ms']:6.2f} ms;"
                f" HTTP p50 {out[key]['http']['p50_ms']:6.2f} p99 {out[key]['http']['p99_ms']:6.2f} ms;"
                f" ADQL translation alone p50 {out[key]['translate']['p50_ms']:6.2f} ms"
            )
        # the plan of one anonymous cone, as the service runs it (the GiST index below the barrier?)
        sql = translator.sql(cone_adql(table, columns, *positions(rng, ra, dec, 1, radius)[0], radius))
        async with conn.transaction(readonly=True):
            await set_published_viewer(conn, Viewer(None))
            await conn.execute(f'SET LOCAL ROLE "{READER_ROLE}"')
            plan = [
                r[0]
                for r in await conn.fetch(
                    f"EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM ({sql}) q LIMIT {MAXREC + 1}"
                )
            ]
        index = [line.strip() for line in plan if "Index Scan" in line or "Bitmap Index Scan" in line]
        out[f"{label} explain"] = {
            "plan": plan,
            "index_line": index[0]
            if index
            else "NO INDEX SCAN: " + " | ".join(line.strip() for line in plan[:4]),
            "execution": next((line.strip() for line in plan if line.startswith("Execution Time")), ""),
        }
        say(
            f"EXPLAIN {label}: {out[f'{label} explain']['index_line']}; {out[f'{label} explain']['execution']}"
        )
    return out


# --- the async job -----------------------------------------------------------------------------------


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no {field} for pid {pid}")


_PHASE = re.compile(rb"<uws:phase>\s*([A-Z]+)\s*</uws:phase>")


async def async_job(
    args: argparse.Namespace, http: TapHttp, conn: asyncpg.Connection, pid: int
) -> dict[str, Any]:
    """One anonymous job of ``args.async_rows`` ObsCore rows, start to COMPLETED, then its download."""
    translator = await Translator.load(conn)
    adql = f"SELECT TOP {args.async_rows} * FROM ivoa.ObsCore"
    started = time.perf_counter()
    direct_rows = await direct(conn, translator.sql(adql), Viewer(None), args.async_rows)
    direct_s = time.perf_counter() - started
    say(f"async baseline: {direct_rows:,} rows fetched directly in {direct_s:.2f} s")
    before = rss_mb(pid)
    peak = before
    sampling = True

    async def sample() -> None:
        nonlocal peak
        while sampling:
            peak = max(peak, rss_mb(pid))
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    try:
        form = urlencode({"LANG": "ADQL", "QUERY": adql, "MAXREC": args.async_rows, "PHASE": "RUN"}).encode()
        started = time.perf_counter()
        status, body = await http.request("POST", "/tap/async", form, "application/x-www-form-urlencoded")
        if status != 303:
            raise RuntimeError(f"POST /tap/async: {failure(status, body)}")
        job = job_of(http.head)
        phase = b""
        while True:
            status, body = await http.request("GET", f"/tap/async/{job}?WAIT=30")
            found = _PHASE.search(body)
            phase = found[1] if found else b"?"
            if phase in (b"COMPLETED", b"ERROR", b"ABORTED") or status != 200:
                break
        completed = time.perf_counter() - started
        if phase != b"COMPLETED":
            status, body = await http.request("GET", f"/tap/async/{job}/error")
            raise RuntimeError(f"job {job} ended {phase.decode()}: {failure(status, body)}")
        started = time.perf_counter()
        status, result = await http.request("GET", f"/tap/async/{job}/results/result")
        download = time.perf_counter() - started
        if status != 200:
            raise RuntimeError(f"result of {job}: {failure(status, result)}")
    finally:
        sampling = False
        await sampler
    high_water = rss_mb(pid, "VmHWM")
    out = {
        "rows": result.count(b"<TR>") or args.async_rows,
        "bytes": len(result),
        "completed_s": completed,
        "download_s": download,
        "direct_s": direct_s,
        "rss_before_mb": before,
        "rss_peak_mb": max(peak, high_water),
        "rss_growth_mb": max(peak, high_water) - before,
    }
    say(
        f"async job: {out['rows']:,} rows, {out['bytes'] / 1e6:.0f} MB, COMPLETED in {completed:.2f} s"
        f" ({completed / direct_s:.1f}x the direct fetch), downloaded in {download:.2f} s;"
        f" tap RSS {before:.0f} -> peak {out['rss_peak_mb']:.0f} MB"
    )
    return out


def job_of(head: bytes) -> str:
    """The job id in a 303's Location (.../async/<id>)."""
    found = re.search(rb"\r\nlocation:\s*(\S+)", head, re.IGNORECASE)
    if not found:
        raise RuntimeError(f"no Location in {head!r}")
    return found[1].decode().rstrip("/").rsplit("/", 1)[-1]


# --- the run -----------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def tap_process(
    env: dict[str, str], log: Path, port: int, profile: Path | None = None
) -> AsyncIterator[ServerProcess]:
    """The tap service as a process of its own (under cProfile with ``profile``: SIGINT lets it write)."""
    python_args = ("-m", "cProfile", "-o", str(profile)) if profile else ()
    service = ServerProcess(TAP.app, env, log, port=port, python_args=python_args).start()
    try:
        service.wait_ready(timeout=60)
        say(f"tap on {service.url} (pid {service.pid}, log {log})")
        yield service
    finally:
        service.stop(signal.SIGINT if profile else signal.SIGTERM)
        if service.proc is not None:
            with contextlib.suppress(Exception):
                service.proc.wait(30)


def print_profile(path: Path, top: int = 30) -> None:
    """Where the tap process spent its time (cumulative), the event loop's idle wait left out."""
    if not path.exists():
        say(f"no profile written at {path}")
        return
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    print(out.getvalue())


async def run(
    args: argparse.Namespace, base: Path, cluster: PostgresCluster, server: NatsServer
) -> dict[str, Any]:
    await prepare(cluster, server)
    say(f"writing {args.exposures:,} exposures and {args.granules:,} granules")
    data = await fill(args, cluster)
    tokens = TokenFactory()
    jwks = await LocalServer(Jwks(tokens.jwks)).start()
    port = free_port()
    env = {
        "SPICADB_ENVIRONMENT": "test",
        "SPICADB_LOG_LEVEL": "WARNING",
        "SPICADB_DATABASE_URL": role_dsn(cluster.dsn(DATABASE), TAP.role),
        "SPICADB_NATS_URL": server.url,
        "SPICADB_TOKEN_ISSUER": tokens.issuer,
        "SPICADB_TOKEN_AUDIENCE": tokens.audience,
        "SPICADB_JWKS_URL": jwks.url + "/.well-known/jwks.json",
        "SPICADB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SPICADB_DATA": str(base / "tapdata"),
    }
    conn = await asyncpg.connect(role_dsn(cluster.dsn(DATABASE), TAP.role))
    results: dict[str, Any] = {"data": {k: v for k, v in data.items() if k != "positions"}}
    profile = args.profile / "tap.prof" if args.profile else None
    try:
        async with tap_process(env, base / "tap.log", port, profile) as service:
            token = tokens.mint("tap:query", subject=MEMBER, client_id="topcat", lifetime=7200)
            clients = {"anonymous": TapHttp(service.port, ""), "member": TapHttp(service.port, token)}
            try:
                results["cones"] = await cones(args, clients, conn, data)
                await clients["anonymous"].close()
                try:
                    results["async"] = await async_job(args, clients["anonymous"], conn, service.pid)
                except Exception as exc:
                    results["async"] = {"error": str(exc)[:600]}
                    say(f"async job: FAILED {results['async']['error']}")
            finally:
                for client in clients.values():
                    await client.close()
    finally:
        await conn.close()
        await jwks.stop()
    if profile is not None:
        print_profile(profile)
    return results


def report(results: dict[str, Any], figures: Figures) -> bool:
    ok = True
    print()
    print(f"{'ADQL cone over /tap/sync':<34}{'rows':>7}{'SQL p50':>9}{'p99':>8}{'HTTP p50':>10}{'p99':>8}{'ratio p50':>11}{'ADQL->SQL':>11}"
          f"   target p99 < {TARGET_CONE_P99_MS:g} ms")  # fmt: skip
    for key, value in results.get("cones", {}).items():
        if key.endswith("explain"):
            continue
        target = f"< {TARGET_CONE_P99_MS:g} ms"
        if "error" in value:
            ok = False
            figures.failed(f"ADQL {key}: HTTP p99", value["error"], target=target)
            print(f"{key:<34} FAILED: {value['error'][:200]}")
            continue
        sql, web = value["sql"], value["http"]
        passed = web["p99_ms"] < TARGET_CONE_P99_MS
        ok &= passed
        figures.add(f"ADQL {key}: HTTP p99", web["p99_ms"], "ms", target=target, met=passed,
                    baseline=sql["p99_ms"], baseline_label="the same SQL, p99")  # fmt: skip
        figures.add(f"ADQL {key}: HTTP p50", web["p50_ms"], "ms", baseline=sql["p50_ms"],
                    baseline_label="the same SQL, p50")  # fmt: skip
        print(
            f"{key:<34}{value['rows_mean']:7.1f}{sql['p50_ms']:9.2f}{sql['p99_ms']:8.2f}{web['p50_ms']:10.2f}"
            f"{web['p99_ms']:8.2f}{web['p50_ms'] / max(sql['p50_ms'], 1e-9):10.1f}x{value['translate']['p50_ms']:11.2f}"
            f"   {verdict(passed)}"
        )
    for key, value in results.get("cones", {}).items():
        if key.endswith("explain"):
            print(f"{key}: {value['index_line']} ({value['execution']})")
    job = results.get("async")
    if job is not None:
        print()
        if "error" in job:
            ok = False
            figures.failed(
                "async job: tap peak RSS growth", job["error"], target=f"< {TARGET_ASYNC_RSS_MB:g} MB"
            )
            print(f"async job FAILED: {job['error'][:300]}")
        else:
            passed = job["rss_growth_mb"] < TARGET_ASYNC_RSS_MB
            ok &= passed
            what = f"async job of {job['rows']:,} rows"
            figures.add(f"{what}: tap peak RSS growth", job["rss_growth_mb"], "MB",
                        target=f"< {TARGET_ASYNC_RSS_MB:g} MB", met=passed)  # fmt: skip
            figures.add(f"{what}: to COMPLETED", job["completed_s"], "s", baseline=job["direct_s"],
                        baseline_label="the same rows fetched directly")  # fmt: skip
            print(
                f"async job of {job['rows']:,} rows ({job['bytes'] / 1e6:.0f} MB VOTable): COMPLETED in"
                f" {job['completed_s']:.2f} s, direct fetch {job['direct_s']:.2f} s"
                f" ({job['completed_s'] / job['direct_s']:.1f}x), download {job['download_s']:.2f} s;"
                f" tap peak RSS growth {job['rss_growth_mb']:.0f} MB (target < {TARGET_ASYNC_RSS_MB:g} MB):"
                f" {verdict(passed)}"
            )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--granules", type=int, default=1_000_000)
    parser.add_argument("--exposures", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=400, help="sync requests per cone, per caller")
    parser.add_argument("--async-rows", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="100,000 rows each, 100 requests per cone")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="2,000 rows each, 10 requests per cone: checks the bench runs (exit 1 only when a figure failed)",
    )
    parser.add_argument("--json", type=Path, help="write the results here too")
    parser.add_argument("--keep", action="store_true", help="keep the data and logs folder")
    parser.add_argument(
        "--profile", type=Path, help="run the tap service under cProfile, write tap.prof here"
    )
    # `make bench` passes one BENCH_ARGS to every benchmark: the others' options are not errors here
    args, others = parser.parse_known_args()
    if others:
        say(f"ignoring options of the other benchmarks: {' '.join(others)}")
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    if args.quick:
        args.granules, args.exposures, args.requests = 100_000, 100_000, 100
        args.async_rows = min(args.async_rows, 50_000)
    if args.smoke:
        args.granules, args.exposures, args.requests, args.async_rows = 2000, 2000, 10, 1000
    base = Path(tempfile.mkdtemp(prefix="spicadb-bench-tap-"))
    base.chmod(0o755)  # the postgres user must reach its data folder inside
    try:
        with infrastructure(base) as (cluster, server):
            results = uvloop.run(run(args, base, cluster, server))
    finally:
        if args.keep:
            say(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    figures = Figures("tap")
    report(results, figures)
    return finish(figures, results, args.json, args.smoke)


if __name__ == "__main__":
    sys.exit(main())
