"""`make bench`: the event pipeline measured against raw JetStream, in one run, on this machine.

What runs (all servers and processes are started here and stopped by pid at the end, Ctrl-C included):

- PostgreSQL 15 with durable settings (fsync, synchronous_commit and full_page_writes on) and
  nats-server with the default JetStream ``sync_interval`` (2 min), on free ports;
- raw baseline: the probe's PingRecorded payloads and envelope headers published with
  ``publish_async`` (pipelined, every PubAck awaited) into a file stream configured like the
  probe's, consumed by a pull consumer (``fetch(200)`` + ``ack``) in a second process; plus a
  publish-only run;
- pipeline: producer tasks in this process commit pings and their events in transactions of
  ``--batch`` (``PingService.record_batch``) while the probe service runs as its own process
  (uvicorn, the real app: outbox relay + consumer runner with inbox). Producers pause while
  ``--max-backlog`` events await their effect (closed loop: the pipeline's sustained rate is
  measured, not how a flood of commits starves it; ``--max-backlog 0`` floods). Effects are
  counted from the consumer's ack floor and exactly once is checked in the database;
- lag: events paced at ``--rate`` in single-event transactions (``PingService.record``, as one
  HTTP request does; ``--lag-batch`` for bigger ones); commit-to-effect lag =
  ``ping_effect.applied_at`` (clock_timestamp() inside the consumer's transaction) - the wall
  clock when the producer's commit returned (same host clock); also shown from
  ``ping.recorded_at`` (taken before the producer's transaction: the commit included);
- when a figure falls short (or with ``--breakdown``): each stage alone (commit without relay,
  relay alone, consumer alone on the same backlog), optionally under cProfile (``--profile``).

CPU per process (and what other processes on the box took) is printed for every phase: the
machine has two cores, shared by the producer, the service, PostgreSQL and NATS.

Usage: ``.venv/bin/python tests/bench/run.py [--quick] [--duration S] [--rate R] [--batch N] [--json F]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_paths import use_test_helpers
from bench_report import Figures, finish

HERE = Path(__file__).resolve().parent
SUPPORT = HERE.parent / "support"
use_test_helpers()

import asyncpg  # noqa: E402
import msgspec  # noqa: E402
import nats  # noqa: E402
import nats.errors  # noqa: E402
import uvloop  # noqa: E402
from nats.js import JetStreamContext  # noqa: E402
from nats.js.errors import NotFoundError  # noqa: E402
from probe_service.spec import EFFECTS, SPEC, STREAM  # noqa: E402

from spicadb_contracts.probe import PingRecorded  # noqa: E402
from spicadb_kit.db import create_pool  # noqa: E402
from spicadb_kit.events import Envelope, Outbox  # noqa: E402
from spicadb_kit.events.provision import consumer_config, provision, stream_config  # noqa: E402
from spicadb_kit.infra import DEFAULT_PG_BIN, NatsServer, PostgresCluster, free_port  # noqa: E402
from spicadb_kit.migrate import migrate_service  # noqa: E402
from spicadb_kit.spec import ConsumerDecl  # noqa: E402

# Durable: every commit is on disk before it returns. The rest is ordinary production tuning
# (room for WAL between checkpoints, a realistic buffer cache), not a durability trade.
BENCH_PG_SETTINGS = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "max_connections": "100",
    "shared_buffers": "1GB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "15min",
}
NATS_SYNC_INTERVAL = "2m"  # the server default
RAW_DURABLE = "bench_raw"
SOURCE = f"/spicadb/{SPEC.name}"
DATABASE = "bench"

TARGET_RATIO = 0.4
TARGET_RATE = 10_000.0
TARGET_P99_MS = 50.0

_children: list[subprocess.Popen[bytes]] = []
_infra: list[Infra] = []
_consumer_batch: int | None = None  # --consumer-batch, for the stage processes


# --- small helpers ----------------------------------------------------------------------


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ev/s"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def spawn(
    args: list[str], log: Path, env: dict[str, str] | None = None, talks: bool = True
) -> subprocess.Popen[bytes]:
    """A child process we stop by pid; ``talks``: it reports on stdout ("ready", statistics)."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE if talks else out,
            stderr=out,
            env=env,
            start_new_session=True,  # Ctrl-C in the terminal reaches us; we stop them by pid
        )
    _children.append(proc)
    return proc


def stop_child(proc: subprocess.Popen[bytes] | None, timeout: float = 20.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def wait_line(proc: subprocess.Popen[bytes], expected: str, timeout: float = 30.0) -> None:
    """Wait for a child to print ``expected`` on its stdout (its "I am ready")."""
    assert proc.stdout is not None
    stdout = proc.stdout

    def read() -> str:
        return stdout.readline().decode().strip()

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = await asyncio.wait_for(asyncio.to_thread(read), deadline - time.monotonic())
        if line == expected:
            return
        if not line and proc.poll() is not None:
            raise RuntimeError(f"child {proc.args!r} exited with {proc.returncode}")
    raise TimeoutError(f"child did not say {expected!r} within {timeout}s")


# --- CPU accounting (from /proc: where the two cores go) -----------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(ppid, cpu seconds) of one process, all its threads; schedstat is exact where the
    tick-sampled utime/stime miss processes that run in short bursts (database backends)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
        ppid = int(raw.rsplit(")", 1)[1].split()[1])
        threads = list(Path(f"/proc/{pid}/task").iterdir())
        total = 0
        for thread in threads:
            with contextlib.suppress(OSError):
                total += int((thread / "schedstat").read_text().split()[0])
    except OSError:
        return None
    return ppid, total / 1e9


def cpu_seconds(pid: int, with_children: bool = False) -> float:
    own = _stat(pid)
    total = own[1] if own else 0.0
    if with_children:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                info = _stat(int(entry.name))
                if info and info[0] == pid:
                    total += info[1]
    return total


def machine_seconds() -> dict[str, float]:
    """Machine-wide idle and steal seconds (summed over cores), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) / _TICK for v in fields]
    return {"idle": values[3] + values[4], "steal": values[7] if len(values) > 7 else 0.0}


class CpuMeter:
    """CPU used by named processes between start() and stop(), in % of one core; plus the
    machine's idle and steal time ("where the two cores go")."""

    def __init__(self, processes: dict[str, tuple[int, bool]]) -> None:
        self.processes = processes
        self.started: dict[str, float] = {}
        self.t0 = 0.0
        self.result: dict[str, float] = {}

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.started = {name: cpu_seconds(pid, kids) for name, (pid, kids) in self.processes.items()}
        self.started.update({f"({k})": v for k, v in machine_seconds().items()})

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self.t0
        now = {name: cpu_seconds(pid, kids) for name, (pid, kids) in self.processes.items()}
        now.update({f"({k})": v for k, v in machine_seconds().items()})
        self.result = {name: 100.0 * (now[name] - self.started[name]) / wall for name in now}
        return self.result


def cpu_text(usage: dict[str, float]) -> str:
    """Per-process CPU in % of one core; the machine has os.cpu_count() * 100 %."""
    busy = {k: v for k, v in usage.items() if not k.startswith("(")}
    parts = ", ".join(f"{name} {pct:.0f}%" for name, pct in busy.items())
    capacity = 100 * (os.cpu_count() or 1)
    idle, steal = usage.get("(idle)", 0.0), usage.get("(steal)", 0.0)
    others = max(0.0, capacity - idle - steal - sum(busy.values()))
    return f"{parts}, other processes {others:.0f}%, idle {idle:.0f}%, steal {steal:.0f}% (of {capacity}%)"


# --- messages as the pipeline sends them ----------------------------------------------------


def pipeline_message(ping_id: str, sequence: int) -> tuple[str, bytes, dict[str, str]]:
    """Subject, payload bytes and headers exactly as Outbox.add_many stores them for the relay."""
    event = PingRecorded(ping_id=ping_id, sequence=sequence, recorded_at=datetime.now(UTC))
    envelope = Envelope.for_event(event, source=SOURCE, aggregate_id=ping_id, aggregate_version=1)
    return event.subject(), msgspec.json.encode(event), envelope.headers()


class RawMessages:
    """Pre-built payloads and headers (the relay, too, only reads ready rows); ids stay unique
    so that JetStream's dedupe does the same work as for the pipeline."""

    def __init__(self, count: int = 20_000) -> None:
        built = [pipeline_message(f"raw-{i:07d}-{i % 100}", i) for i in range(count)]
        self.subject = built[0][0]
        self.messages = [(payload, headers) for _, payload, headers in built]

    def __iter__(self) -> Iterator[tuple[bytes, dict[str, str]]]:
        i = 0
        while True:
            payload, template = self.messages[i % len(self.messages)]
            event_id = str(uuid.uuid4())
            headers = dict(template)
            headers["ce-id"] = event_id
            headers["Nats-Msg-Id"] = event_id
            yield payload, headers
            i += 1


# --- JetStream observation -------------------------------------------------------------------


async def last_seq(js: JetStreamContext, stream: str) -> int:
    info = await js.stream_info(stream)
    return int(info.state.last_seq or 0)


async def acked_seq(js: JetStreamContext, stream: str, durable: str) -> int:
    """Stream sequence up to which the consumer acknowledged everything (its ack floor)."""
    info = await js.consumer_info(stream, durable)
    return int(info.ack_floor.stream_seq or 0) if info.ack_floor else 0


async def poll_until(read: Callable[[], Awaitable[int]], target: int, every: float = 0.05) -> None:
    value = await read()
    while value < target:
        await asyncio.sleep(every)
        value = await read()


async def delete_stream(js: JetStreamContext, name: str) -> None:
    with contextlib.suppress(NotFoundError):
        await js.delete_stream(name)


@dataclass
class Sample:
    t: float
    committed: int
    relayed: int
    effected: int


@dataclass
class Timeline:
    samples: list[Sample] = field(default_factory=list)

    def slice_rates(self, attr: str, seconds: float) -> list[float]:
        """Rates over consecutive slices of ``seconds`` (the slowest shows what "sustained" means)."""
        rates: list[float] = []
        if not self.samples:
            return rates
        start = self.samples[0]
        for sample in self.samples[1:]:
            if sample.t - start.t >= seconds - 1e-3:
                rates.append((getattr(sample, attr) - getattr(start, attr)) / (sample.t - start.t))
                start = sample
        return rates


# --- infrastructure --------------------------------------------------------------------------


@dataclass
class Infra:
    base: Path
    cluster: PostgresCluster
    nats: NatsServer

    @property
    def admin_dsn(self) -> str:
        return self.cluster.dsn(DATABASE)

    @property
    def service_dsn(self) -> str:
        return self.cluster.dsn(DATABASE, user=SPEC.role)


def start_infra(base: Path) -> Infra:
    (base / "pg").mkdir(parents=True)
    (base / "nats").mkdir(parents=True)
    cluster = PostgresCluster(
        base / "pg" / "pgdata",
        free_port(),
        bin_dir=Path(os.environ.get("SPICADB_PG_BIN", DEFAULT_PG_BIN)),
        settings=BENCH_PG_SETTINGS,
    )
    server = NatsServer(
        base / "nats" / "jetstream", free_port(), free_port(), sync_interval=NATS_SYNC_INTERVAL
    )
    infra = Infra(base, cluster, server)
    _infra.append(infra)  # stopped by main() whatever happens from here
    cluster.init()
    cluster.start()
    server.start()
    return infra


async def install_probe(infra: Infra) -> None:
    admin = await asyncpg.connect(infra.cluster.dsn())
    try:
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(infra.admin_dsn)
    try:
        await migrate_service(conn, SPEC)
    finally:
        await conn.close()


async def producer_pool(infra: Infra, size: int) -> asyncpg.Pool:
    return await create_pool(
        infra.service_dsn, schema=SPEC.schema, application="bench-producer", min_size=size, max_size=size
    )


# --- raw baseline ----------------------------------------------------------------------------


async def provision_raw(js: JetStreamContext) -> None:
    await delete_stream(js, STREAM.name)
    await js.add_stream(stream_config(STREAM))
    decl = ConsumerDecl(
        durable=RAW_DURABLE,
        stream=STREAM.name,
        filter_subjects=EFFECTS.filter_subjects,
        max_ack_pending=EFFECTS.max_ack_pending,
        ack_wait_seconds=EFFECTS.ack_wait_seconds,
    )
    await js.add_consumer(STREAM.name, consumer_config(decl))


async def publish_for(js: JetStreamContext, messages: RawMessages, seconds: float, window: int) -> int:
    """publish_async without a stop, awaiting the PubAcks of each window before the next but one."""
    subject = messages.subject
    source = iter(messages)
    sent = 0
    previous: list[asyncio.Future[Any]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        current = []
        for _ in range(window):
            payload, headers = next(source)
            current.append(await js.publish_async(subject, payload, headers=headers))
        if previous:
            await asyncio.gather(*previous)
            sent += len(previous)
        previous = current
    await asyncio.gather(*previous)
    return sent + len(previous)


async def raw_consumer_role(url: str) -> None:
    """Child process: fetch(200) + ack() until terminated."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    sub = await js.pull_subscribe_bind(durable=RAW_DURABLE, stream=STREAM.name)
    print("ready", flush=True)
    while True:
        try:
            msgs = await sub.fetch(200, timeout=1.0)
        except (TimeoutError, nats.errors.TimeoutError):
            continue
        for msg in msgs:
            await msg.ack()


@dataclass
class RawResult:
    publish_only: float = 0.0
    published: float = 0.0
    consumed: float = 0.0
    drained_after: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)


async def raw_baseline(infra: Infra, args: argparse.Namespace, logs: Path) -> RawResult:
    result = RawResult()
    messages = RawMessages()
    nc = await nats.connect(infra.nats.url)
    js = nc.jetstream(publish_async_max_pending=max(4000, 2 * args.publish_window))
    try:
        # publish alone (nobody consuming), a shorter run
        await provision_raw(js)
        seconds = min(args.duration, 10.0)
        started = time.monotonic()
        sent = await publish_for(js, messages, seconds, args.publish_window)
        result.publish_only = sent / (time.monotonic() - started)
        say(f"raw publish only: {sent:,} in {seconds:.0f}s = {fmt_rate(result.publish_only)}")

        # publish and consume together, consumer in its own process
        await provision_raw(js)
        consumer = spawn(
            [sys.executable, str(HERE / "run.py"), "--role", "raw-consumer", "--nats-url", infra.nats.url],
            logs / "raw-consumer.log",
        )
        try:
            await wait_line(consumer, "ready")
            meter = CpuMeter(
                {
                    "publisher": (os.getpid(), False),
                    "raw consumer": (consumer.pid, False),
                    "nats-server": (infra.nats.pid or 0, False),
                    "postgres": (infra.cluster.pid or 0, True),
                }
            )
            meter.start()
            started = time.monotonic()
            sent = await publish_for(js, messages, args.duration, args.publish_window)
            elapsed = time.monotonic() - started
            consumed = await acked_seq(js, STREAM.name, RAW_DURABLE)
            result.cpu = meter.stop()
            result.published = sent / elapsed
            result.consumed = consumed / elapsed
            await poll_until(lambda: acked_seq(js, STREAM.name, RAW_DURABLE), sent)
            result.drained_after = time.monotonic() - started - elapsed
        finally:
            stop_child(consumer)
        say(
            f"raw publish + consume: published {fmt_rate(result.published)}, "
            f"consumed {fmt_rate(result.consumed)} ({sent:,} events; backlog drained "
            f"{result.drained_after:.1f}s later); CPU {cpu_text(result.cpu)}"
        )
        await delete_stream(js, STREAM.name)
    finally:
        await nc.close()
    return result


# --- pipeline --------------------------------------------------------------------------------


class Producers:
    """Tasks committing pings + events in transactions of ``batch`` as fast as they can; with
    ``max_backlog``, only while fewer than that many committed events wait for their effect
    (closed loop: the offered load is what the pipeline sustains, not a flood that starves it)."""

    def __init__(self, pool: asyncpg.Pool, prefix: str, batch: int, max_backlog: int = 0) -> None:
        from probe_service.service import PingService

        self.service = PingService(pool, Outbox(SOURCE))
        self.prefix = prefix
        self.batch = batch
        self.max_backlog = max_backlog
        self.committed = 0
        self.effected = 0  # kept current by the sampler
        self.transactions = 0
        self.throttled = 0.0
        self.latencies: list[float] = []
        self.stop = asyncio.Event()

    async def _one(self, worker: int) -> None:
        n = 0
        while not self.stop.is_set():
            if self.max_backlog and self.committed - self.effected >= self.max_backlog:
                await asyncio.sleep(0.005)
                self.throttled += 0.005
                continue
            pings = [(f"{self.prefix}{worker}-{n:07d}-{i}", i) for i in range(self.batch)]
            started = time.perf_counter()
            await self.service.record_batch(pings)
            self.latencies.append(time.perf_counter() - started)
            self.committed += self.batch
            self.transactions += 1
            n += 1

    async def run_for(self, workers: int, seconds: float, during: Callable[[], Awaitable[None]]) -> float:
        """Run ``workers`` tasks for ``seconds`` (with ``during`` alongside); returns the elapsed time."""
        tasks = [asyncio.create_task(self._one(w)) for w in range(workers)]
        watcher = asyncio.create_task(during())
        started = time.monotonic()
        try:
            await asyncio.sleep(seconds)
        finally:
            self.stop.set()
            elapsed = time.monotonic() - started
            await asyncio.gather(*tasks)
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        return elapsed


class ServiceProcess:
    """The probe service as deployed: uvicorn running the app (relay + consumer runner)."""

    def __init__(self, infra: Infra, log: Path, workers: int = 1, outbox_batch: int | None = None) -> None:
        self.infra = infra
        self.log = log
        self.workers = workers
        self.outbox_batch = outbox_batch
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(SUPPORT),
            "SPICADB_DATABASE_URL": self.infra.service_dsn,
            "SPICADB_NATS_URL": self.infra.nats.url,
            "SPICADB_ENVIRONMENT": "test",
            "SPICADB_LOG_LEVEL": "WARNING",
        }
        if self.outbox_batch:
            env["SPICADB_OUTBOX_BATCH"] = str(self.outbox_batch)
        args = [sys.executable, "-m", "uvicorn", "--factory", "probe_service.app:create_app"]
        args += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        if self.workers > 1:
            args += ["--workers", str(self.workers)]
        self.proc = spawn(args, self.log, env, talks=False)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def wait_ready(self, timeout: float = 60.0) -> None:
        url = f"http://127.0.0.1:{self.port}/health/ready"

        def ready() -> bool:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    return bool(response.status == 200)
            except OSError:
                return False

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited with {self.proc.returncode}; see {self.log}")
            if await asyncio.to_thread(ready):
                return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"service not ready after {timeout}s; see {self.log}")

    def stop(self) -> None:
        stop_child(self.proc)


async def sample_loop(
    js: JetStreamContext, producers: Producers, timeline: Timeline, base: Sample, every: float = 1.0
) -> None:
    """Record progress every ``every`` s; refresh the producers' view of effects every 50 ms."""
    next_sample = time.monotonic()
    while True:
        producers.effected = await acked_seq(js, STREAM.name, EFFECTS.durable) - base.effected
        if time.monotonic() >= next_sample:
            relayed = await last_seq(js, STREAM.name)
            timeline.samples.append(
                Sample(time.monotonic(), producers.committed, relayed - base.relayed, producers.effected)
            )
            next_sample += every
        await asyncio.sleep(0.05)


async def counters(js: JetStreamContext) -> Sample:
    return Sample(
        time.monotonic(),
        0,
        await last_seq(js, STREAM.name),
        await acked_seq(js, STREAM.name, EFFECTS.durable),
    )


async def wait_effected(
    js: JetStreamContext, pool: asyncpg.Pool, prefix: str, base: Sample, expected: int, stall: float = 30.0
) -> float:
    """Wait until the ``expected`` events of ``prefix`` have their effect; fail after ``stall``
    seconds without progress. Returns when that happened (monotonic).

    The consumer's ack floor is the cheap signal; the effects themselves are counted before
    saying done, because a re-published event (a relay stopped between publish and mark,
    beyond the duplicate window) is a second stream message acknowledged without effect."""
    last, last_progress = -1, time.monotonic()
    while True:
        done = await acked_seq(js, STREAM.name, EFFECTS.durable) - base.effected
        if done >= expected:
            done = await pool.fetchval("SELECT count(*) FROM ping_effect WHERE ping_id LIKE $1", prefix + "%")
            if done >= expected:
                return time.monotonic()
        if done != last:
            last, last_progress = done, time.monotonic()
        elif time.monotonic() - last_progress > stall:
            raise RuntimeError(f"pipeline stalled: {done:,} of {expected:,} events effected")
        await asyncio.sleep(0.05)


async def wait_published(pool: asyncpg.Pool, timeout: float = 30.0) -> None:
    """Until the relay has marked every row it published (before it is stopped)."""
    deadline = time.monotonic() + timeout
    while await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"):
        if time.monotonic() > deadline:
            raise RuntimeError("outbox rows still unpublished")
        await asyncio.sleep(0.05)


@dataclass
class OnceCheck:
    committed: int
    pings: int
    effects: int
    distinct: int
    dead_letters: int

    @property
    def ok(self) -> bool:
        return self.committed == self.pings == self.effects == self.distinct and self.dead_letters == 0

    def text(self) -> str:
        return (
            f"{self.committed:,} committed, {self.pings:,} pings, {self.effects:,} effects, "
            f"{self.distinct:,} distinct, {self.dead_letters} dead letters"
        )


async def check_once(pool: asyncpg.Pool, prefix: str, committed: int) -> OnceCheck:
    pattern = prefix + "%"
    row = await pool.fetchrow(
        "SELECT (SELECT count(*) FROM ping WHERE ping_id LIKE $1) AS pings,"
        " (SELECT count(*) FROM ping_effect WHERE ping_id LIKE $1) AS effects,"
        " (SELECT count(DISTINCT ping_id) FROM ping_effect WHERE ping_id LIKE $1) AS distinct_effects,"
        " (SELECT count(*) FROM dead_letter) AS dead",
        pattern,
    )
    assert row is not None
    check = OnceCheck(committed, row["pings"], row["effects"], row["distinct_effects"], row["dead"])
    if not check.ok:
        await diagnose(pool, prefix)
    return check


async def diagnose(pool: asyncpg.Pool, prefix: str) -> None:
    """Where the pings without exactly one effect got stuck."""
    row = await pool.fetchrow(
        "SELECT count(*) AS missing, count(*) FILTER (WHERE o.published_at IS NOT NULL) AS published,"
        " count(*) FILTER (WHERE i.event_id IS NOT NULL) AS in_inbox, min(o.stream_seq) AS first_seq,"
        " max(o.stream_seq) AS last_seq, min(p.ping_id) AS example"
        " FROM ping p LEFT JOIN outbox o ON o.aggregate_id = p.ping_id"
        " LEFT JOIN inbox i ON i.event_id = o.event_id AND i.consumer = $2"
        " WHERE p.ping_id LIKE $1 AND NOT EXISTS (SELECT 1 FROM ping_effect e WHERE e.ping_id = p.ping_id)",
        prefix + "%",
        EFFECTS.durable,
    )
    twice = await pool.fetchval(
        "SELECT count(*) FROM (SELECT ping_id FROM ping_effect WHERE ping_id LIKE $1"
        " GROUP BY ping_id HAVING count(*) > 1) AS d",
        prefix + "%",
    )
    say(
        f"exactly once FAILED for {prefix}*: without effect {dict(row or {})}; applied more than once {twice}"
    )


@dataclass
class PipelineResult:
    producers: int = 0
    batch: int = 0
    committed: float = 0.0
    relayed: float = 0.0
    effected: float = 0.0
    slowest_10s: float | None = None
    backlog_at_end: int = 0
    drained_after: float = 0.0
    end_to_end: float = 0.0
    commit_p50_ms: float = 0.0
    commit_p99_ms: float = 0.0
    once: dict[str, Any] = field(default_factory=dict)
    once_ok: bool = False
    cpu: dict[str, float] = field(default_factory=dict)


async def pipeline_throughput(
    infra: Infra,
    js: JetStreamContext,
    pool: asyncpg.Pool,
    service_pid: int,
    args: argparse.Namespace,
    prefix: str = "thr-",
) -> PipelineResult:
    producers = Producers(pool, prefix, args.batch, args.max_backlog)
    timeline = Timeline()
    base = await counters(js)
    meter = CpuMeter(
        {
            "producer": (os.getpid(), False),
            "service": (service_pid, True),
            "postgres": (infra.cluster.pid or 0, True),
            "nats-server": (infra.nats.pid or 0, False),
        }
    )
    meter.start()
    started = time.monotonic()
    elapsed = await producers.run_for(
        args.producers, args.duration, lambda: sample_loop(js, producers, timeline, base)
    )
    cpu = meter.stop()
    end = await counters(js)
    committed = producers.committed
    relayed, effected = end.relayed - base.relayed, end.effected - base.effected
    say(
        f"window closed: committed {committed:,}, relayed {relayed:,}, effected {effected:,}; "
        f"CPU {cpu_text(cpu)}; draining the backlog"
    )
    done_at = await wait_effected(js, pool, prefix, base, committed, stall=60.0)
    once = await check_once(pool, prefix, committed)
    slices = timeline.slice_rates("effected", 10.0)
    result = PipelineResult(
        producers=args.producers,
        batch=args.batch,
        committed=committed / elapsed,
        relayed=relayed / elapsed,
        effected=effected / elapsed,
        slowest_10s=min(slices) if slices else None,
        backlog_at_end=committed - effected,
        drained_after=done_at - started - elapsed,
        end_to_end=committed / (done_at - started),
        commit_p50_ms=1000 * percentile(producers.latencies, 0.5),
        commit_p99_ms=1000 * percentile(producers.latencies, 0.99),
        once=asdict(once),
        once_ok=once.ok,
        cpu=cpu,
    )
    say(
        f"pipeline: committed {fmt_rate(result.committed)}, relayed {fmt_rate(result.relayed)}, "
        f"effected {fmt_rate(result.effected)} (slowest 10 s: {fmt_rate(result.slowest_10s)}); "
        f"backlog {result.backlog_at_end:,} drained {result.drained_after:.1f}s after the window; "
        f"exactly once: {once.text()} -> {'ok' if once.ok else 'FAILED'}"
    )
    return result


@dataclass
class LagResult:
    rate: float = 0.0
    achieved: float = 0.0
    seconds: float = 0.0
    events: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    # from just before the producer's transaction (ping.recorded_at) to the effect
    from_start_p50_ms: float = 0.0
    from_start_p99_ms: float = 0.0
    from_start_max_ms: float = 0.0
    commit_p50_ms: float = 0.0
    commit_p99_ms: float = 0.0
    once_ok: bool = False
    cpu: dict[str, float] = field(default_factory=dict)


async def pipeline_lag(
    infra: Infra,
    js: JetStreamContext,
    pool: asyncpg.Pool,
    service_pid: int,
    args: argparse.Namespace,
    prefix: str = "lag-",
) -> LagResult:
    from probe_service.service import PingService

    service = PingService(pool, Outbox(SOURCE))
    seconds = min(args.duration, 30.0)
    warmup = min(2.0, seconds / 5)
    base = await counters(js)
    latencies: list[float] = []
    committed_at: dict[str, float] = {}  # ping id -> wall clock when its commit returned
    size = max(1, args.lag_batch)

    async def paced(name: str, count: int, keep: bool) -> float:
        """``count`` events in transactions of ``size`` (``record`` when 1, as an HTTP request
        does), started on an absolute schedule so that events flow at ``rate``."""
        pending: set[asyncio.Task[None]] = set()

        async def one(i: int) -> None:
            started = time.perf_counter()
            ids = [f"{name}{i:07d}"] if size == 1 else [f"{name}{i:07d}-{j}" for j in range(size)]
            if size == 1:
                await service.record(ids[0], i)
            else:
                await service.record_batch([(ping, j) for j, ping in enumerate(ids)])
            if keep:
                now = time.time()
                latencies.append(time.perf_counter() - started)
                committed_at.update(dict.fromkeys(ids, now))

        started = time.monotonic()
        for i in range(count // size):
            delay = started + i * size / args.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(i))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)
        return time.monotonic() - started

    warm = int(args.rate * warmup) // size * size  # fresh pooled connections prepare statements first
    await paced(f"warm-{prefix}", warm, keep=False)
    await wait_effected(js, pool, f"warm-{prefix}", base, warm)
    base = await counters(js)
    total = int(args.rate * seconds) // size * size
    meter = CpuMeter(
        {
            "producer": (os.getpid(), False),
            "service": (service_pid, True),
            "postgres": (infra.cluster.pid or 0, True),
            "nats-server": (infra.nats.pid or 0, False),
        }
    )
    meter.start()
    elapsed = await paced(prefix, total, keep=True)
    cpu = meter.stop()
    await wait_effected(js, pool, prefix, base, total)
    applied = await pool.fetch(
        "SELECT ping_id, extract(epoch FROM applied_at)::float8 AS at FROM ping_effect WHERE ping_id LIKE $1",
        prefix + "%",
    )
    lags = [1000 * (r["at"] - committed_at[r["ping_id"]]) for r in applied if r["ping_id"] in committed_at]
    row = await pool.fetchrow(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS p50,"
        " percentile_cont(0.99) WITHIN GROUP (ORDER BY d) AS p99, max(d) AS worst, count(*) AS n"
        " FROM (SELECT 1000 * extract(epoch FROM e.applied_at - p.recorded_at)::float8 AS d"
        " FROM ping p JOIN ping_effect e USING (ping_id) WHERE p.ping_id LIKE $1) AS lags",
        prefix + "%",
    )
    assert row is not None
    once = await check_once(pool, prefix, total)
    result = LagResult(
        rate=args.rate,
        achieved=total / elapsed,
        seconds=elapsed,
        events=total,
        p50_ms=percentile(lags, 0.5),
        p99_ms=percentile(lags, 0.99),
        max_ms=max(lags, default=float("nan")),
        from_start_p50_ms=row["p50"],
        from_start_p99_ms=row["p99"],
        from_start_max_ms=row["worst"],
        commit_p50_ms=1000 * percentile(latencies, 0.5),
        commit_p99_ms=1000 * percentile(latencies, 0.99),
        once_ok=once.ok,
        cpu=cpu,
    )
    say(
        f"lag at {result.achieved:,.0f} ev/s for {elapsed:.0f}s: commit-to-effect p50 {result.p50_ms:.1f} ms, "
        f"p99 {result.p99_ms:.1f} ms, max {result.max_ms:.1f} ms; from before the producer's transaction "
        f"p50 {result.from_start_p50_ms:.1f} ms, p99 {result.from_start_p99_ms:.1f} ms (producer commit p50 "
        f"{result.commit_p50_ms:.1f} ms, p99 {result.commit_p99_ms:.1f} ms); exactly once "
        f"{'ok' if once.ok else 'FAILED: ' + once.text()}; CPU {cpu_text(cpu)}"
    )
    return result


# --- where the time goes: each stage alone ----------------------------------------------------


async def stage_role(args: argparse.Namespace) -> None:
    """Child process: the relay and/or a consumer runner, wired as the app wires them.

    ``--stage`` is ``relay`` or ``consumer`` (the probe's consumer, with its batch handler)."""
    from probe_service.consumers import effects

    from spicadb_kit.events import Bus, ConsumerRunner, OutboxRelay
    from spicadb_kit.logs import configure_logging
    from spicadb_kit.settings import ServiceSettings

    stage: str = args.stage
    configure_logging("bench", json=False, level="WARNING")
    settings = ServiceSettings.from_env()
    pool = await create_pool(
        args.dsn,
        schema=SPEC.schema,
        application=f"bench-{stage}",
        min_size=settings.database_pool_min,
        max_size=settings.database_pool_max,
    )
    bus = Bus(args.nats_url, name=f"bench-{stage}")
    await bus.connect()
    workers: dict[str, Any] = {}
    if stage == "relay":
        workers["relay"] = OutboxRelay(
            pool,
            bus,
            schema=SPEC.schema,
            batch=settings.outbox_batch,
            poll_seconds=settings.outbox_poll_seconds,
            retention_seconds=settings.outbox_retention_seconds,
        )
    else:
        extra = {"batch": args.consumer_batch} if args.consumer_batch else {}
        workers["consumer"] = ConsumerRunner(effects, pool, bus, **extra)
    tasks = [asyncio.create_task(w.run()) for w in workers.values()]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    profiler = cProfile.Profile() if args.profile_out else None
    print("ready", flush=True)
    if profiler:
        profiler.enable()
    await stop.wait()
    if profiler:
        profiler.disable()
        profiler.dump_stats(str(args.profile_out))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps({k: asdict(w.stats) for k, w in workers.items()}, default=str), flush=True)
    await bus.close()
    await pool.close()


def stage_command(infra: Infra, stage: str, profile: Path | None = None) -> list[str]:
    cmd = [sys.executable, str(HERE / "run.py"), "--role", "stage", "--stage", stage]
    cmd += ["--dsn", infra.service_dsn, "--nats-url", infra.nats.url]
    if _consumer_batch:
        cmd += ["--consumer-batch", str(_consumer_batch)]
    if profile:
        cmd += ["--profile-out", str(profile)]
    return cmd


def child_stats(proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    """The last JSON line a stopped child printed (its runners' statistics)."""
    assert proc.stdout is not None
    lines = proc.stdout.read().decode().strip().splitlines()
    with contextlib.suppress(IndexError, ValueError):
        return dict(json.loads(lines[-1]))
    return {}


def profile_summary(path: Path, limit: int = 18) -> str:
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("tottime").print_stats(limit)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    header = next((line.strip() for line in lines if "function calls" in line), "")
    note = "(coroutines: ncalls counts resumptions, not calls)"
    return "\n".join([f"{header} {note}", *lines[start:]])


@dataclass
class StageRun:
    rate: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass
class StageResult:
    events: int = 0
    runs: dict[str, StageRun] = field(default_factory=dict)
    profiles: dict[str, str] = field(default_factory=dict)


STAGE_LABELS = {
    "commit": "commit alone (no relay running)",
    "relay": "relay alone (outbox -> stream)",
    "consumer": "consumer alone (stream -> effects)",
}


async def stages(
    infra: Infra, js: JetStreamContext, pool: asyncpg.Pool, args: argparse.Namespace, logs: Path
) -> StageResult:
    """With the service stopped: commit alone (a backlog builds in the outbox), then the relay
    alone drains it into the stream, then the consumer alone applies it."""
    result = StageResult()
    seconds = min(args.duration, 20.0)
    producers = Producers(pool, "brk-", args.batch)
    meter = CpuMeter({"producer": (os.getpid(), False), "postgres": (infra.cluster.pid or 0, True)})
    meter.start()

    async def idle() -> None:
        await asyncio.Event().wait()

    elapsed = await producers.run_for(args.producers, seconds, idle)
    result.events = total = producers.committed
    result.runs["commit"] = StageRun(total / elapsed, meter.stop())
    say(f"stage commit alone: {fmt_rate(total / elapsed)}; CPU {cpu_text(result.runs['commit'].cpu)}")
    for stage in ("relay", "consumer"):
        profile = logs / f"{stage}.pstats" if args.profile else None
        before = await counters(js)

        async def done(stage: str = stage, before: Sample = before) -> int:
            if stage == "relay":
                return await last_seq(js, STREAM.name) - before.relayed
            return await acked_seq(js, STREAM.name, EFFECTS.durable) - before.effected

        child = spawn(stage_command(infra, stage, profile=profile), logs / f"stage-{stage}.log")
        try:
            await wait_line(child, "ready")
            meter = CpuMeter(
                {
                    stage: (child.pid, False),
                    "postgres": (infra.cluster.pid or 0, True),
                    "nats-server": (infra.nats.pid or 0, False),
                }
            )
            meter.start()
            started = time.monotonic()
            await poll_until(done, total, every=0.02)
            run = StageRun(total / (time.monotonic() - started), meter.stop())
            if stage == "relay":
                await wait_published(pool)
        finally:
            stop_child(child)
        run.stats = child_stats(child)
        result.runs[stage] = run
        say(
            f"stage {stage}: {fmt_rate(run.rate)} ({total:,} events); CPU {cpu_text(run.cpu)}; stats {run.stats}"
        )
        if profile and profile.exists():
            result.profiles[stage] = profile_summary(profile)
        if stage == "consumer":
            once = await check_once(pool, "brk-", total)
            if not once.ok:
                say(f"stage run exactly once FAILED: {once.text()}")
    return result


# --- the report --------------------------------------------------------------------------------


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append(" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def verdict(ok: bool | None) -> str:
    return "not run" if ok is None else "meets" if ok else "short"


def ratio_text(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}x" if value and baseline else "-"


def checks_of(
    args: argparse.Namespace, raw: RawResult, pipe: PipelineResult, lag: LagResult
) -> list[dict[str, Any]]:
    """The table's rows; a verdict only where the targets give one."""
    ran_pipe, ran_lag = pipe.producers > 0, lag.events > 0
    ratio = pipe.effected / raw.consumed if raw.consumed else None
    throughput_ok = (
        None if not ran_pipe else pipe.effected >= TARGET_RATE and (ratio is None or ratio >= TARGET_RATIO)
    )
    once_ok = (
        None if not (ran_pipe or ran_lag) else (pipe.once_ok or not ran_pipe) and (lag.once_ok or not ran_lag)
    )
    lag_ok = None if not ran_lag else lag.p99_ms < TARGET_P99_MS and lag.achieved >= 0.95 * args.rate
    effects = pipe.once.get("effects", 0) + (lag.events if lag.once_ok else 0)
    committed = pipe.once.get("committed", 0) + lag.events
    return [
        {
            "metric": "pipeline throughput (effected)",
            "value": fmt_rate(pipe.effected),
            "baseline": f"raw JetStream {fmt_rate(raw.consumed)}",
            "ratio": ratio_text(pipe.effected, raw.consumed),
            "target": f">= {TARGET_RATIO}x and >= {TARGET_RATE:,.0f} ev/s for {args.duration:.0f} s",
            "verdict": verdict(throughput_ok),
        },
        {
            "metric": "pipeline committed",
            "value": fmt_rate(pipe.committed),
            "baseline": f"raw publish {fmt_rate(raw.published)}",
            "ratio": ratio_text(pipe.committed, raw.published),
            "target": "(context)",
            "verdict": "",
        },
        {
            "metric": "pipeline end to end (to last effect)",
            "value": fmt_rate(pipe.end_to_end),
            "baseline": f"raw JetStream {fmt_rate(raw.consumed)}",
            "ratio": ratio_text(pipe.end_to_end, raw.consumed),
            "target": "(context)",
            "verdict": "",
        },
        {
            "metric": "exactly once (throughput + lag runs)",
            "value": f"{effects:,} effects / {committed:,} committed",
            "baseline": "-",
            "ratio": "-",
            "target": "1 effect per committed event, 0 dead letters",
            "verdict": verdict(once_ok),
        },
        {
            "metric": f"commit-to-effect lag p99 at {lag.achieved:,.0f} ev/s",
            "value": f"{lag.p99_ms:.1f} ms",
            "baseline": "-",
            "ratio": "-",
            "target": f"< {TARGET_P99_MS:.0f} ms at {args.rate:,.0f} ev/s",
            "verdict": verdict(lag_ok),
        },
        {
            "metric": "commit-to-effect lag p50 / max",
            "value": f"{lag.p50_ms:.1f} / {lag.max_ms:.1f} ms",
            "baseline": "-",
            "ratio": "-",
            "target": "(context)",
            "verdict": "",
        },
    ]


def figures_of(args: argparse.Namespace, raw: RawResult, pipe: PipelineResult, lag: LagResult) -> Figures:
    """The figures of the JSON document; exactly once broken is a failed figure (a wrong answer)."""
    figures = Figures("pipeline")
    if raw.consumed:
        figures.add("raw JetStream publish + consume", raw.consumed, "events/s")
    if pipe.producers > 0:
        ratio = pipe.effected / raw.consumed if raw.consumed else None
        met = pipe.effected >= TARGET_RATE and (ratio is None or ratio >= TARGET_RATIO)
        target = f">= {TARGET_RATIO}x and >= {TARGET_RATE:,.0f} events/s for {args.duration:.0f} s"
        raw_label = "raw JetStream publish + consume"
        figures.add("pipeline throughput (effected)", pipe.effected, "events/s", target=target, met=met,
                    baseline=raw.consumed or None, baseline_label=raw_label)  # fmt: skip
        figures.add("pipeline committed", pipe.committed, "events/s", baseline=raw.published or None,
                    baseline_label="raw publish")  # fmt: skip
        figures.add("pipeline producer commit p99", pipe.commit_p99_ms, "ms")
    if lag.events > 0:
        met = lag.p99_ms < TARGET_P99_MS and lag.achieved >= 0.95 * args.rate
        figures.add(f"commit-to-effect lag p99 at {args.rate:,.0f} events/s", lag.p99_ms, "ms",
                    target=f"< {TARGET_P99_MS:.0f} ms at {args.rate:,.0f} events/s", met=met)  # fmt: skip
        figures.add("commit-to-effect lag p50", lag.p50_ms, "ms")
    for name, ran, once_ok in (
        ("pipeline", pipe.producers > 0, pipe.once_ok),
        ("lag", lag.events > 0, lag.once_ok),
    ):
        if ran and not once_ok:
            figures.failed(
                f"exactly once ({name} run)", "effects and committed events differ, or dead letters"
            )
    return figures


def report(
    args: argparse.Namespace,
    raw: RawResult,
    pipe: PipelineResult,
    lag: LagResult,
    stage: StageResult | None,
) -> tuple[str, list[dict[str, Any]]]:
    checks = checks_of(args, raw, pipe, lag)
    rows = [("metric", "value", "baseline", "ratio", "target", "verdict")]
    rows += [tuple(str(c[k]) for k in rows[0]) for c in checks]
    flow = (
        "unbounded"
        if not args.max_backlog
        else f"producers pause above {args.max_backlog:,} events awaiting effect"
    )
    lag_tx = (
        "single-event transactions" if args.lag_batch <= 1 else f"transactions of {args.lag_batch} events"
    )
    out = [
        "",
        "SPICA-DB event pipeline benchmark",
        f"  PostgreSQL durable: {', '.join(f'{k}={v}' for k, v in BENCH_PG_SETTINGS.items())}",
        f"  NATS JetStream: file stream R1, sync_interval={NATS_SYNC_INTERVAL} (server default)",
        f"  raw baseline: publish_async (window {args.publish_window}) in this process + fetch(200)/ack in a "
        "second process, same payload bytes and headers",
        f"  pipeline: {args.producers} producer tasks x transactions of {args.batch} (record_batch) in this "
        f"process ({flow}); probe service (uvicorn, {args.service_workers} worker(s): outbox relay + consumer "
        "runner) in another",
        f"  duration {args.duration:.0f} s; raw publish-only {fmt_rate(raw.publish_only)}; machine: "
        f"{os.cpu_count()} cores",
        "",
        table(rows),
        "",
        f"  slowest 10 s of effects: {fmt_rate(pipe.slowest_10s)}; relayed {fmt_rate(pipe.relayed)}; "
        f"backlog at end of window {pipe.backlog_at_end:,} (drained in {pipe.drained_after:.1f} s); "
        f"producer commit of {pipe.batch} events p50 {pipe.commit_p50_ms:.1f} ms, p99 {pipe.commit_p99_ms:.1f} ms",
        f"  lag: {lag_tx}; commit-to-effect = ping_effect.applied_at (clock_timestamp() in the consumer's tx) "
        "- when the producer's commit returned;",
        f"    from before the producer's tx (ping.recorded_at) p50 {lag.from_start_p50_ms:.1f} ms, p99 "
        f"{lag.from_start_p99_ms:.1f} ms, max {lag.from_start_max_ms:.1f} ms; producer commit p50 "
        f"{lag.commit_p50_ms:.1f} ms, p99 {lag.commit_p99_ms:.1f} ms",
        f"  CPU, raw run:      {cpu_text(raw.cpu)}",
        f"  CPU, pipeline run: {cpu_text(pipe.cpu)}",
        f"  CPU, lag run:      {cpu_text(lag.cpu)}",
    ]
    if stage is not None:
        out += ["", f"Where the time goes (each stage alone, service stopped, {stage.events:,} events):"]
        width = max(len(label) for label in STAGE_LABELS.values())
        for name, run in stage.runs.items():
            out.append(
                f"  {STAGE_LABELS[name].ljust(width)}  {fmt_rate(run.rate):>12}  CPU {cpu_text(run.cpu)}"
            )
        for name, text in stage.profiles.items():
            out += ["", f"cProfile of the {name} stage (by own time):", text]
    return "\n".join(out), checks


# --- main ---------------------------------------------------------------------------------------


async def quiet_check(wait: float, seconds: float = 2.0, limit: float = 20.0) -> float:
    """CPU used by other processes before we start (a busy box skews every figure); waits up
    to ``wait`` seconds for it to fall under ``limit`` %."""
    deadline = time.monotonic() + wait
    while True:
        meter = CpuMeter({})
        meter.start()
        await asyncio.sleep(seconds)
        usage = meter.stop()
        busy = 100 * (os.cpu_count() or 1) - usage["(idle)"] - usage["(steal)"]
        if busy <= limit:
            return busy
        if time.monotonic() >= deadline:
            say(f"WARNING: other processes use {busy:.0f}% CPU; every figure will be skewed")
            return busy
        say(f"other processes use {busy:.0f}% CPU; waiting for a quieter machine")
        await asyncio.sleep(8)


async def bench(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    logs = base / "logs"
    logs.mkdir()
    busy_before = await quiet_check(args.wait_quiet)
    say(f"starting PostgreSQL (durable) and NATS under {base}")
    infra = start_infra(base)
    say(
        f"PostgreSQL pid {infra.cluster.pid} port {infra.cluster.port}; NATS pid {infra.nats.pid} at {infra.nats.url}"
    )
    await install_probe(infra)

    raw = await raw_baseline(infra, args, logs) if "raw" in args.phases else RawResult()
    pipe, lag, stage = PipelineResult(), LagResult(), None
    nc = await nats.connect(infra.nats.url)
    js = nc.jetstream()
    service = ServiceProcess(infra, logs / "service.log", args.service_workers, args.outbox_batch)
    pool = await producer_pool(infra, max(args.producers, 16) + 2)
    try:
        await provision(js, [SPEC])
        if "pipeline" in args.phases or "lag" in args.phases:
            service.start()
            await service.wait_ready()
            say(f"probe service ready (pid {service.pid})")
        if "pipeline" in args.phases:
            say(f"pipeline run for {args.duration:.0f}s")
            pipe = await pipeline_throughput(infra, js, pool, service.pid, args)
        if "lag" in args.phases:
            lag = await pipeline_lag(infra, js, pool, service.pid, args)
        service.stop()
        short = [check["metric"] for check in checks_of(args, raw, pipe, lag) if check["verdict"] == "short"]
        if args.breakdown or (short and not args.no_breakdown):
            say(f"short: {', '.join(short)}; measuring each stage alone" if short else "each stage alone")
            stage = await stages(infra, js, pool, args, logs)
    finally:
        service.stop()
        await pool.close()
        await nc.close()
    text, checks = report(args, raw, pipe, lag, stage)
    print(text, flush=True)
    args.figures = figures_of(args, raw, pipe, lag)
    return {
        "settings": {
            "duration": args.duration,
            "rate": args.rate,
            "batch": args.batch,
            "lag_batch": args.lag_batch,
            "producers": args.producers,
            "max_backlog": args.max_backlog,
            "service_workers": args.service_workers,
            "outbox_batch": args.outbox_batch,
            "publish_window": args.publish_window,
            "postgres": BENCH_PG_SETTINGS,
            "nats_sync_interval": NATS_SYNC_INTERVAL,
            "cores": os.cpu_count(),
            "other_processes_cpu_before": busy_before,
        },
        "raw": asdict(raw),
        "pipeline": asdict(pipe),
        "lag": asdict(lag),
        "stages": asdict(stage) if stage else None,
        "checks": checks,
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per throughput run (60)")
    parser.add_argument("--quick", action="store_true", help="a 10 s run")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, breakdown included: checks the bench runs (exit 1 only when a figure failed)",
    )
    parser.add_argument("--rate", type=float, default=1000.0, help="events/s of the lag run (1000)")
    parser.add_argument("--batch", type=int, default=100, help="events per producer transaction (100)")
    parser.add_argument(
        "--lag-batch", type=int, default=1, help="events per transaction in the lag run (1: one per request)"
    )
    parser.add_argument("--producers", type=int, default=4, help="concurrent producer tasks (4)")
    parser.add_argument("--publish-window", type=int, default=1000, help="raw publish_async window (1000)")
    parser.add_argument(
        "--service-workers", type=int, default=1, help="uvicorn workers of the probe service (1)"
    )
    parser.add_argument("--outbox-batch", type=int, help="SPICADB_OUTBOX_BATCH of the service (kit default)")
    parser.add_argument(
        "--consumer-batch",
        type=int,
        help="fetch size of the stage/what-if consumers (the app has no setting for it; kit default 200)",
    )
    parser.add_argument(
        "--max-backlog",
        type=int,
        default=20_000,
        help="producers pause while this many committed events await their effect; 0: flood (20000)",
    )
    parser.add_argument(
        "--wait-quiet", type=float, default=0.0, help="wait up to S seconds for other processes to calm down"
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    parser.add_argument("--breakdown", action="store_true", help="measure each stage alone even if all meet")
    parser.add_argument("--no-breakdown", action="store_true", help="never measure stages alone")
    parser.add_argument("--profile", action="store_true", help="cProfile the relay and the consumer stages")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, data)")
    parser.add_argument(
        "--phases",
        default="raw,pipeline,lag",
        help="comma-separated subset of raw,pipeline,lag (all three)",
    )
    # internal: the child processes
    parser.add_argument("--role", choices=["raw-consumer", "stage"], help=argparse.SUPPRESS)
    parser.add_argument(
        "--stage",
        choices=["relay", "consumer"],
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    parser.add_argument("--nats-url", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = 10.0
    if args.smoke:
        args.duration, args.rate, args.max_backlog, args.producers = 1.0, 100.0, 1000, 1
        args.breakdown = True  # the stages' processes run too: the path a short figure takes
    if args.profile:
        args.breakdown = True
    args.phases = {p.strip() for p in args.phases.split(",") if p.strip()}
    global _consumer_batch
    _consumer_batch = args.consumer_batch
    if args.outbox_batch:  # the service and the stage processes read it from their environment
        os.environ["SPICADB_OUTBOX_BATCH"] = str(args.outbox_batch)
    return args


def run_loop(coro: Any) -> Any:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.role == "raw-consumer":
        run_loop(raw_consumer_role(args.nats_url))
        return 0
    if args.role == "stage":
        run_loop(stage_role(args))
        return 0

    def terminated(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminated)
    # Ctrl-C even when started in the background (a shell then ignores SIGINT for us)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    base = Path(tempfile.mkdtemp(prefix="spicadb-bench-"))
    base.chmod(0o755)  # the postgres user must reach its data folder
    status = 1
    try:
        results = run_loop(bench(args, base))
        status = finish(args.figures, results, args.json, args.smoke)
    except KeyboardInterrupt:
        say("interrupted")
        status = 130
    finally:
        for child in _children:
            stop_child(child)
        for infra in _infra:
            infra.nats.stop()
            infra.cluster.stop()
        if args.keep:
            say(f"logs and data kept in {base}")
        elif status != 0:  # the logs tell what went wrong; the data are only big
            shutil.rmtree(base / "pg" / "pgdata", ignore_errors=True)
            shutil.rmtree(base / "nats" / "jetstream", ignore_errors=True)
            say(f"logs kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
