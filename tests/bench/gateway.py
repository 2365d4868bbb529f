"""Gateway benchmark: the probe's GET endpoint called directly and through the gateway, in one run; the
gateway's own capacity; and a large streamed upload through the gateway with its memory watched.

What runs (all started here, on free ports, and stopped by pid at the end):

- PostgreSQL and nats-server (the probe and the gateway need their database schema and the bus);
- the probe service (uvicorn, the real app: it verifies the token itself and reads the ping from
  PostgreSQL), the echo upstream (tests/gateway/gateway_support.py: answers at once; hashes bodies as
  they stream in), and the gateway (uvicorn, the real app: route policy, token check, rate limit,
  streaming proxy), each a process of its own; a JWKS server with the test signing key runs here;
- the httpx arm: a second gateway, the same in every way but that its forwarder sends through httpx
  (tests/gateway/gateway_httpx_arm.py) instead of the gateway's own upstream client: the baseline the
  claim that the hand-made client is cheaper is measured against;
- a load generator in this process: N keep-alive connections (a minimal HTTP/1.1 client on asyncio
  streams, cheap enough not to be the bottleneck) sending GETs with a bearer token for a fixed duration,
  direct, through the gateway and through the httpx arm in turn (the better of ``--rounds`` runs is
  kept for each):
    * ``GET /pings/bench`` on the probe at 1 connection (the latency the gateway adds to one request) and
      at N connections (p50 under load); target: gateway p50 <= 1.2x direct;
    * ``GET /echo/bench`` at N connections: an upstream that costs next to nothing, so the gateway is the
      limit (with the probe behind it the probe is, direct or not); target: >= 10,000 requests/s;
- the upload: ``--upload-mb`` MB (default 500) sent chunked through the gateway to the echo upstream,
  which answers with the sha256 it computed; the gateway's RSS is sampled every 10 ms (psutil); target:
  peak growth < 64 MB.

CPU columns are % of one core per process over each run (pg: PostgreSQL with its backends; load: this
process; idle: the machine's idle time, two cores = 200).

Usage: ``.venv/bin/python tests/bench/gateway.py [--quick] [--duration S] [--connections N] [--rounds R]
[--upload-mb MB] [--http auto|h11|httptools] [--json FILE] [--profile DIR] [--keep]``; exit status 1 when
a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_paths import use_test_helpers
from bench_report import Figures, finish

use_test_helpers()

import asyncpg  # noqa: E402
import nats  # noqa: E402
import psutil  # noqa: E402
import uvloop  # noqa: E402
from gateway_support import AUTH_STAND_IN, Jwks, LocalServer, ServerProcess, chunks, sha256_of  # noqa: E402
from probe_service.spec import SPEC as PROBE_SPEC  # noqa: E402
from spicadb_gateway.spec import SPEC as GATEWAY_SPEC  # noqa: E402

from spicadb_kit.events.provision import provision  # noqa: E402
from spicadb_kit.infra import DEFAULT_PG_BIN, NatsServer, PostgresCluster, free_port  # noqa: E402
from spicadb_kit.migrate import migrate_service  # noqa: E402
from spicadb_kit.testing.tokens import TokenFactory  # noqa: E402

# performance-targets.md
TARGET_P50_RATIO = 1.2
TARGET_RATE = 10_000.0
TARGET_RSS_MB = 64.0
DATABASE = "bench_gateway"
PING = "bench"


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# --- a minimal HTTP/1.1 keep-alive client ---------------------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        end = lower.index(b"\r\n", at + 2)
        await reader.readexactly(int(lower[at + 17 : end]))
        return status
    if b"\r\ntransfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                return status
    raise RuntimeError("response without length")


async def _worker(
    port: int, request: bytes, stop_at: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    clock = time.perf_counter
    try:
        while clock() < stop_at:
            started = clock()
            writer.write(request)
            status = await _read_response(reader)
            latencies.append(clock() - started)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def load(port: int, path: str, token: str, connections: int, duration: float) -> dict[str, float]:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        "Accept: application/json\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    stop_at = started + duration
    await asyncio.gather(*(_worker(port, request, stop_at, latencies, errors) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed (statuses {sorted(set(errors))})")
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


# --- the upload -----------------------------------------------------------------------------------


async def upload(port: int, token: str, total: int, pid: int) -> dict[str, Any]:
    """``total`` bytes chunked through the gateway to the echo upstream, RSS sampled meanwhile."""
    process = psutil.Process(pid)
    baseline = process.memory_info().rss
    peak = baseline
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            await asyncio.sleep(0.01)

    sampler = asyncio.create_task(sample())
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST /echo/upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    started = time.perf_counter()
    writer.write(head)
    for part in chunks(total):
        writer.write(b"%x\r\n" % len(part) + part + b"\r\n")
        await writer.drain()
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    response_head = await reader.readuntil(b"\r\n\r\n")
    lower = response_head.lower()
    at = lower.find(b"\r\ncontent-length:")
    body = await reader.readexactly(int(lower[at + 17 : lower.index(b"\r\n", at + 2)]))
    elapsed = time.perf_counter() - started
    writer.close()
    done.set()
    await sampler
    received = json.loads(body)
    return {
        "status": int(response_head[9:12]),
        "bytes": received.get("size"),
        "sha256_ok": received.get("sha256") == sha256_of(total),
        "seconds": elapsed,
        "mb_per_s": total / elapsed / 1e6,
        "baseline_rss_mb": baseline / 2**20,
        "peak_rss_growth_mb": (peak - baseline) / 2**20,
    }


# --- the platform -----------------------------------------------------------------------------------


def role_dsn(cluster: PostgresCluster, role: str) -> str:
    return cluster.dsn(DATABASE, user=role)


async def prepare(cluster: PostgresCluster, server: NatsServer) -> None:
    admin = await asyncpg.connect(cluster.dsn())
    await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    await admin.close()
    conn = await asyncpg.connect(cluster.dsn(DATABASE))
    try:
        await migrate_service(conn, PROBE_SPEC)
        await migrate_service(conn, GATEWAY_SPEC)
        await conn.execute(
            "INSERT INTO probe.ping (ping_id, sequence, note, recorded_at) VALUES ($1, 1, '', $2)",
            PING,
            datetime.now(UTC),
        )
    finally:
        await conn.close()
    nc = await nats.connect(server.url)
    await provision(nc.jetstream(), [AUTH_STAND_IN, PROBE_SPEC, GATEWAY_SPEC])
    await nc.close()


def service_env(
    cluster: PostgresCluster, server: NatsServer, tokens: TokenFactory, jwks_url: str, role: str
) -> dict[str, str]:
    return {
        "SPICADB_ENVIRONMENT": "test",
        "SPICADB_LOG_LEVEL": "WARNING",
        "SPICADB_DATABASE_URL": role_dsn(cluster, role),
        "SPICADB_NATS_URL": server.url,
        "SPICADB_TOKEN_ISSUER": tokens.issuer,
        "SPICADB_TOKEN_AUDIENCE": tokens.audience,
        "SPICADB_JWKS_URL": jwks_url,
    }


@contextlib.contextmanager
def infrastructure(base: Path) -> Iterator[tuple[PostgresCluster, NatsServer]]:
    cluster = PostgresCluster(
        base / "pgdata",
        free_port(),
        bin_dir=Path(os.environ.get("SPICADB_PG_BIN", DEFAULT_PG_BIN)),
        settings={"max_connections": "100", "shared_buffers": "256MB"},
    )
    server = NatsServer(base / "jetstream", free_port(), free_port())
    try:
        cluster.init()
        cluster.start()
        server.start()
        yield cluster, server
    finally:
        server.stop()
        cluster.stop()


def cpu_of(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each named process and its children (PostgreSQL's backends), and the
    machine's idle seconds."""
    out = {}
    for name, pid in pids.items():
        total = 0.0
        try:
            process = psutil.Process(pid)
            times = process.cpu_times()
            total = times.user + times.system
            if name == "postgres":  # backends come and go: the live ones, and the reaped ones' totals
                total += times.children_user + times.children_system
                for child in process.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        child_times = child.cpu_times()
                        total += child_times.user + child_times.system
        except psutil.Error:
            pass
        out[name] = total
    out["idle"] = psutil.cpu_times().idle
    return out


async def run(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    processes: list[ServerProcess] = []
    results: dict[str, Any] = {
        "connections": args.connections,
        "duration_s": args.duration,
        "http": args.http,
    }
    try:
        with infrastructure(base) as (cluster, server):
            try:
                say(f"PostgreSQL on {cluster.port}, NATS on {server.url}")
                await prepare(cluster, server)
                tokens = TokenFactory()
                jwks = await LocalServer(Jwks(tokens.jwks)).start()
                jwks_url = jwks.url + "/.well-known/jwks.json"
                probe = ServerProcess(
                    "probe_service.app:create_app",
                    service_env(cluster, server, tokens, jwks_url, PROBE_SPEC.role),
                    base / "probe.log",
                    http=args.http,
                ).start()
                echo = ServerProcess("gateway_support:create_echo", {}, base / "echo.log").start()
                processes += [probe, echo]
                probe.wait_ready()
                echo.wait_ready()
                gateway = ServerProcess(
                    "spicadb_gateway.app:create_app",
                    {
                        **service_env(cluster, server, tokens, jwks_url, GATEWAY_SPEC.role),
                        "SPICADB_SERVICES": "gateway_support:ROUTED_PROBE,gateway_support:ECHO_SPEC",
                        "SPICADB_UPSTREAMS": f"probe={probe.url},echo={echo.url}",
                        "SPICADB_RATE_LIMIT_RATE": "1000000",
                        "SPICADB_RATE_LIMIT_BURST": "1000000",
                    },
                    base / "gateway.log",
                    http=args.http,
                    python_args=("-m", "cProfile", "-o", str(args.profile / "gateway.prof"))
                    if args.profile
                    else (),
                ).start()
                processes.append(gateway)
                gateway_httpx = ServerProcess(
                    "gateway_httpx_arm:create_app",
                    dict(gateway.env),
                    base / "gateway-httpx.log",
                    http=args.http,
                ).start()
                processes.append(gateway_httpx)
                gateway.wait_ready()
                gateway_httpx.wait_ready()
                say(f"probe {probe.url}, echo {echo.url}, gateway {gateway.url} (logs in {base})")
                token = tokens.mint("probe:read", "probe:write", client_id="bench", lifetime=3600)
                path = f"/pings/{PING}"
                pids = {
                    "probe": probe.pid,
                    "echo": echo.pid,
                    "gateway": gateway.pid,
                    "gateway_httpx": gateway_httpx.pid,
                    "bench": os.getpid(),
                    "postgres": cluster.pid or 0,
                }
                say("warming up")
                for port in (probe.port, gateway.port, gateway_httpx.port):
                    await load(port, path, token, args.connections, 0.5 if args.quick or args.smoke else 2.0)
                scenarios = (
                    # the latency the gateway adds to one request, then the same under load
                    ("probe, 1 connection", probe.port, path, 1),
                    (f"probe, {args.connections} connections", probe.port, path, args.connections),
                    # the gateway's own capacity: an upstream that costs next to nothing
                    (f"echo, {args.connections} connections", echo.port, "/echo/bench", args.connections),
                )
                for label, direct_port, target, connections in scenarios:
                    rows: dict[str, dict[str, float]] = {"direct": {}, "gateway": {}, "httpx": {}}
                    arms = (("direct", direct_port), ("gateway", gateway.port), ("httpx", gateway_httpx.port))
                    # alternate, keep the better run of each (noise on a shared box goes one way)
                    for _ in range(args.rounds):
                        for name, port in arms:
                            before = cpu_of(pids)
                            result = await load(port, target, token, connections, args.duration)
                            after = cpu_of(pids)
                            result.update(
                                {f"cpu_{k}": (after[k] - before[k]) / args.duration * 100 for k in after}
                            )
                            if not rows[name] or result["rps"] > rows[name]["rps"]:
                                rows[name] = result
                            say(
                                f"{label:>24} {name:>8}: {result['rps']:8,.0f} req/s"
                                f"  p50 {result['p50_ms']:.2f} ms  p99 {result['p99_ms']:.2f} ms"
                            )
                    results[label] = rows
                if args.upload_mb:
                    say(f"uploading {args.upload_mb} MB through the gateway")
                    results["upload"] = await upload(gateway.port, token, args.upload_mb * 10**6, gateway.pid)
                await jwks.stop()
            finally:
                for process in reversed(processes):
                    process.stop(signal.SIGINT if args.profile else signal.SIGTERM)
    finally:
        if args.keep:
            say(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return results


def report(results: dict[str, Any], connections: int, figures: Figures) -> bool:
    ok = True
    print()
    parser = results["http"]
    if parser == "auto":
        parser = "httptools" if importlib.util.find_spec("httptools") else "h11"
    print(f"uvicorn's HTTP implementation: {parser} (the probe's and the gateway's)")
    print(
        f"{'gateway benchmark':<36}{'p50 ms':>8}{'p99 ms':>9}{'req/s':>9}"
        f"{'cpu% gw':>9}{'probe':>7}{'echo':>6}{'pg':>5}{'load':>6}{'idle':>6}"
    )
    for label in (
        "probe, 1 connection",
        f"probe, {connections} connections",
        f"echo, {connections} connections",
    ):
        rows = results[label]
        for name in ("direct", "gateway", "httpx"):
            row = rows[name]
            # the gateway column: the gateway that served the row (the httpx arm is a process of its own)
            cpu_gw = row["cpu_gateway_httpx"] if name == "httpx" else row["cpu_gateway"]
            print(
                f"  {label + ', ' + name:<34}{row['p50_ms']:>8.2f}{row['p99_ms']:>9.2f}{row['rps']:>9,.0f}"
                f"{cpu_gw:>9.0f}{row['cpu_probe']:>7.0f}{row['cpu_echo']:>6.0f}"
                f"{row['cpu_postgres']:>5.0f}{row['cpu_bench']:>6.0f}{row['cpu_idle']:>6.0f}"
            )
        ratio = rows["gateway"]["p50_ms"] / rows["direct"]["p50_ms"]
        rows["p50_ratio"] = ratio
        line = f"  {label + ', gateway/direct':<34}{ratio:>7.2f}x"
        if label.startswith("probe"):
            passed = ratio <= TARGET_P50_RATIO
            ok &= passed
            figures.add(f"{label}: p50 through the gateway", rows["gateway"]["p50_ms"], "ms",
                        target=f"<= {TARGET_P50_RATIO}x direct", met=passed, baseline=rows["direct"]["p50_ms"],
                        baseline_label="the same request sent to the service directly, p50")  # fmt: skip
            line += f"{'':>24}target p50 <= {TARGET_P50_RATIO}x: {'ok' if passed else 'SHORT'}"
        print(line)
        # the speed claim of the gateway's own upstream client, against httpx in the same gateway
        httpx_rows = rows["httpx"]
        rows["client_vs_httpx"] = {
            "p50_ratio": rows["gateway"]["p50_ms"] / httpx_rows["p50_ms"],
            "rps_ratio": rows["gateway"]["rps"] / httpx_rows["rps"],
            "cpu_per_request_ratio": (rows["gateway"]["cpu_gateway"] / rows["gateway"]["rps"])
            / (httpx_rows["cpu_gateway_httpx"] / httpx_rows["rps"]),
        }
        print(
            f"  {label + ', gateway/httpx':<34}{rows['client_vs_httpx']['p50_ratio']:>7.2f}x"
            f"{'':>12}{rows['client_vs_httpx']['rps_ratio']:>6.2f}x"
            f"   gateway CPU per request {rows['client_vs_httpx']['cpu_per_request_ratio']:.2f}x httpx's"
        )
    # the gateway's own rate: with the probe behind it, the probe (one process, its database query and
    # its own token check) is the limit, direct or not; with the echo, the gateway is
    rate = results[f"echo, {connections} connections"]["gateway"]["rps"]
    passed = rate >= TARGET_RATE
    ok &= passed
    echo = results[f"echo, {connections} connections"]
    figures.add("requests/s through the gateway (echo upstream)", rate, "requests/s",
                target=f">= {TARGET_RATE:,.0f} requests/s", met=passed, baseline=echo["direct"]["rps"],
                baseline_label="the echo upstream called directly")  # fmt: skip
    print(
        f"  {'requests/s through the gateway':<34}{'':>17}{rate:>9,.0f}"
        f"{'':>8}target >= {TARGET_RATE:,.0f} req/s: {'ok' if passed else 'SHORT'}"
    )
    upload = results.get("upload")
    if upload:
        passed = bool(
            upload["peak_rss_growth_mb"] < TARGET_RSS_MB and upload["sha256_ok"] and upload["status"] == 200
        )
        ok &= passed
        what = f"upload of {upload['bytes'] / 1e6:,.0f} MB: gateway peak RSS growth"
        if upload["sha256_ok"] and upload["status"] == 200:
            figures.add(what, upload["peak_rss_growth_mb"], "MB", target=f"< {TARGET_RSS_MB:.0f} MB",
                        met=passed)  # fmt: skip
        else:
            figures.failed(what, f"status {upload['status']}, sha256 ok: {upload['sha256_ok']}")
        print(
            f"  upload {upload['bytes'] / 1e6:,.0f} MB: {upload['mb_per_s']:.0f} MB/s, sha256 {'ok' if upload['sha256_ok'] else 'WRONG'}, "
            f"gateway RSS {upload['baseline_rss_mb']:.0f} MB + peak growth {upload['peak_rss_growth_mb']:.1f} MB"
            f"   target < {TARGET_RSS_MB:.0f} MB: {'ok' if passed else 'SHORT'}"
        )
    print()
    return bool(ok)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="measurements of each, alternating")
    parser.add_argument("--upload-mb", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="2 s runs, one round, 50 MB upload")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes: checks the bench runs (exit 1 only when a figure failed)",
    )
    parser.add_argument("--json", type=Path, help="write the results here too")
    parser.add_argument(
        "--http", choices=("auto", "h11", "httptools"), default="auto", help="uvicorn's HTTP implementation"
    )
    parser.add_argument("--keep", action="store_true", help="keep the data and logs folder")
    parser.add_argument(
        "--profile", type=Path, help="run the gateway under cProfile, write gateway.prof here"
    )
    args = parser.parse_args()
    if args.quick:
        args.duration, args.rounds, args.upload_mb = 2.0, 1, min(args.upload_mb, 50)
    if args.smoke:
        args.duration, args.rounds, args.upload_mb, args.connections = 0.5, 1, 5, 4
    uvloop.install()
    base = Path(tempfile.mkdtemp(prefix="spicadb-bench-gw-"))
    base.chmod(0o755)  # the postgres user must reach its data folder inside
    results = asyncio.run(run(args, base))
    figures = Figures("gateway")
    report(results, args.connections, figures)
    return finish(figures, results, args.json, args.smoke)


if __name__ == "__main__":
    sys.exit(main())
