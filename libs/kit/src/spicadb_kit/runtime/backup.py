"""`spicadb backup DIR`: a running platform's data, whole and consistent, in a new folder.

What the folder holds (``manifest.json`` lists every file with its sha256 and size, written last: a
folder without it is not a backup):

- ``jetstream/<STREAM>.snapshot``: each stream as JetStream's own snapshot (messages with their
  sequences, and the durable consumers with their delivery and acknowledgement state),
  see stream_snapshots.py;
- ``postgres/roles.sql`` (``pg_dumpall --roles-only``: the services' roles own their schemas) and
  ``postgres/<database>.dump`` (``pg_dump`` custom format). Every service has its schema in the one
  database, so one pg_dump, one transaction snapshot, is consistent across services;
- ``files/``: the data folder's own files: the OIFITS blob store's objects (named by their sha256,
  checked on the way), the TAP service's async results, the first run's credentials and the gateway's
  session key.

Order, and why no consumer can apply an event twice (or miss one) after a restore:

1. The streams first. A consumer commits an event's effects (with its id in the consumer's ``inbox``)
   before it acknowledges it, so every acknowledgement the stream snapshots holds is of an event whose
   effects the later database dump holds too. Events a consumer applied after the streams' snapshot are
   delivered again by the restored durable: their ids are in the restored inbox, the consumer skips them
   (events/dispatch.py). The inbox keeps ids 35 days, longer than the streams keep events.
2. Then the database. Outbox rows the relay published after the streams' snapshot are marked published
   in the dump but absent from the restored stream: when a restored service's relay starts leading it
   looks up its retained published rows on its stream (events/recovery.py, as after an unclean NATS
   restart) and publishes those again, same ``Nats-Msg-Id`` (event id). That needs the rows still
   retained (``SPICADB_OUTBOX_RETENTION_SECONDS``, 600 s after their publication), hence the check that
   the streams' snapshot took less than that. A row published before the snapshot but marked after the
   dump is published again too: the stream's duplicate window, and beyond it the consumers' inbox, drop it.
3. Then the files: the oifits service stores a file's bytes before it commits the row naming them (and
   removes them only when that commit fails), so every file a row of the dump names is already there.

The platform keeps running throughout: the snapshots, pg_dump and the copies only read.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import distributions
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import nats
from nats.aio.client import Client
from nats.errors import Error as NatsError

from ..events.bus import nats_servers
from ..settings import ServiceSettings
from .stream_snapshots import SnapshotError, snapshot_stream
from .supervisor import CREDENTIALS_FILE, ENDPOINTS_FILE, running_pid

__all__ = [
    "DATA_FILES",
    "DATA_FOLDERS",
    "FORMAT",
    "KIND",
    "MANIFEST",
    "BackupError",
    "BackupFailed",
    "Source",
    "connect",
    "copy_verified",
    "run_backup",
    "sha256_of",
    "take_backup",
]

MANIFEST = "manifest.json"
FORMAT = 1
KIND = "spicadb-backup"
# the data folder's files and folders a restore needs (relative to the data folder); the rest (logs,
# endpoints.json, nats.conf, the servers' own stores) is the runtime's, rebuilt by a run
DATA_FILES = (CREDENTIALS_FILE, "gateway-session.key")
DATA_FOLDERS = ("oifits/objects", "tap/results")
# the relay's default retention of published outbox rows (SPICADB_OUTBOX_RETENTION_SECONDS)
OUTBOX_RETENTION_SECONDS = 600.0
READ_BYTES = 1024 * 1024


class BackupError(RuntimeError):
    """A backup (or restore) cannot be taken: says why, for the operator."""


class BackupFailed(BackupError):
    """A backup (or restore) began and failed on the way (a tool or a server refused)."""


@dataclass(frozen=True)
class Source:
    """Where the platform to back up runs: its database (as a superuser), its NATS, its data folder."""

    database_url: str
    nats_url: str
    data: Path

    @classmethod
    def running(cls, data: Path, database_url: str | None = None, nats_url: str | None = None) -> Source:
        """The platform `spicadb run` runs from ``data`` (endpoints.json), or the URLs given."""
        if database_url and nats_url:
            return cls(database_url, nats_url, data)
        if running_pid(data) is None:
            raise BackupError(
                f"no platform runs from {data}: start it (make run), or name its database and NATS"
                " (--database-url, --nats-url)"
            )
        try:
            table = json.loads((data / ENDPOINTS_FILE).read_text())
            return cls(
                database_url or str(table["postgres"]["url"]), nats_url or str(table["nats"]["url"]), data
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BackupError(
                f"{data / ENDPOINTS_FILE} does not name the platform's servers: {exc!r}"
            ) from exc


def sha256_of(path: Path) -> str:
    """The sha256 of a file's content."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(READ_BYTES):
            digest.update(block)
    return digest.hexdigest()


def copy_verified(source: Path, target: Path, expected: str | None = None) -> tuple[str, int]:
    """Copy a file, hashing it on the way; its sha256 and size. ``expected``: the sha256 it must have
    (a BackupError when not, and no copy left)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as src, target.open("wb") as dst:
        while block := src.read(READ_BYTES):
            digest.update(block)
            dst.write(block)
            size += len(block)
        dst.flush()
        os.fsync(dst.fileno())
    if expected is not None and digest.hexdigest() != expected:
        target.unlink()
        raise BackupFailed(f"{source}: its content's sha256 is {digest.hexdigest()}, not {expected}")
    shutil.copymode(source, target)
    return digest.hexdigest(), size


def _empty_folder(path: Path) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BackupError(f"{path} exists and is not empty: a backup goes to a new or empty folder")
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)  # credentials and session keys inside


async def _snapshot_streams(nats_url: str, target: Path) -> list[dict[str, Any]]:
    """Every stream of the server, snapshotted with its consumers; their manifest entries."""
    folder = target / "jetstream"
    folder.mkdir()
    nc = await connect(nats_url)
    try:
        js = nc.jetstream()
        entries = []
        for info in sorted(await js.streams_info(), key=lambda i: i.config.name or ""):
            name = str(info.config.name)
            # named before the snapshot, which then holds each of them (unless deleted meanwhile)
            consumers = await js.consumers_info(name)
            answer, _, _ = await snapshot_stream(nc, name, folder / f"{name}.snapshot")
            entries.append(
                {
                    "name": name,
                    "file": f"jetstream/{name}.snapshot",
                    "config": answer["config"],
                    "state": answer["state"],
                    # the restore checks they are back (their state is the snapshot's)
                    "consumers": sorted(str(c.name) for c in consumers),
                }
            )
        return entries
    finally:
        await nc.close()


async def connect(nats_url: str) -> Client:
    """A connection for one command: servers that do not answer are an error within seconds (nats-py
    tries each server of its pool until it has failed ``max_reconnect_attempts`` times; 0 never stops)."""
    return await nats.connect(
        nats_servers(nats_url),
        allow_reconnect=False,
        max_reconnect_attempts=1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
    )


def _pg(bin_dir: Path, tool: str, *args: str) -> str:
    try:
        done = subprocess.run([str(bin_dir / tool), *args], check=True, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise BackupFailed(f"{tool} not found in {bin_dir} (SPICADB_PG_BIN)") from exc
    except subprocess.CalledProcessError as exc:
        raise BackupFailed(f"{tool} failed: {exc.stderr.strip()[-2000:]}") from exc
    return done.stdout


async def _server_version(database_url: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def _dump_database(database_url: str, bin_dir: Path, target: Path) -> dict[str, Any]:
    """The roles, then the database in one pg_dump (one snapshot); their manifest entry."""
    folder = target / "postgres"
    folder.mkdir()
    database = urlsplit(database_url).path.lstrip("/") or "postgres"
    _pg(bin_dir, "pg_dumpall", "--roles-only", "--no-role-passwords", f"--dbname={database_url}",
        f"--file={folder / 'roles.sql'}")  # fmt: skip
    _pg(bin_dir, "pg_dump", "--format=custom", f"--file={folder / f'{database}.dump'}",
        f"--dbname={database_url}")  # fmt: skip
    return {
        "name": database,
        "roles": "postgres/roles.sql",
        "dump": f"postgres/{database}.dump",
        "pg_dump": _pg(bin_dir, "pg_dump", "--version").strip(),
    }


def _copy_data_files(data: Path, target: Path) -> int:
    """The data folder's files a restore needs, under ``files/``; blobs are checked against their
    name (their sha256). How many files."""
    count = 0
    for name in DATA_FILES:
        if (data / name).is_file():
            copy_verified(data / name, target / "files" / name)
            count += 1
    for folder in DATA_FOLDERS:
        for path in sorted((data / folder).rglob("*")) if (data / folder).is_dir() else []:
            if path.is_file():
                relative = path.relative_to(data)
                named = folder == "oifits/objects" and len(path.name) == 64
                copy_verified(path, target / "files" / relative, path.name if named else None)
                count += 1
    return count


def _versions() -> dict[str, str]:
    return {
        str(dist.metadata["Name"]): dist.version
        for dist in distributions()
        if str(dist.metadata["Name"] or "").startswith("spicadb")
    }


def _listing(target: Path) -> dict[str, dict[str, Any]]:
    return {
        str(path.relative_to(target)): {"sha256": sha256_of(path), "size": path.stat().st_size}
        for path in sorted(target.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


async def take_backup(
    source: Source,
    target: Path,
    pg_bin: Path,
    *,
    retention_seconds: float = OUTBOX_RETENTION_SECONDS,
    between: Callable[[], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    """Back up the platform into ``target`` (new or empty): streams, database, files, then the manifest;
    returns the manifest. ``between`` is awaited after the streams' snapshot, before the dump (the
    tests widen that window with events published and applied in it)."""
    _empty_folder(target)
    try:
        return await _take(source, target, pg_bin, retention_seconds, between)
    except BaseException:
        _clear(target)  # a backup cut short leaves nothing that could pass for one
        raise


def _clear(target: Path) -> None:
    for path in target.iterdir():
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


async def _take(
    source: Source,
    target: Path,
    pg_bin: Path,
    retention_seconds: float,
    between: Callable[[], Awaitable[None]] | None,
) -> dict[str, Any]:
    started = datetime.now(UTC)
    clock = time.monotonic()
    streams = await _snapshot_streams(source.nats_url, target)
    streams_seconds = time.monotonic() - clock
    if between is not None:
        await between()
    # from the streams' snapshot to the dump: rows the relays published meanwhile must still be retained
    window = time.monotonic() - clock
    if window >= retention_seconds:
        raise BackupFailed(
            f"the streams' snapshot was taken {window:.0f} s before the dump, longer than the outbox keeps"
            f" published events ({retention_seconds:.0f} s): a restore could miss events; take the backup again"
        )
    postgres_version = await _server_version(source.database_url)
    database = _dump_database(source.database_url, pg_bin, target)
    files = _copy_data_files(source.data, target)
    nc_version = await _nats_version(source.nats_url)
    manifest = {
        "kind": KIND,
        "format": FORMAT,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "streams_seconds": round(streams_seconds, 3),
        "versions": {"postgresql": postgres_version, "nats-server": nc_version, **_versions()},
        "database": database,
        "streams": streams,
        "data_files": files,
        "files": _listing(target),
    }
    staging = target / (MANIFEST + ".tmp")
    staging.write_text(json.dumps(manifest, indent=2) + "\n")
    staging.replace(target / MANIFEST)
    return manifest


async def _nats_version(nats_url: str) -> str:
    nc = await connect(nats_url)
    try:
        return str(nc.connected_server_version)
    finally:
        await nc.close()


def run_backup(
    target: Path, data: Path, pg_bin: Path, *, database_url: str | None = None, nats_url: str | None = None
) -> int:
    """``spicadb backup``: its exit status (2: no running platform, or the folder is not empty)."""
    try:
        source = Source.running(data, database_url, nats_url)
        # the platform's own retention of published outbox rows, when it sets one
        retention = ServiceSettings.from_env().outbox_retention_seconds
        manifest = asyncio.run(take_backup(source, target, pg_bin, retention_seconds=retention))
    except (BackupFailed, SnapshotError, OSError, NatsError, asyncpg.PostgresError) as exc:
        print(f"spicadb backup failed, nothing kept in {target}: {exc}", file=sys.stderr)
        return 1
    except BackupError as exc:
        print(f"spicadb backup: {exc}", file=sys.stderr)
        return 2
    size = sum(entry["size"] for entry in manifest["files"].values())
    streams = ", ".join(f"{s['name']} ({s['state']['messages']})" for s in manifest["streams"])
    print(
        f"backup in {target}: database {manifest['database']['name']}, streams {streams},"
        f" {manifest['data_files']} data files; {len(manifest['files'])} files, {size:,} bytes"
    )
    return 0
