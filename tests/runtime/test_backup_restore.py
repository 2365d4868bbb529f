"""`spicadb backup` of a running platform and `spicadb restore` into a new data folder, as an operator
runs them: the platform restored from the backup has the same rows, the same files (sha256) and
consumers that resume where they stood, applying nothing twice and missing nothing.

Four services run under `spicadb run` (programmes, nightlogs, oifits, oidb: a night log's observation
goes to programmes and oifits, a DRS push's granule to oidb), tokens from a key set the test serves. The
backup is taken while events are in flight, on purpose: two consumers are held (SIGSTOP) with an
observation unacknowledged in the streams' snapshot; between the snapshot and the dump one of them is
released and applies it, and another observation is published and applied (so the restored streams lack
it while the restored database has applied it); the other consumer stays held through the dump. The
restored platform must skip what was applied, apply the rest once, and publish again what the streams
lacked."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
import nats
import pytest
from nightlogs_support import INGEST, csv_log, line, mjd_at
from oifits_support import oifits

from spicadb_kit.infra import free_port, pid_alive
from spicadb_kit.runtime.backup import Source, take_backup
from spicadb_kit.settings import RuntimeSettings
from spicadb_kit.spec import discover_services
from spicadb_kit.testing.tokens import TokenFactory

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SPICADB = Path(sys.executable).parent / "spicadb"
SERVICES = ("programmes", "nightlogs", "oifits", "oidb")
VEGA = {"name": "Vega", "ra": 279.2347, "dec": 38.7837}
# the kit's event bookkeeping, compared on its own terms (a restored relay marks its rows again)
OUTBOX = "outbox"


class KeySet:
    """The test issuer's public keys at /.well-known/jwks.json, on a thread of its own (the platform's
    services fetch them whatever the test's event loop is doing)."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        body = json.dumps(jwks).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200 if self.path == "/.well-known/jwks.json" else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Platform:
    """`spicadb run` on a data folder, on free ports; stopped by `spicadb stop`, then by its pids."""

    def __init__(self, data: Path, keys: KeySet, tokens: TokenFactory) -> None:
        self.data = data
        self.env = {
            **os.environ,
            "SPICADB_DATA": str(data),
            "SPICADB_PG_PORT": str(free_port()),
            "SPICADB_NATS_PORT": str(free_port()),
            "SPICADB_NATS_MONITOR_PORT": str(free_port()),
            "SPICADB_RUN_ONLY": ",".join(SERVICES),
            "SPICADB_JWKS_URL": keys.url,
            "SPICADB_TOKEN_ISSUER": tokens.issuer,
            "SPICADB_OUTBOX_POLL_SECONDS": "0.2",
            "SPICADB_LOG_FORMAT": "json",
            **{spec.port_variable: str(free_port()) for spec in discover_services()},
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.pids: list[int] = []
        self.log: IO[bytes] | None = None

    def start(self) -> None:
        self.log = (self.data.parent / f"{self.data.name}.run.log").open("ab")
        self.proc = subprocess.Popen(
            [str(SPICADB), "run"],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def table(self) -> dict[str, dict[str, Any]]:
        path = self.data / "endpoints.json"
        return json.loads(path.read_text()) if path.exists() else {}

    async def ready(self, timeout: float = 90.0) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            assert self.proc.poll() is None, "spicadb run exited: see its log"
            table = self.table()
            names = {"postgres", "nats", *SERVICES}
            if names <= set(table) and all(table[n]["state"] == "ready" for n in names):
                self.pids = [int(e["pid"]) for e in table.values() if e.get("pid")]
                return table
            await asyncio.sleep(0.3)
        raise AssertionError(f"the platform on {self.data} was not ready in {timeout} s")

    def url(self, name: str) -> str:
        return str(self.table()[name]["url"])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            subprocess.run([str(SPICADB), "stop"], env=self.env, capture_output=True, timeout=90)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for pid in self.pids + [int(e["pid"]) for e in self.table().values() if e.get("pid")]:
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        if self.log is not None:
            self.log.close()


@pytest.fixture
def keys_and_tokens() -> Iterator[tuple[KeySet, TokenFactory]]:
    tokens = TokenFactory()
    keys = KeySet(tokens.jwks)
    yield keys, tokens
    keys.close()


@pytest.fixture
def platforms(
    infra_dir: Path, keys_and_tokens: tuple[KeySet, TokenFactory]
) -> Iterator[Callable[[str], Platform]]:
    started: list[Platform] = []
    keys, tokens = keys_and_tokens
    base = infra_dir / f"backup-{time.monotonic_ns()}"
    base.mkdir()
    base.chmod(0o755)

    def make(name: str) -> Platform:
        platform = Platform(base / name, keys, tokens)
        started.append(platform)
        return platform

    yield make
    for platform in reversed(started):
        platform.stop()


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value or time.monotonic() > deadline:
            assert value, f"not so after {timeout} s"
            return value
        await asyncio.sleep(0.2)


async def scalar(platform: Platform, sql: str) -> Any:
    conn = await asyncpg.connect(platform.url("postgres"))
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


# observations logged in the backup that oifits neither applied nor passed over for a newer version
UNAPPLIED_OBSERVATIONS = """
SELECT count(*) FROM nightlogs.outbox o
WHERE o.event_type LIKE '%.observation.logged.%'
  AND NOT EXISTS (SELECT 1 FROM oifits.inbox i WHERE i.consumer = 'oifits_night_logs' AND i.event_id = o.event_id)
  AND NOT EXISTS (
      SELECT 1 FROM oifits.consumer_position p
      WHERE p.consumer = 'oifits_night_logs' AND p.aggregate_id::text = o.aggregate_id::text
        AND p.last_version >= o.aggregate_version)
"""


async def settled(platform: Platform, but: str | None = None) -> bool:
    """Nothing in flight: every outbox published, every durable with nothing pending or unacknowledged
    (``but``: a held service, whose durables and outbox are left out)."""
    schemas = [s.replace("-", "_") for s in SERVICES if s != but]
    waiting = sum([
        await scalar(platform, f"SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL") for s in schemas
    ])  # fmt: skip
    nc = await nats.connect(platform.url("nats"))
    try:
        js = nc.jetstream()
        busy = 0
        for stream in await js.streams_info():
            for consumer in await js.consumers_info(str(stream.config.name)):
                if but is None or not consumer.name.startswith(f"{but}_"):
                    busy += consumer.num_pending + consumer.num_ack_pending
    finally:
        await nc.close()
    return waiting == 0 and busy == 0


async def messages(platform: Platform) -> dict[str, int]:
    """Each stream's message count."""
    nc = await nats.connect(platform.url("nats"))
    try:
        return {str(i.config.name): i.state.messages for i in await nc.jetstream().streams_info()}
    finally:
        await nc.close()


async def unacknowledged(platform: Platform, durable: str) -> int:
    """Events the durable of the night logs' stream has not acknowledged (pending or delivered)."""
    nc = await nats.connect(platform.url("nats"))
    try:
        info = await nc.jetstream().consumer_info("SPICADB_NIGHTLOGS", durable)
        return int(info.num_pending + info.num_ack_pending)
    finally:
        await nc.close()


async def done(platform: Platform, durable: str) -> bool:
    return await unacknowledged(platform, durable) == 0


async def fingerprint(platform: Platform) -> dict[str, tuple[int, str]]:
    """Every table of the services' schemas: its row count and a hash of its rows (sorted), the
    outbox without the relay's own marks."""
    conn = await asyncpg.connect(platform.url("postgres"))
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema = ANY($1::text[]) AND table_type = 'BASE TABLE' ORDER BY 1, 2",
            list(SERVICES),
        )
        found = {}
        for t in tables:
            name = f'"{t["table_schema"]}"."{t["table_name"]}"'
            rows = "event_id::text" if t["table_name"] == OUTBOX else "r::text"
            found[name] = tuple(await conn.fetchrow(
                f"SELECT count(*), coalesce(md5(string_agg({rows}, '|' ORDER BY {rows})), '') FROM {name} r"
            ))  # fmt: skip
        return found
    finally:
        await conn.close()


async def inbox(platform: Platform) -> set[tuple[str, str, str]]:
    """(schema, consumer, event id) of every event each consumer applied."""
    conn = await asyncpg.connect(platform.url("postgres"))
    try:
        found = set()
        for schema in SERVICES:
            rows = await conn.fetch(f"SELECT consumer, event_id::text FROM {schema}.inbox")
            found |= {(schema, r["consumer"], r["event_id"]) for r in rows}
        return found
    finally:
        await conn.close()


def blobs(data: Path) -> dict[str, str]:
    """The blob store's objects: path -> sha256 of the content."""
    root = data / "oifits" / "objects"
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


async def log_observation(platform: Platform, tokens: TokenFactory, star: str, hour: float) -> str:
    headers = {
        "Authorization": "Bearer " + tokens.mint(*INGEST, subject="chara-ingest", client_id="chara-ingest")
    }
    async with httpx.AsyncClient(base_url=platform.url("nightlogs"), timeout=30) as client:
        answer = await client.post("/nightlogs/logs/CHARA/2026-01-14", content=csv_log(line(star, hour)),
                                   headers={**headers, "Content-Type": "text/csv"})  # fmt: skip
    assert answer.status_code == 201, answer.text
    (observation,) = answer.json()["added"]
    return str(observation)


async def fill(platform: Platform, tokens: TokenFactory) -> bytes:
    """A programme with its target, a night's observation, and the DRS push of its reduced file, each
    applied by the services that consume it; the file's bytes."""
    ada = {"Authorization": "Bearer " + tokens.mint("programmes:read", "programmes:write", subject="ada")}
    async with httpx.AsyncClient(base_url=platform.url("programmes"), timeout=30) as client:
        created = await client.post("/programmes/", json={"code": "LP-1", "title": "Giants"}, headers=ada)
        assert created.status_code == 201, created.text
        target = await client.post("/programmes/LP-1/targets/", json=VEGA, headers=ada)
        assert target.status_code == 201, target.text
    await eventually(lambda: scalar(platform, "SELECT count(*) FROM nightlogs.programme_target"))
    await log_observation(platform, tokens, "Vega", 3.1)
    await eventually(lambda: scalar(platform, "SELECT count(*) FROM oifits.observation"))
    await eventually(lambda: scalar(platform, "SELECT count(*) FROM oidb.programme_rights"))
    data = oifits(target="VEGA", ra=VEGA["ra"], dec=VEGA["dec"], at=(mjd_at(3.15),), programme="LP-1")
    drs = {
        "Authorization": "Bearer " + tokens.mint("oifits:push", "oifits:read", subject="drs", client_id="drs")
    }
    async with httpx.AsyncClient(base_url=platform.url("oifits"), timeout=30) as client:
        pushed = await client.post("/oifits/files", params={"filename": "vega.fits"}, content=data,
                                   headers={**drs, "Content-Type": "application/fits"})  # fmt: skip
    assert pushed.status_code == 201, pushed.text
    await eventually(lambda: scalar(platform, "SELECT count(*) FROM oidb.oidb_granule"))
    await eventually(lambda: settled(platform))
    return data


def spicadb(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SPICADB), *args], env=env, capture_output=True, text=True, timeout=120)


async def test_a_restored_platform_has_the_same_rows_and_files_and_applies_nothing_twice(
    platforms: Callable[[str], Platform], keys_and_tokens: tuple[KeySet, TokenFactory]
) -> None:
    _, tokens = keys_and_tokens
    first = platforms("first")
    first.start()
    await first.ready()
    data = await fill(first, tokens)

    # Two consumers of the night logs are held (SIGSTOP) while observation X is logged before the
    # streams' snapshot: both durables have X unacknowledged in it. Between the snapshot and the dump,
    # programmes is released and applies X, and observation W is logged (published after the snapshot)
    # and applied by programmes; oifits stays held through the dump, which has neither X nor W for it.
    pids = {name: int(first.table()[name]["pid"]) for name in ("programmes", "oifits")}
    held = set(pids)
    for pid in pids.values():
        os.kill(pid, signal.SIGSTOP)

    def release(name: str) -> None:
        if name in held:
            os.kill(pids[name], signal.SIGCONT)
            held.discard(name)

    async def meanwhile() -> None:
        assert await unacknowledged(first, "programmes_night_logs")  # so X was in the snapshot too
        release("programmes")
        await log_observation(first, tokens, "Vega", 3.9)
        await eventually(
            lambda: scalar(first, f"SELECT count(*) = 0 FROM nightlogs.{OUTBOX} WHERE published_at IS NULL")
        )
        await eventually(lambda: done(first, "programmes_night_logs"))
        # and what applying them made the others publish (a chain of events) settled before the dump:
        # counted in oifits' pending below, an event committed after the dump is not in the backup
        await eventually(lambda: settled(first, but="oifits"))

    backup = first.data.parent / "backup"
    pg_bin = RuntimeSettings.from_env().pg_bin_path
    try:
        await log_observation(first, tokens, "Vega", 4.2)
        await eventually(lambda: unacknowledged(first, "oifits_night_logs"))
        await eventually(lambda: unacknowledged(first, "programmes_night_logs"))
        manifest = await take_backup(Source.running(first.data), backup, pg_bin, between=meanwhile)
        pending = await unacknowledged(first, "oifits_night_logs")  # X's and W's, held through the dump
        assert pending >= 2
        rows, files, applied = await fingerprint(first), blobs(first.data), await inbox(first)
        produced = await outbox_events(first)
    finally:
        for name in list(held):
            release(name)
    assert (backup / "manifest.json").exists()
    assert hashlib.sha256(data).hexdigest() in files.values()
    snapshot = {s["name"]: s["state"]["messages"] for s in manifest["streams"]}
    published = await messages(first)
    assert published["SPICADB_NIGHTLOGS"] > snapshot["SPICADB_NIGHTLOGS"]  # W's events
    await eventually(lambda: settled(first))  # oifits caught up on the first platform too
    final = {table: count for table, (count, _) in (await fingerprint(first)).items()}
    # the command itself, on the running platform: into a folder that holds anything it refuses
    command = spicadb(first.env, "backup", str(first.data.parent / "by-command"))
    assert command.returncode == 0, command.stderr
    assert "streams SPICADB_NIGHTLOGS" in command.stdout
    assert spicadb(first.env, "backup", str(backup)).returncode == 2
    first.stop()  # the backup did not stop it: it served requests meanwhile
    stopped = spicadb(first.env, "backup", str(first.data.parent / "too-late"))
    assert stopped.returncode == 2, stopped.stderr
    assert "no platform runs" in stopped.stderr

    # restore: refused into a folder that holds anything, and from a damaged copy; then done
    second = platforms("second")
    taken = spicadb(second.env, "restore", str(backup), "--data", str(first.data))
    assert taken.returncode == 2, taken.stderr
    assert "not empty" in taken.stderr
    damaged = first.data.parent / "damaged"
    shutil.copytree(backup, damaged)
    (blob,) = (damaged / "files" / "oifits" / "objects").rglob(hashlib.sha256(data).hexdigest())
    content = blob.read_bytes()
    blob.write_bytes(bytes([content[0] ^ 1]) + content[1:])  # one bit
    refused = spicadb(second.env, "restore", str(damaged))
    assert refused.returncode == 3, refused.stderr
    assert "sha256 does not match" in refused.stderr
    assert not second.data.exists()
    restored = spicadb(second.env, "restore", str(backup))
    assert restored.returncode == 0, restored.stderr

    # The restored platform: the same files; nightlogs' relay publishes W again (the snapshot lacks it);
    # programmes gets X again (unacknowledged in the snapshot) and W, both applied already: skipped;
    # oifits resumes where its durable stood and applies X and W, once each. Every other table as backed up.
    second.start()
    await second.ready()
    assert blobs(second.data) == files
    await eventually(lambda: settled(second))
    assert (await messages(second))["SPICADB_NIGHTLOGS"] == published["SPICADB_NIGHTLOGS"]
    resumed = await inbox(second)
    assert applied <= resumed
    caught_up = {event for _, consumer, event in resumed - applied if consumer == "oifits_night_logs"}
    assert 0 < len(caught_up) <= pending
    # the rest of what was pending is stale to oifits (its ordering is LATEST): an older version of an
    # observation whose newer one it applied meanwhile (the delivery the held replica had in flight comes
    # back after ack_wait, behind the later ones), acknowledged with no effect and no inbox row; lost, none
    assert await scalar(second, UNAPPLIED_OBSERVATIONS) == 0
    assert caught_up <= produced
    # what else was applied since: only what oifits wrote applying them (granule.linked, for oidb)
    assert {event for _, consumer, event in resumed - applied if consumer != "oifits_night_logs"}.isdisjoint(
        produced
    )
    assert await scalar(second, "SELECT count(*) FROM oifits.observation") == 3
    # programmes and nightlogs as backed up, row for row; oifits and oidb caught up since, as the first
    # platform did once released: as many rows in every table (their times and new events' ids differ)
    untouched = ('"programmes"', '"nightlogs"')
    now = await fingerprint(second)
    assert {t: v for t, v in now.items() if t.startswith(untouched)} == {
        t: v for t, v in rows.items() if t.startswith(untouched)
    }
    # (inbox rows aside: an event passed over as stale above leaves none, where the first platform,
    # getting it in order, applied it and kept one; the effects' tables are the same)
    assert {t: count for t, (count, _) in now.items() if not t.endswith('."inbox"')} == {
        t: count for t, count in final.items() if not t.endswith('."inbox"')
    }

    # a new observation is applied once by each consumer, and nothing old again
    await log_observation(second, tokens, "Vega", 4.6)
    await eventually(lambda: scalar(second, "SELECT count(*) = 4 FROM oifits.observation"))
    await eventually(lambda: settled(second))
    after = await inbox(second)
    new = {event for _, _, event in after - resumed}
    assert resumed <= after
    assert new
    assert new.isdisjoint(produced), "an event of the first platform was applied again"
    assert new <= await outbox_events(second) - produced
    assert await scalar(second, "SELECT count(*) FROM oifits.observation") == 4


async def outbox_events(platform: Platform) -> set[str]:
    """The ids of the events the services wrote (kept in their outboxes for the relay's retention)."""
    conn = await asyncpg.connect(platform.url("postgres"))
    try:
        ids: set[str] = set()
        for schema in SERVICES:
            ids |= {str(r["event_id"]) for r in await conn.fetch(f"SELECT event_id FROM {schema}.outbox")}
        return ids
    finally:
        await conn.close()


def test_a_folder_without_manifest_is_not_restored(tmp_path: Path) -> None:
    (tmp_path / "cut-short" / "postgres").mkdir(parents=True)
    env = {**os.environ, "SPICADB_DATA": str(tmp_path / "new")}
    refused = spicadb(env, "restore", str(tmp_path / "cut-short"))
    assert refused.returncode == 3, refused.stderr
    assert "has no manifest.json" in refused.stderr
    assert not (tmp_path / "new").exists()


def test_a_backup_that_fails_keeps_nothing(tmp_path: Path) -> None:
    closed = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "SPICADB_DATA": str(tmp_path / "data")}
    failed = spicadb(env, "backup", str(tmp_path / "backup"), "--database-url", f"postgresql://spicadb@{closed}/spicadb",
                     "--nats-url", f"nats://{closed}")  # fmt: skip
    assert failed.returncode == 1, failed.stderr
    assert "nothing kept" in failed.stderr
    assert list((tmp_path / "backup").iterdir()) == []
