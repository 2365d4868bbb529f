"""`spicadb`: run the platform locally and operate it.

spicadb run | stop                 the local platform (make run / make stop)
spicadb status [--json]            each component's health, lag, backlog, dead letters and restarts
       [--gateway URL --token T]   (a deployed platform: through its gateway, with an admin's token)
spicadb doctor [--install]         check (and install, as root) the system packages
spicadb serve NAME                 run one service (containers, make run)
spicadb migrate [--service NAME]   apply migrations (SPICADB_DATABASE_URL: an admin of the cluster)
spicadb provision                  create or update JetStream streams and consumers (SPICADB_NATS_URL)
spicadb wait NAME [--timeout S]    wait until a service can start: schema current, streams and consumers
                                   provisioned (a deployment's init container; as the service itself)
spicadb deadletters list|replay    inspect dead letters of a service, or ask its consumer to replay them
spicadb outbox list|retry|discard --service NAME [--id N]
                                   events the relay parked (NATS will not take them): show them, put them
                                   back in line, or drop them for good (discard needs --id)
spicadb backfill --service NAME [--consumer DURABLE] [--forget]
                                   deliver a consumer's stream again from its start (service stopped)
spicadb backup DIR                 the running platform's database, streams and files into a new folder
spicadb restore DIR                a backup into a new data folder (SPICADB_DATA or --data), for `run`

Services add commands of their own (e.g. `spicadb catalogue import FILE`, the tap service's) without the
kit importing them: an entry point of the group `spicadb.commands` names a function taking argparse's
subparsers; it adds its parser and sets `handler` (a function of the parsed arguments returning the exit
status) with `set_defaults`. A command the kit has already, or one that fails to load, is left out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path

import asyncpg
import nats

from ..events import request_replay
from ..events.bus import nats_servers
from ..events.parked import discard_parked, parked_events, retry_parked
from ..events.provision import ProvisionError, backfill, provision
from ..migrate import migrate_service
from ..settings import RuntimeSettings, ServiceSettings, SettingsError
from ..spec import ServiceSpec, discover_services
from . import backup, openapi, restore, status, supervisor, system
from .serve import UnknownService, find_service, serve
from .wait import wait_until_startable

__all__ = ["main"]


def _specs(name: str | None) -> list[ServiceSpec]:
    return [find_service(name)] if name else list(discover_services())


async def _migrate(name: str | None) -> None:
    settings = ServiceSettings.from_env()
    conn = await asyncpg.connect(settings.database_url)
    try:
        for spec in _specs(name):
            print(f"{spec.name}: schema {await migrate_service(conn, spec)}")
    finally:
        await conn.close()


async def _provision() -> None:
    settings = ServiceSettings.from_env()
    nc = await nats.connect(nats_servers(settings.nats_url))
    try:
        await provision(nc.jetstream(), discover_services(), replicas=settings.stream_replicas)
    finally:
        await nc.close()


async def _deadletters(service: str, action: str, consumer: str | None, ids: list[int]) -> None:
    spec = find_service(service)
    settings = ServiceSettings.from_env()
    pool = await asyncpg.create_pool(
        settings.database_url,
        min_size=1,
        max_size=1,
        server_settings={"search_path": f"{spec.schema},public"},
    )
    assert pool is not None
    try:
        if action == "replay":
            count = await request_replay(pool, consumer, ids)
            print(f"{count} dead letters queued for replay by their running consumer")
            return
        # with the aggregate and its version: a consumer replays each aggregate's letters in that order
        rows = await pool.fetch(
            "SELECT id, consumer, event_type, event_id, deliveries, failed_at, error, replay_error,"
            " headers->>'ce-subject' AS aggregate_id, headers->>'ce-aggregateversion' AS version"
            " FROM dead_letter WHERE replayed_at IS NULL AND ($1::text IS NULL OR consumer = $1) ORDER BY id",
            consumer,
        )
        for r in rows:
            print(
                f"{r['id']:>6} {r['consumer']} {r['event_type']} {r['event_id']}"
                f" {r['aggregate_id']} v{r['version']} x{r['deliveries']}"
                f" {r['failed_at']:%Y-%m-%d %H:%M:%S} {r['error'][:120]}"
                + (f" [replay: {r['replay_error'][:120]}]" if r["replay_error"] else "")
            )
        print(f"{len(rows)} open dead letters")
    finally:
        await pool.close()


async def _outbox(service: str, action: str, ids: list[int]) -> int:
    spec = find_service(service)
    if action == "discard" and not ids:
        print("spicadb: outbox discard drops events for good: name them with --id", file=sys.stderr)
        return 2
    pool = await asyncpg.create_pool(
        ServiceSettings.from_env().database_url,
        min_size=1,
        max_size=1,
        server_settings={"search_path": f"{spec.schema},public"},
    )
    assert pool is not None
    try:
        if action == "retry":
            print(f"{await retry_parked(pool, ids)} parked events put back in line for the relay")
        elif action == "discard":
            print(f"{await discard_parked(pool, ids)} parked events discarded")
        else:
            rows = await parked_events(pool)
            for r in rows:
                print(
                    f"{r['id']:>8} {r['event_type']} {r['aggregate_id']} v{r['aggregate_version']} {r['event_id']}"
                    f" {r['size']:,} B x{r['attempts']} {r['parked_at']:%Y-%m-%d %H:%M:%S} {r['park_reason'][:160]}"
                )
            print(f"{len(rows)} parked events")
    finally:
        await pool.close()
    return 0


async def _backfill(service: str, durable: str | None, forget: bool) -> None:
    spec = find_service(service)
    decls = [d for d in spec.consumers if durable in (None, d.durable)]
    if not decls:
        raise UnknownService(
            f"{service} has no consumer {durable}" if durable else f"{service} consumes nothing"
        )
    settings = ServiceSettings.from_env()
    pool = await asyncpg.create_pool(
        settings.database_url,
        min_size=1,
        max_size=1,
        server_settings={"search_path": f"{spec.schema},public"},
    )
    assert pool is not None
    nc = await nats.connect(nats_servers(settings.nats_url))
    try:
        for decl in decls:
            await backfill(nc.jetstream(), pool, decl, forget=forget)
            print(
                f"{decl.durable}: delivering {decl.stream} again from its start"
                + (" (inbox forgotten)" if forget else "")
            )
    finally:
        await nc.close()
        await pool.close()


def _credentials(name: str) -> int:
    """Print ``client_id:secret`` from credentials.json (written by auth on the first run)."""
    path = RuntimeSettings.from_env().data_path / supervisor.CREDENTIALS_FILE
    try:
        client = json.loads(path.read_text())["clients"][name]
    except FileNotFoundError:
        print(f"spicadb: {path} does not exist yet (it is written by the first `make run`)", file=sys.stderr)
        return 1
    except KeyError:
        print(f"spicadb: no client {name!r} in {path}", file=sys.stderr)
        return 1
    if not client.get("client_secret"):
        print(f"spicadb: {name} is a public client (no secret)", file=sys.stderr)
        return 1
    print(f"{client['client_id']}:{client['client_secret']}")
    return 0


def _status(gateway: str | None, token: str | None, as_json: bool) -> int:
    if gateway is None:
        return status.status(RuntimeSettings.from_env().data_path, as_json=as_json, token=token)
    if token is None:
        print("spicadb: status --gateway needs an admin's token (--token or SPICADB_TOKEN)", file=sys.stderr)
        return 2
    return status.gateway_status(gateway, token, list(discover_services()), as_json=as_json)


def _backups(args: argparse.Namespace) -> int:
    settings = RuntimeSettings.from_env()
    if args.command == "backup":
        return backup.run_backup(
            args.dir.absolute(),
            settings.data_path,
            settings.pg_bin_path,
            database_url=args.database_url,
            nats_url=args.nats_url,
        )
    data = args.data.absolute() if args.data else settings.data_path
    return restore.run_restore(args.dir.absolute(), data, settings.pg_bin_path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spicadb", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start the local platform in the foreground")
    sub.add_parser("stop", help="stop the local platform")
    status_cmd = sub.add_parser("status", help="the local platform's health, one row per component")
    status_cmd.add_argument("--json", action="store_true", help="the rows as a JSON document")
    status_cmd.add_argument(
        "--token", help="an admin's access token, for the gateway's details (default: SPICADB_TOKEN)"
    )
    status_cmd.add_argument(
        "--gateway", metavar="URL", help="a deployed platform's gateway (needs the token), not the local one"
    )
    doctor = sub.add_parser("doctor", help="check the system packages")
    doctor.add_argument("--install", action="store_true", help="apt-get install what is missing (root only)")
    doctor.add_argument("--validators", action="store_true", help="also the tests' validators (stilts)")
    serve_cmd = sub.add_parser("serve", help="run one service")
    serve_cmd.add_argument("name", nargs="?")
    migrate = sub.add_parser("migrate", help="apply migrations")
    migrate.add_argument("--service")
    sub.add_parser("provision", help="create or update streams and consumers")
    wait_cmd = sub.add_parser("wait", help="wait until a service's schema and streams are ready for it")
    wait_cmd.add_argument("name")
    wait_cmd.add_argument("--timeout", type=float, default=0.0, help="seconds (default 0: no limit)")
    dead = sub.add_parser("deadletters", help="list or replay dead letters")
    dead.add_argument("action", choices=["list", "replay"])
    dead.add_argument("--service", required=True)
    dead.add_argument("--consumer")
    dead.add_argument("--id", type=int, action="append", default=[], dest="ids")
    outbox = sub.add_parser("outbox", help="list, retry or discard the events the relay parked")
    outbox.add_argument("action", choices=["list", "retry", "discard"])
    outbox.add_argument("--service", required=True)
    outbox.add_argument(
        "--id", type=int, action="append", default=[], dest="ids", help="an outbox id (repeatable)"
    )
    refill = sub.add_parser("backfill", help="deliver a consumer's stream again from its start")
    refill.add_argument("--service", required=True)
    refill.add_argument("--consumer", help="one durable of the service (default: all of them)")
    refill.add_argument("--forget", action="store_true", help="apply again what was applied already")
    openapi_cmd = sub.add_parser("openapi", help="write or check each service's OpenAPI document")
    openapi_cmd.add_argument("--output", type=Path, default=Path("contracts/openapi"))
    openapi_cmd.add_argument("--check", action="store_true", help="fail when the committed documents differ")
    saving = sub.add_parser("backup", help="back up the running platform into a new folder")
    saving.add_argument("dir", type=Path, help="a new or empty folder")
    saving.add_argument("--database-url", help="a deployed platform's database, as a superuser")
    saving.add_argument("--nats-url", help="a deployed platform's NATS")
    restoring = sub.add_parser("restore", help="restore a backup into a new data folder")
    restoring.add_argument("dir", type=Path, help="the backup's folder")
    restoring.add_argument("--data", type=Path, help="the new data folder (default: SPICADB_DATA)")
    credentials = sub.add_parser("credentials", help="client_id:secret of a bootstrapped client")
    credentials.add_argument("name")
    _service_commands(sub)
    return parser


COMMANDS_GROUP = "spicadb.commands"


def _service_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The commands services declare in the entry-point group ``spicadb.commands``."""
    for entry in entry_points(group=COMMANDS_GROUP):
        if entry.name in sub.choices:
            continue
        try:
            entry.load()(sub)
        except Exception as exc:  # a broken service must not take `spicadb run` down with it
            print(f"spicadb: command {entry.name} ({entry.value}) not loaded: {exc}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """The ``spicadb`` command (run, stop, doctor, openapi, migrate, serve...): its exit status."""
    args = _parser().parse_args(argv)
    try:
        handler = getattr(args, "handler", None)
        if handler is not None:  # a service's command (spicadb.commands)
            return int(handler(args))
        if args.command == "run":
            return supervisor.run(RuntimeSettings.from_env())
        if args.command == "stop":
            return supervisor.stop(RuntimeSettings.from_env())
        if args.command == "status":
            return _status(args.gateway, args.token or os.environ.get("SPICADB_TOKEN") or None, args.json)
        if args.command == "doctor":
            return system.doctor(
                RuntimeSettings.from_env().pg_bin_path,
                install_missing=args.install,
                validators=args.validators,
            )
        if args.command == "openapi":
            return openapi.write_or_check(args.output, check=args.check)
        if args.command == "credentials":
            return _credentials(args.name)
        if args.command in ("backup", "restore"):
            return _backups(args)
        if args.command == "serve":
            serve(args.name)
        elif args.command == "migrate":
            asyncio.run(_migrate(args.service))
        elif args.command == "provision":
            asyncio.run(_provision())
        elif args.command == "wait":
            spec = find_service(args.name)
            ready = asyncio.run(wait_until_startable(spec, ServiceSettings.from_env(), timeout=args.timeout))
            return 0 if ready else 1
        elif args.command == "deadletters":
            asyncio.run(_deadletters(args.service, args.action, args.consumer, args.ids))
        elif args.command == "outbox":
            return asyncio.run(_outbox(args.service, args.action, args.ids))
        elif args.command == "backfill":
            asyncio.run(_backfill(args.service, args.consumer, args.forget))
    except (SettingsError, UnknownService, ProvisionError) as exc:
        print(f"spicadb: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
