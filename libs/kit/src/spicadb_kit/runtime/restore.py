"""`spicadb restore DIR`: a backup (backup.py) into a new data folder, for `spicadb run` to start from.

The backup is checked whole first (every file of its manifest, by sha256 and size): a damaged or
incomplete one is refused before anything is written. The target must be a new or empty folder.
Then, on servers of its own on free ports (a platform may run meanwhile on the usual ones): a new
PostgreSQL cluster in ``<data>/postgres`` gets the roles and the database (pg_restore), a NATS server on
``<data>/jetstream`` gets every stream back from its snapshot, consumers and their state included (one
replica: the local platform's single server), and the data files are copied back, checked again. A
restore that fails leaves no half-restored folder behind.

After it, ``SPICADB_DATA=<data> spicadb run`` starts the platform with the restored data: migrations
find their schemas current, provisioning finds the streams and durables, and each relay publishes again
what the streams' snapshot had not yet taken (see backup.py for why nothing is applied twice).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from nats.errors import Error as NatsError

from ..infra import SUPERUSER, InfraError, NatsServer, PostgresCluster, free_port
from .backup import FORMAT, KIND, MANIFEST, BackupError, BackupFailed, connect, copy_verified, sha256_of
from .stream_snapshots import SnapshotError, restore_stream

__all__ = ["DamagedBackup", "TargetInUse", "read_manifest", "restore", "run_restore", "verify"]


class DamagedBackup(BackupError):
    """The backup's files do not match its manifest (or it has none)."""


class TargetInUse(BackupError):
    """The data folder to restore into holds something already."""


def read_manifest(backup: Path) -> dict[str, Any]:
    """The backup's manifest; DamagedBackup when there is none (not a backup, or one cut short)."""
    try:
        manifest: dict[str, Any] = json.loads((backup / MANIFEST).read_text())
    except FileNotFoundError as exc:
        raise DamagedBackup(f"{backup} has no {MANIFEST}: not a backup, or one that did not finish") from exc
    except ValueError as exc:
        raise DamagedBackup(f"{backup / MANIFEST} is not JSON: {exc}") from exc
    if manifest.get("kind") != KIND or manifest.get("format") != FORMAT:
        raise DamagedBackup(f"{backup} is not a SPICA-DB backup of format {FORMAT}")
    return manifest


def verify(backup: Path, manifest: dict[str, Any]) -> None:
    """Every file of the manifest there, with its size and sha256; DamagedBackup naming the others."""
    bad = []
    for name, entry in manifest["files"].items():
        path = backup / name
        if not path.is_file():
            bad.append(f"{name}: missing")
        elif path.stat().st_size != entry["size"] or sha256_of(path) != entry["sha256"]:
            bad.append(f"{name}: its sha256 does not match the manifest's")
    if bad:
        shown = "\n  ".join(bad[:20]) + (f"\n  ... and {len(bad) - 20} more" if len(bad) > 20 else "")
        raise DamagedBackup(f"{backup} is damaged, nothing restored:\n  {shown}")


def _pg(bin_dir: Path, tool: str, *args: str) -> None:
    try:
        subprocess.run([str(bin_dir / tool), *args], check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        raise BackupFailed(f"{tool} failed: {exc.stderr.strip()[-2000:]}") from exc


def _roles_script(roles: Path) -> str:
    """The roles' SQL without the bootstrap superuser's creation (initdb made it already)."""
    lines = roles.read_text().splitlines()
    return "\n".join(line for line in lines if line.strip() != f"CREATE ROLE {SUPERUSER};") + "\n"


def _restore_database(backup: Path, manifest: dict[str, Any], data: Path, bin_dir: Path) -> None:
    cluster = PostgresCluster(data / "postgres", free_port(), bin_dir=bin_dir)
    cluster.init()
    cluster.start()
    try:
        database = manifest["database"]
        script = data / "roles.sql"
        script.write_text(_roles_script(backup / database["roles"]))
        try:
            _pg(bin_dir, "psql", "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1",
                f"--dbname={cluster.dsn('postgres')}", f"--file={script}")  # fmt: skip
        finally:
            script.unlink()
        # --create: the database as it was (owner, encoding), then its schemas, rows and grants
        _pg(bin_dir, "pg_restore", "--create", "--exit-on-error", f"--dbname={cluster.dsn('postgres')}",
            str(backup / database["dump"]))  # fmt: skip
    finally:
        cluster.stop()


async def _restore_streams(backup: Path, manifest: dict[str, Any], data: Path) -> None:
    server = NatsServer(data / "jetstream", free_port(), free_port())
    server.start()
    try:
        nc = await connect(server.url)
        try:
            for stream in manifest["streams"]:
                restored = await restore_stream(
                    nc, stream["config"], stream["state"], backup / stream["file"]
                )
                state, expected = restored["state"], stream["state"]
                if (state["messages"], state["last_seq"]) != (expected["messages"], expected["last_seq"]):
                    raise BackupFailed(
                        f"stream {stream['name']} restored with {state['messages']} messages up to"
                        f" {state['last_seq']}, the backup had {expected['messages']} up to {expected['last_seq']}"
                    )
                names = {str(c.name) for c in await nc.jetstream().consumers_info(stream["name"])}
                if missing := set(stream["consumers"]) - names:
                    raise BackupFailed(f"stream {stream['name']}: consumers {sorted(missing)} not restored")
        finally:
            await nc.close()
    finally:
        server.stop()
        (data / "nats.conf").unlink(missing_ok=True)  # the run writes its own, on its ports


def _restore_files(backup: Path, manifest: dict[str, Any], data: Path) -> None:
    for name, entry in manifest["files"].items():
        if name.startswith("files/"):
            target = data / name.removeprefix("files/")
            copy_verified(backup / name, target, entry["sha256"])


def _empty_target(data: Path) -> bool:
    """Whether the folder exists already (empty); refuses one that holds anything."""
    if data.exists() and (not data.is_dir() or any(data.iterdir())):
        raise TargetInUse(f"{data} is not empty: a restore goes to a new data folder (SPICADB_DATA)")
    return data.exists()


def restore(backup: Path, data: Path, pg_bin: Path) -> dict[str, Any]:
    """Restore the backup into the new data folder ``data``; returns the backup's manifest."""
    existed = _empty_target(data)
    manifest = read_manifest(backup)
    verify(backup, manifest)
    data.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        data.chmod(0o755)  # the postgres user must reach its cluster inside (as `spicadb run` does)
    try:
        _restore_database(backup, manifest, data, pg_bin)
        asyncio.run(_restore_streams(backup, manifest, data))
        _restore_files(backup, manifest, data)
    except BaseException:
        _clear(data, keep=existed)
        raise
    return manifest


def run_restore(backup: Path, data: Path, pg_bin: Path) -> int:
    """``spicadb restore``: its exit status (2: the target is not empty, 3: the backup is damaged)."""
    try:
        manifest = restore(backup, data, pg_bin)
    except DamagedBackup as exc:
        print(f"spicadb restore: {exc}", file=sys.stderr)
        return 3
    except TargetInUse as exc:
        print(f"spicadb restore: {exc}", file=sys.stderr)
        return 2
    except (BackupError, InfraError, SnapshotError, OSError, NatsError) as exc:
        print(f"spicadb restore failed, nothing restored: {exc}", file=sys.stderr)
        return 1
    streams = ", ".join(s["name"] for s in manifest["streams"])
    print(
        f"restored the backup of {manifest['started_at']} into {data}: database {manifest['database']['name']},"
        f" streams {streams}, {manifest['data_files']} data files\n"
        f"start it with: SPICADB_DATA={data} spicadb run"
    )
    return 0


def _clear(data: Path, *, keep: bool) -> None:
    """Remove what a failed restore wrote (the folder too when the restore made it)."""
    if not keep:
        shutil.rmtree(data, ignore_errors=True)
        return
    for path in data.iterdir():
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
