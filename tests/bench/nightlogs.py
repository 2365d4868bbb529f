"""Night-logs benchmark: ObsPortal's cone searches on 1,000,000 exposures and the ingestion of a
10,000-line CHARA night log, each next to a raw baseline measured in the same run.

What runs (all started here, on free ports, and stopped by pid at the end):

- PostgreSQL and nats-server; the obsportal and nightlogs schemas migrated (a database each), their
  streams provisioned;
- the obsportal service, then the nightlogs service (uvicorn, the real apps: they verify tokens
  themselves, the nightlogs outbox relay publishes to JetStream), each a process of its own; a JWKS
  server with the test signing key runs here;
- the keep-alive HTTP client of ``programmes.py`` (and an anonymous variant), in this process.

Measured:

1. cone searches on 1,000,000 exposures written straight into obsportal's ``exposure`` table with COPY
   (50,000 targets over CHARA's sky, exposures per target heavy-tailed, 2019 to last month, 300
   programmes with members in ``programme_rights``, 12 or 18 months proprietary: most exposures are
   released), then ANALYZE. Sequential requests at random positions drawn near random exposures (so
   the answers are not empty): ``GET /obsportal/scs`` with SR 0.01 and 0.05 degrees and ``POST
   /obsportal/search.votable`` (Aspro2's form, radius 30 arcsec), anonymous and with a member's token;
   p50/p99 against the service's own statement (``Query.near`` + ``ExposureStore.select`` with the
   route's columns and row limit) run directly with asyncpg. Each side draws its own centres from the
   same distribution, and the two are timed in halves in alternate order (SQL then HTTP, HTTP then
   SQL), so neither always runs on a cache the other warmed. Target: HTTP p99 < 10 ms. One EXPLAIN
   (ANALYZE, BUFFERS) shows the GiST index at work;
2. a 10,000-line CSV log (CHARA's columns, 6 and 4 telescopes, stars of 300 programme targets plus
   unmatched calibrators) posted to ``POST /nightlogs/logs/CHARA/{night}`` by the ``chara-ingest``
   robot: the response (after the commit, the events in the outbox) and "events out", until every
   ``observation.logged`` and the ``log.ingested`` event is on SPICADB_NIGHTLOGS. Baseline: COPY of the
   same rows (as the service builds them) into ``observation``, for another night. Target: 10,000 lines
   < 1.5 s, events out included. The better of ``--rounds`` runs is kept.

When the ingestion misses its target (or with ``--breakdown``), the service is stopped and the same
ingestion runs in this process, with the service's own code, timed phase by phase, then the relay
alone, plus cProfiles of the parse and of the matching and baselines (they run in worker threads in
the service).

Usage: ``.venv/bin/python tests/bench/nightlogs.py [--quick] [--exposures N] [--requests N] [--lines N]
[--rounds R] [--breakdown] [--only obsportal|nightlogs] [--json FILE] [--keep]``; exit status 1 when
a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import math
import pstats
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench_paths import use_test_helpers

use_test_helpers()

# the helpers of the programmes benchmark: the HTTP client, the platform, percentiles, phase timers
import asyncpg  # noqa: E402
import msgspec  # noqa: E402
import nats  # noqa: E402
import numpy as np  # noqa: E402
import uvloop  # noqa: E402
from bench_report import Figures, finish  # noqa: E402
from gateway_support import Jwks, LocalServer, ServerProcess  # noqa: E402
from programmes import Http, Phases, failure, infrastructure, say, summary, timed, verdict  # noqa: E402
from spicadb_obsportal.config import ObsportalSettings  # noqa: E402
from spicadb_obsportal.services.exposures import _SCS_SQL, _SEARCH_SQL  # noqa: E402
from spicadb_obsportal.spec import SPEC as OBSPORTAL  # noqa: E402
from spicadb_obsportal.storage.exposures import ExposureStore, Query  # noqa: E402

from spicadb_astro import nights  # noqa: E402
from spicadb_kit.db import create_pool  # noqa: E402
from spicadb_kit.events import Bus, Outbox, OutboxRelay  # noqa: E402
from spicadb_kit.events.provision import provision  # noqa: E402
from spicadb_kit.infra import NatsServer, PostgresCluster  # noqa: E402
from spicadb_kit.migrate import migrate_service  # noqa: E402
from spicadb_kit.rights import Viewer  # noqa: E402
from spicadb_kit.spec import ServiceSpec  # noqa: E402
from spicadb_kit.testing.services import role_dsn  # noqa: E402
from spicadb_kit.testing.tokens import TokenFactory  # noqa: E402

TARGET_CONE_P99_MS = 10.0
MAX_ROWS = ObsportalSettings(environment="test").votable_max_rows  # the service's row limit
TARGET_LOG_SECONDS = 1.5  # performance-targets.md
MEMBER = "bench-member"
ROBOT = "chara-ingest"
SITE = "CHARA"
SIX, FOUR = "S1-E1-W1-W2-E2-S2", "S1-E1-W1-W2"
LOG_HEADER = "UT-DATE,STAR,PI,PROGRAM,COMBINER,TYPE,MJD,FILTER,SCOPES,B1,B2,B3,T0_OBS,T0_500nm"
LOG_MODES = ("LR", "MR640", "MR685", "MR720", "MR800", "MR850", "HR")
# winter nights (PST: 23 h 59 m of local noon to local noon, no DST change), long past
SERVICE_NIGHTS = [date(2026, 1, 5) + timedelta(days=r) for r in range(10)]
BASELINE_NIGHTS = [date(2026, 2, 5) + timedelta(days=r) for r in range(10)]
BREAKDOWN_NIGHT = date(2026, 1, 28)

# label, route, the size of the cone (degrees)
CONES: tuple[tuple[str, str, float], ...] = (
    ("scs SR=0.01", "scs", 0.01),
    ("scs SR=0.05", "scs", 0.05),
    ("search.votable 30 arcsec", "votable", 30.0 / 3600.0),
)


# --- the platform, per service ---------------------------------------------------------------------


def database(spec: ServiceSpec) -> str:
    return f"bench_{spec.name}"


async def prepare(cluster: PostgresCluster, server: NatsServer, spec: ServiceSpec) -> None:
    admin = await asyncpg.connect(cluster.dsn())
    await admin.execute(f'DROP DATABASE IF EXISTS "{database(spec)}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{database(spec)}"')
    await admin.close()
    conn = await asyncpg.connect(cluster.dsn(database(spec)))
    try:
        await migrate_service(conn, spec)
    finally:
        await conn.close()
    nc = await nats.connect(server.url)
    await provision(nc.jetstream(), [spec])
    await nc.close()


def service_env(
    cluster: PostgresCluster, server: NatsServer, tokens: TokenFactory, jwks_url: str, spec: ServiceSpec
) -> dict[str, str]:
    return {
        "SPICADB_ENVIRONMENT": "test",
        "SPICADB_LOG_LEVEL": "WARNING",
        "SPICADB_DATABASE_URL": role_dsn(cluster.dsn(database(spec)), spec.role),
        "SPICADB_NATS_URL": server.url,
        "SPICADB_TOKEN_ISSUER": tokens.issuer,
        "SPICADB_TOKEN_AUDIENCE": tokens.audience,
        "SPICADB_JWKS_URL": jwks_url,
    }


async def service_pool(cluster: PostgresCluster, spec: ServiceSpec, size: int = 2) -> asyncpg.Pool:
    """As the service's role, in its schema, with the kit's codecs (what the service sees)."""
    return await create_pool(
        role_dsn(cluster.dsn(database(spec)), spec.role),
        schema=spec.schema,
        application="bench",
        min_size=1,
        max_size=size,
    )


@contextlib.asynccontextmanager
async def running(
    factory: str, env: dict[str, str], log: Path, profile: Path | None
) -> AsyncIterator[ServerProcess]:
    service = ServerProcess(
        factory, env, log, python_args=("-m", "cProfile", "-o", str(profile)) if profile else ()
    ).start()
    try:
        service.wait_ready(timeout=60)
        say(f"{factory} on {service.url} (pid {service.pid}, log {log})")
        yield service
    finally:
        service.stop(signal.SIGINT if profile else signal.SIGTERM)
        if service.proc is not None:
            with contextlib.suppress(Exception):
                service.proc.wait(30)


class AnonymousHttp(Http):
    """The same keep-alive client, without an Authorization header (the VO routes need no token)."""

    def __init__(self, port: int) -> None:
        super().__init__(port, "")

    async def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json"
    ) -> tuple[int, bytes]:
        reader, writer = await self._connect()
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAccept: */*\r\n"
        if body is not None:
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        writer.write(head.encode() + b"\r\n" + (body or b""))
        await writer.drain()
        response = await reader.readuntil(b"\r\n\r\n")
        lower = response.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at < 0:
            raise RuntimeError(f"response without Content-Length: {response!r}")
        content = await reader.readexactly(int(lower[at + 17 : lower.index(b"\r\n", at + 2)]))
        return int(response[9:12]), content


# --- 1. ObsPortal: 1,000,000 exposures and cone searches -------------------------------------------


def sky(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Stars CHARA observes (latitude +34): declinations -25 to +88, uniform on the sphere, a third
    of them near the galactic plane."""
    low, high = math.sin(math.radians(-25.0)), math.sin(math.radians(88.0))
    ra = rng.uniform(0.0, 360.0, n)
    dec = np.degrees(np.arcsin(rng.uniform(low, high, n)))
    plane = rng.random(n) < 0.33
    # the galactic plane, roughly: a great circle inclined 62.9 deg, node at RA 282.9
    lon = rng.uniform(0.0, 2 * math.pi, plane.sum())
    lat = np.radians(rng.normal(0.0, 8.0, plane.sum()))
    x, y, z = np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)
    tilt = math.radians(62.9)
    y2, z2 = y * math.cos(tilt) - z * math.sin(tilt), y * math.sin(tilt) + z * math.cos(tilt)
    ra[plane] = (np.degrees(np.arctan2(y2, x)) + 282.9) % 360.0
    dec[plane] = np.clip(np.degrees(np.arcsin(z2)), -25.0, 88.0)
    return np.round(ra, 7) % 360.0, np.round(dec, 7)


def baselines_json(rng: np.random.Generator, stations: list[str]) -> str:
    items = []
    for i, a in enumerate(stations):
        for b in stations[i + 1 :]:
            length, angle = rng.uniform(30.0, 330.0), rng.uniform(-180.0, 180.0)
            u, v = length * math.sin(math.radians(angle)), length * math.cos(math.radians(angle))
            items.append(
                {"stations": f"{a}-{b}", "u_start": round(u, 3), "v_start": round(v, 3),
                 "u_end": round(u * 1.01, 3), "v_end": round(v * 0.99, 3), "length_start": round(length, 3),
                 "length_end": round(length * 1.004, 3), "angle_start": round(angle, 3),
                 "angle_end": round(angle + 1.5, 3)}
            )  # fmt: skip
    return msgspec.json.encode(items).decode()


def _array(values: list[str]) -> str:
    return "{" + ",".join(values) + "}"


async def fill_obsportal(pool: asyncpg.Pool, n: int, seed: int = 5) -> dict[str, Any]:
    """Programmes, targets and ``n`` exposures, COPYed straight into the view's tables."""
    from spicadb_astro.spica import MODES

    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    now = datetime.now(UTC)
    # 300 programmes: PI and two members each; the benchmark's member is in one in ten
    codes = [f"SPICA-{i:03d}" for i in range(300)]
    rights = []
    for i, code in enumerate(codes):
        members = sorted({f"pi-{i}", f"member-{i}-a", f"member-{i}-b", *([MEMBER] if i % 10 == 0 else [])})
        rights.append((uuid.uuid4(), code, f"Programme {i}", f"pi-{i}", False, 12 if i % 2 else 18, members))
    # 50,000 targets, each in a programme (none for one in twenty: only admins see those)
    n_targets = max(100, min(50_000, n // 20))
    t_ra, t_dec = sky(rng, n_targets)
    t_programme = rng.integers(0, len(codes), n_targets)
    t_none = rng.random(n_targets) < 0.05
    t_stations = [SIX.split("-"), FOUR.split("-"), ["S1", "E1", "W1"]]
    t_kind = rng.choice(3, n_targets, p=[0.3, 0.45, 0.25])
    templates = [[baselines_json(rng, t_stations[k]) for _ in range(40)] for k in range(3)]
    # exposures per target: heavy-tailed (most a handful, calibrators and favourites some hundreds)
    weights = np.clip(rng.lognormal(math.log(10.0), 1.0, n_targets), 1.0, 400.0)
    per_target = np.floor(weights / weights.sum() * n).astype(int)
    per_target[rng.choice(n_targets, n - per_target.sum(), replace=False)] += 1
    owner = np.repeat(np.arange(n_targets), per_target)
    rng.shuffle(owner)
    # start times: nights from seven years ago to last month, at night at CHARA (03:00-13:00 UT)
    first = nights.mjd(now - timedelta(days=7 * 365))
    last = nights.mjd(now - timedelta(days=30))
    day = np.floor(rng.uniform(first, last, n))
    mjd_start = np.round(day + rng.uniform(3 / 24, 13 / 24, n), 7)
    mjd_end = mjd_start + rng.uniform(300, 900, n) / 86400.0
    seeing = np.round(rng.uniform(0.6, 2.5, n), 2)
    tau0 = np.round(rng.uniform(0.002, 0.012, n), 4)
    temperature = np.round(rng.normal(8.0, 6.0, n), 1)
    modes = list(MODES.values())
    mode_of = rng.integers(0, len(modes), n)
    level_of = rng.choice(5, n, p=[0.3, 0.45, 0.12, 0.08, 0.05])
    levels = ("unknown", "good", "usable", "degraded", "bad")
    template_of = rng.integers(0, 40, n)
    mjd_zero = datetime(1858, 11, 17, tzinfo=UTC)
    await pool.execute("TRUNCATE exposure, target, programme_rights RESTART IDENTITY CASCADE")
    await pool.copy_records_to_table(
        "programme_rights",
        records=rights,
        columns=("programme_id", "code", "title", "pi", "public", "proprietary_months", "members"),
    )
    await pool.copy_records_to_table(
        "target",
        records=[
            (f"hd {100_000 + i}", f"HD {100_000 + i}", float(t_ra[i]), float(t_dec[i]))
            for i in range(n_targets)
        ],
        columns=("name_key", "name", "ra", "dec"),
    )
    columns = (
        "observation_id", "exp_header_id", "site", "night", "log_version", "programme", "target_id", "kind",
        "mode", "stations", "mjd_start", "mjd_end", "date_end", "ra", "dec", "seeing", "tau0", "temperature",
        "baselines", "matched_by", "em_min", "em_max", "resolving_power", "level", "logged_at",
    )  # fmt: skip
    chunk = 100_000
    for offset in range(0, n, chunk):
        out = io.StringIO()
        ids = rng.bytes(16 * min(chunk, n - offset))
        for j, k in enumerate(range(offset, min(n, offset + chunk))):
            t = int(owner[k])
            start = mjd_zero + timedelta(days=float(mjd_start[k]))
            end = mjd_zero + timedelta(days=float(mjd_end[k]))
            mode = modes[mode_of[k]]
            kind = int(t_kind[t])
            out.write(
                "\t".join((
                    str(uuid.UUID(bytes=ids[16 * j : 16 * j + 16])),
                    f"SPICA.{start.replace(tzinfo=None).isoformat(timespec='microseconds')}",
                    SITE,
                    (start - timedelta(hours=20)).date().isoformat(),
                    "1",
                    "\\N" if t_none[t] else codes[t_programme[t]],
                    str(t + 1),
                    "science" if t % 7 else "calibrator",
                    mode.name,
                    _array(t_stations[kind]),
                    repr(float(mjd_start[k])),
                    repr(float(mjd_end[k])),
                    end.isoformat(),
                    repr(float(t_ra[t])),
                    repr(float(t_dec[t])),
                    repr(float(seeing[k])),
                    repr(float(tau0[k])),
                    repr(float(temperature[k])),
                    templates[kind][template_of[k]],
                    "name",
                    repr(mode.em_min),
                    repr(mode.em_max),
                    repr(mode.resolving_power),
                    levels[level_of[k]],
                    end.isoformat(),
                ))
                + "\n"
            )  # fmt: skip
        await pool.copy_to_table("exposure", source=io.BytesIO(out.getvalue().encode()), columns=columns)
        say(f"exposures: {min(n, offset + chunk):,} of {n:,} written")
    await pool.execute("ANALYZE")
    stats = await pool.fetchrow(
        "SELECT count(*) AS n, count(*) FILTER (WHERE date_end + make_interval(months => r.proprietary_months)"
        " <= now()) AS released, pg_total_relation_size('exposure') AS bytes"
        " FROM exposure e LEFT JOIN programme_rights r ON r.code = e.programme"
    )
    seconds = time.perf_counter() - started
    say(
        f"{stats['n']:,} exposures of {n_targets:,} targets ({stats['released'] / stats['n']:.0%} released),"
        f" {stats['bytes'] / 1e9:.2f} GB with indexes, written and analysed in {seconds:.0f} s"
    )
    return {
        "exposures": int(stats["n"]),
        "targets": n_targets,
        "released": int(stats["released"]),
        "table_bytes": int(stats["bytes"]),
        "fill_s": seconds,
        "exposure_positions": (t_ra[owner], t_dec[owner]),
    }


def positions(rng: np.random.Generator, ra: np.ndarray, dec: np.ndarray, count: int, radius: float) -> list:
    """Cone centres near random exposures (weighted to where the data are), within half the radius."""
    picks = rng.integers(0, len(ra), count)
    offset, angle = radius * 0.5 * np.sqrt(rng.random(count)), rng.uniform(0, 2 * math.pi, count)
    d = np.clip(dec[picks] + offset * np.sin(angle), -90.0, 90.0)
    r = (ra[picks] + offset * np.cos(angle) / np.maximum(np.cos(np.radians(d)), 1e-3)) % 360.0
    return [(round(float(a), 6), round(float(b), 6)) for a, b in zip(r, d, strict=True)]


def cone_request(route: str, ra: float, dec: float, size: float) -> tuple[str, str, bytes | None]:
    if route == "scs":
        return "GET", f"/obsportal/scs?RA={ra}&DEC={dec}&SR={size}", None
    form = urlencode({"ra": ra, "dec": dec, "radius": round(size * 3600.0, 6), "all_fields": "false"})
    return "POST", "/obsportal/search.votable", form.encode()


def cone_sql(route: str) -> str:
    """The columns the service selects for this route (SCS at its default VERB, search.votable with the
    view's last change): the SQL baseline runs the service's own statement."""
    return _SEARCH_SQL if route == "votable" else _SCS_SQL[2]


async def cones(
    args: argparse.Namespace, clients: dict[str, Http], pool: asyncpg.Pool, data: dict[str, Any]
) -> dict[str, Any]:
    """Each cone and caller: SQL and HTTP timed in two halves, in alternate order (SQL first, then HTTP
    first: neither side always runs on the cache the other warmed), each side on centres of its own drawn
    from the same distribution (no side reads the rows the other just fetched)."""
    ra, dec = data["exposure_positions"]
    draws = {"sql": np.random.default_rng(11), "http": np.random.default_rng(12)}
    out: dict[str, Any] = {}
    viewers = {"anonymous": Viewer(None), "member": Viewer(MEMBER)}
    async with pool.acquire() as conn:
        store = ExposureStore(conn)
        for label, route, size in CONES:
            columns = cone_sql(route)
            for who, http in clients.items():
                key = f"{label}, {who}"
                http_at = iter(positions(draws["http"], ra, dec, args.requests + 10, size))
                sql_at = iter(positions(draws["sql"], ra, dec, args.requests + 10, size))
                rows: list[int] = []
                sql_rows: list[int] = []

                async def over_http(
                    http: Http = http,
                    route: str = route,
                    size: float = size,
                    at: Any = http_at,
                    rows: list[int] = rows,
                ) -> None:
                    method, path, body = cone_request(route, *next(at), size)
                    status, answer = await http.request(
                        method, path, body, "application/x-www-form-urlencoded"
                    )
                    if status != 200 or b"<TABLE" not in answer:
                        raise RuntimeError(f"{method} {path}: {failure(status, answer)}")
                    rows.append(answer.count(b"<TR>"))

                async def direct(
                    viewer: Viewer = viewers[who],
                    size: float = size,
                    at: Any = sql_at,
                    rows: list[int] = sql_rows,
                    columns: str = columns,
                ) -> None:
                    query = Query(viewer)
                    query.near(*next(at), size)
                    rows.append(len(await store.select(query, "e.mjd_start, e.id", MAX_ROWS, columns)))

                try:
                    half = max(1, args.requests // 2)
                    sql = await timed(direct, half)
                    web = await timed(over_http, half)
                    web += await timed(over_http, args.requests - half, warmup=0)
                    sql += await timed(direct, args.requests - half, warmup=0)
                except Exception as exc:  # reported in the table
                    out[key] = {"error": f"{type(exc).__name__}: {exc}"[:600]}
                    say(f"{key}: FAILED {out[key]['error']}")
                    continue
                out[key] = {
                    "sql": summary(sql),
                    "http": summary(web),
                    "rows_mean": float(np.mean(rows)),
                    "rows_max": int(np.max(rows)),
                    "empty": sum(1 for r in rows if r == 0) / len(rows),
                    "sql_rows_mean": float(np.mean(sql_rows)),
                }
                say(
                    f"{key:<38} rows {out[key]['rows_mean']:6.1f} (max {out[key]['rows_max']}):"
                    f" SQL p50 {out[key]['sql']['p50_ms']:6.2f} p99 {out[key]['sql']['p99_ms']:6.2f} ms;"
                    f" HTTP p50 {out[key]['http']['p50_ms']:6.2f} p99 {out[key]['http']['p99_ms']:6.2f} ms"
                )
        # the plan of one anonymous cone, as the service runs it
        query = Query(Viewer(None))
        query.near(*positions(draws["sql"], ra, dec, 1, 0.01)[0], 0.01)
        statement = query.sql("e.mjd_start, e.id", MAX_ROWS, cone_sql("scs"))
        plan = [r[0] for r in await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + statement, *query.args)]
    index_lines = [line.strip() for line in plan if "exposure_position" in line]
    out["explain"] = {
        "plan": plan,
        "index_line": index_lines[0] if index_lines else "GiST index NOT USED: " + " | ".join(plan[:4]),
        "execution": next((line.strip() for line in plan if line.startswith("Execution Time")), ""),
        "buffers": next((line.strip() for line in plan if "Buffers" in line), ""),
    }
    say(f"EXPLAIN: {out['explain']['index_line']}; {out['explain']['execution']}")
    return out


async def obsportal(
    args: argparse.Namespace, base: Path, cluster: PostgresCluster, server: NatsServer, tokens: TokenFactory,
    jwks_url: str,
) -> dict[str, Any]:  # fmt: skip
    await prepare(cluster, server, OBSPORTAL)
    pool = await service_pool(cluster, OBSPORTAL)
    try:
        say(f"writing {args.exposures:,} exposures")
        data = await fill_obsportal(pool, args.exposures)
        profile = args.profile / "obsportal.prof" if args.profile else None
        env = service_env(cluster, server, tokens, jwks_url, OBSPORTAL)
        async with running(OBSPORTAL.app, env, base / "obsportal.log", profile) as service:
            token = tokens.mint("nightlogs:read", subject=MEMBER, client_id="aspro2", lifetime=7200)
            clients = {"anonymous": AnonymousHttp(service.port), "member": Http(service.port, token)}
            try:
                result = await cones(args, clients, pool, data)
            finally:
                for client in clients.values():
                    await client.close()
        data.pop("exposure_positions")
        return {"data": data, "cones": result}
    finally:
        await pool.close()


# --- 2. nightlogs: a 10,000-line CHARA log ---------------------------------------------------------


def programme_targets(n: int = 300, seed: int = 21) -> list[tuple[Any, ...]]:
    """Targets of 30 programmes as the programmes events leave them in ``programme_target``."""
    rng = np.random.default_rng(seed)
    ra, dec = sky(rng, n)
    programme_ids = [uuid.uuid4() for _ in range(30)]
    return [
        (uuid.uuid4(), programme_ids[i % 30], f"SPICA-{i % 30:03d}", f"HD {200_000 + i}", f"hd{200_000 + i}",
         float(ra[i]), float(dec[i]), 2000.0, round(float(rng.normal(0, 30)), 3), round(float(rng.normal(0, 30)), 3))
        for i in range(n)
    ]  # fmt: skip


def night_log(night: date, n: int, targets: list[tuple[Any, ...]], seed: int) -> bytes:
    """``n`` SPICA lines in one night (local noon to local noon), one every few seconds: programme
    targets (matched by name, baselines computed) and one in five a calibrator nobody listed."""
    rng = np.random.default_rng(seed)
    start, end = nights.night_bounds(night)
    first, last = nights.mjd(start) + 0.5 / 24, nights.mjd(end) - 0.5 / 24
    mjds = np.round(np.linspace(first, last, n, endpoint=False), 6)
    lines = [LOG_HEADER]
    for i, mjd in enumerate(mjds):
        if rng.random() < 0.2:
            star, pi, program, kind = f"HD {300_000 + int(rng.integers(0, 2000))}", "", "", "CAL1"
        else:
            t = targets[int(rng.integers(0, len(targets)))]
            star, pi, program, kind = t[3], "ten Brummelaar", t[2], "OBJ"
        day = nights.datetime_of_mjd(float(mjd)).date().isoformat()
        scopes = SIX if i % 3 else FOUR
        mode = LOG_MODES[int(rng.integers(0, len(LOG_MODES)))]
        b = rng.uniform(0.5, 2.0, 3)
        lines.append(
            f"{day},{star},{pi},{program},SPICA,{kind},{float(mjd)},{mode},{scopes},"
            f"{b[0]:.2f},{b[1]:.2f},{b[2]:.2f},{rng.uniform(2, 12):.2f},{rng.uniform(3, 15):.2f}"
        )
    return ("\n".join(lines) + "\n").encode()


async def stream_messages(js: Any, stream: str) -> int:
    return int((await js.stream_info(stream)).state.messages)


async def ingest_once(
    http: Http, js: Any, stream: str, night: date, body: bytes, n: int, timeout: float = 180.0
) -> dict[str, Any]:
    """POST the log; time the response and, concurrently, until its n + 1 events are in the stream."""
    before = await stream_messages(js, stream)
    expected = before + n + 1
    started = time.perf_counter()
    seen: dict[str, float] = {}

    async def watch() -> None:
        while True:
            if await stream_messages(js, stream) >= expected:
                break
            await asyncio.sleep(0.002)  # a poll of the stream's state: what a reader of the bus sees
        seen["events"] = time.perf_counter() - started

    watcher = asyncio.create_task(watch())
    responded: float | None = None
    try:
        status, answer = await asyncio.wait_for(
            http.request("POST", f"/nightlogs/logs/{SITE}/{night.isoformat()}", body, "text/csv"), timeout
        )
        responded = time.perf_counter() - started
        if status != 201:
            return {"error": failure(status, answer), "response_s": responded}
        report = msgspec.json.decode(answer)
        if len(report.get("added", [])) != n:
            return {"error": f"added {len(report.get('added', []))} of {n}", "response_s": responded}
        await asyncio.wait_for(watcher, 120.0)
    except TimeoutError:
        await http.close()
        what = "answer" if responded is None else "events"
        return {"error": f"no {what} within the time allowed", "response_s": time.perf_counter() - started}
    finally:
        if not watcher.done():
            watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watcher
    return {
        "response_s": responded,
        "events_out_s": seen["events"],
        "events": n + 1,
        "unmatched": report.get("unmatched"),
    }


async def service_rows(pool: asyncpg.Pool, night: date, body: bytes) -> list[tuple[Any, ...]]:
    """The observation rows the service writes for this log (its own parse, match and row code)."""
    from spicadb_nightlogs.config import NightLogsSettings
    from spicadb_nightlogs.logfile import Night, parse_log
    from spicadb_nightlogs.services.ingest import LogService, prepare, target_of
    from spicadb_nightlogs.storage.observations import TargetStore

    settings = NightLogsSettings(environment="test")
    parsed_night = Night.of(night)
    parsed = parse_log(body, "text/csv", parsed_night, settings.default_exposure_seconds)
    assert not parsed.errors, parsed.errors[:3]
    async with pool.acquire() as conn:
        named = [target_of(r) for r in await TargetStore(conn).all()]
    items = prepare(SITE, parsed_night, parsed, [], named, [], settings.match_radius_arcsec)
    now = datetime.now(UTC)
    return [LogService._row(SITE, night, item, 1, 1, now) for item in items]


async def copy_once(pool: asyncpg.Pool, night: date, rows: list[tuple[Any, ...]]) -> float:
    from spicadb_nightlogs.storage.observations import OBSERVATION_COLUMNS

    start, end = nights.night_bounds(night)
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO night (site, night, start_utc, end_utc) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            SITE,
            night,
            start,
            end,
        )
        started = time.perf_counter()
        async with conn.transaction():
            await conn.copy_records_to_table("observation", records=rows, columns=OBSERVATION_COLUMNS)
        return time.perf_counter() - started


async def ingest_breakdown(
    cluster: PostgresCluster, server: NatsServer, night: date, body: bytes, n: int
) -> dict[str, Any]:
    """The service stopped: the same ingestion through LogService.ingest in this process, its phases
    timed with the service's own functions, then the relay alone on its events."""
    from spicadb_nightlogs import logfile
    from spicadb_nightlogs.config import NightLogsSettings
    from spicadb_nightlogs.services import ingest as ingest_module
    from spicadb_nightlogs.services.access import Caller
    from spicadb_nightlogs.services.ingest import LogService
    from spicadb_nightlogs.spec import SPEC
    from spicadb_nightlogs.storage import nights as night_storage
    from spicadb_nightlogs.storage import observations as observation_storage

    pool = await service_pool(cluster, SPEC, size=4)
    bus = Bus(server.url, name="bench-breakdown")
    await bus.connect()
    try:
        settings = NightLogsSettings(environment="test")
        caller = Caller(ROBOT, Viewer(ROBOT, True))
        outbox = Outbox(f"/spicadb/{SPEC.name}")
        service = LogService(pool, outbox, caller, settings)
        phases = Phases()
        phases.wrap(ingest_module, "parse_log", "parse (worker thread)")
        phases.wrap(ingest_module, "log_digest", "digest")
        phases.wrap(ingest_module, "prepare", "match + baselines (worker thread)")
        phases.wrap(observation_storage.TargetStore, "by_names", "targets by name")
        phases.wrap(night_storage.NightStore, "lock", "night lock")
        phases.wrap(observation_storage.ObservationStore, "of_night", "known observations")
        phases.wrap(observation_storage.ObservationStore, "copy_new", "COPY observations")
        phases.wrap(service, "_row", "rows")  # static methods: wrapped on the instance
        phases.wrap(service, "_logged", "events built")
        phases.wrap(night_storage.LogStore, "insert", "log version row (body)")
        phases.wrap(outbox, "add_many", "outbox write")
        phases.time_commits(ingest_module)
        try:
            started = time.perf_counter()
            report = await service.ingest(SITE, night, body, "text/csv")
            total = time.perf_counter() - started
        finally:
            phases.restore()
        assert len(report.added) == n, report
        seconds = dict(phases.seconds)
        seconds["other"] = total - sum(seconds.values())
        relay = OutboxRelay(pool, bus, schema=SPEC.schema, batch=settings.outbox_batch)
        payload = await pool.fetchval(
            "SELECT coalesce(sum(length(payload)), 0) FROM outbox WHERE published_at IS NULL"
        )
        published = 0
        started = time.perf_counter()
        async with pool.acquire() as conn:
            while sent := await relay.publish_round(conn):
                published += sent
        relay_s = time.perf_counter() - started
        # the worker-thread parts under cProfile, directly
        profiles = {}
        parsed_night = logfile.Night.of(night)
        profiler = cProfile.Profile()
        profiler.enable()
        parsed = logfile.parse_log(body, "text/csv", parsed_night, settings.default_exposure_seconds)
        profiler.disable()
        profiles["parse_log"] = profiler
        async with pool.acquire() as conn:
            named = [ingest_module.target_of(r) for r in await observation_storage.TargetStore(conn).all()]
        profiler = cProfile.Profile()
        profiler.enable()
        ingest_module.prepare(SITE, parsed_night, parsed, [], named, [], settings.match_radius_arcsec)
        profiler.disable()
        profiles["prepare"] = profiler
        texts = {}
        for name, prof in profiles.items():
            text = io.StringIO()
            pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(12)
            texts[name] = text.getvalue()
        say(f"breakdown: ingest {total:.2f} s in process, relay {relay_s:.2f} s for {published} events")
        return {
            "total_s": total,
            "phases_s": seconds,
            "relay_s": relay_s,
            "relay_events": published,
            "relay_mb": payload / 1e6,
            "profiles": texts,
        }
    finally:
        await bus.close()
        await pool.close()


async def night_logs(
    args: argparse.Namespace, base: Path, cluster: PostgresCluster, server: NatsServer, tokens: TokenFactory,
    jwks_url: str,
) -> dict[str, Any]:  # fmt: skip
    try:
        from spicadb_nightlogs.spec import SPEC, STREAM
    except Exception as exc:  # another helper may be finishing the service
        return {"error": f"spicadb_nightlogs not importable: {exc!r}"}
    await prepare(cluster, server, SPEC)
    pool = await service_pool(cluster, SPEC)
    out: dict[str, Any] = {"lines": args.lines}
    try:
        targets = programme_targets()
        await pool.copy_records_to_table(
            "programme_target",
            records=targets,
            columns=("target_id", "programme_id", "programme", "name", "name_key", "ra", "dec", "epoch", "pmra",
                     "pmdec"),
        )  # fmt: skip
        bodies = {
            night: night_log(night, args.lines, targets, seed=i) for i, night in enumerate(SERVICE_NIGHTS)
        }
        base_bodies = {
            night: night_log(night, args.lines, targets, seed=i) for i, night in enumerate(BASELINE_NIGHTS)
        }
        out["body_bytes"] = len(bodies[SERVICE_NIGHTS[0]])
        say(f"{args.lines:,}-line CHARA log: {out['body_bytes'] / 1e6:.2f} MB of CSV")
        profile = args.profile / "nightlogs.prof" if args.profile else None
        env = service_env(cluster, server, tokens, jwks_url, SPEC)
        best: dict[str, Any] = {}
        copy_s = math.inf
        nc = await nats.connect(server.url)
        try:
            js = nc.jetstream()
            async with running(SPEC.app, env, base / "nightlogs.log", profile) as service:
                token = tokens.mint(
                    "nightlogs:write", "nightlogs:read", subject=ROBOT, client_id=ROBOT, lifetime=7200
                )
                http = Http(service.port, token)
                try:
                    for r in range(args.rounds):
                        rows = await service_rows(pool, BASELINE_NIGHTS[r], base_bodies[BASELINE_NIGHTS[r]])
                        seconds = await copy_once(pool, BASELINE_NIGHTS[r], rows)
                        copy_s = min(copy_s, seconds)
                        say(f"{args.lines:,} lines, COPY:    {seconds:7.3f} s")
                        night = SERVICE_NIGHTS[r]
                        result = await ingest_once(http, js, STREAM.name, night, bodies[night], args.lines)
                        result["night"] = night.isoformat()
                        if "error" in result:
                            say(f"{args.lines:,} lines, service: FAILED {result['error']}")
                            best = best or result
                            continue
                        say(
                            f"{args.lines:,} lines, service: response {result['response_s']:7.3f} s,"
                            f" events out {result['events_out_s']:7.3f} s ({result['events']} events,"
                            f" {result['unmatched']} unmatched)"
                        )
                        if not best or "error" in best or result["events_out_s"] < best["events_out_s"]:
                            best = result
                finally:
                    await http.close()
                out["copy_s"] = copy_s
                out["ingest"] = best
                missed = "error" in best or best["events_out_s"] >= TARGET_LOG_SECONDS
                if args.breakdown or missed:
                    service.stop(signal.SIGINT if profile else signal.SIGTERM)
                    say("service stopped; the same ingestion in this process, phase by phase")
                    body = night_log(BREAKDOWN_NIGHT, args.lines, targets, seed=99)
                    out["breakdown"] = await ingest_breakdown(
                        cluster, server, BREAKDOWN_NIGHT, body, args.lines
                    )
        finally:
            await nc.close()
    finally:
        await pool.close()
    return out


# --- the run ---------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"exposures": args.exposures, "requests": args.requests, "lines": args.lines}
    try:
        with infrastructure(base) as (cluster, server):
            jwks: LocalServer | None = None
            try:
                say(f"PostgreSQL on {cluster.port}, NATS on {server.url}")
                tokens = TokenFactory()
                jwks = await LocalServer(Jwks(tokens.jwks)).start()
                jwks_url = jwks.url + "/.well-known/jwks.json"
                if args.only in (None, "obsportal"):
                    results["obsportal"] = await obsportal(args, base, cluster, server, tokens, jwks_url)
                if args.only in (None, "nightlogs"):
                    results["nightlogs"] = await night_logs(args, base, cluster, server, tokens, jwks_url)
            finally:
                if jwks is not None:
                    await jwks.stop()
    finally:
        if args.keep:
            say(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return results


def report(results: dict[str, Any], figures: Figures) -> bool:
    ok = True
    portal = results.get("obsportal")
    if portal:
        data = portal["data"]
        print()
        print(
            f"cone search on {data['exposures']:,} exposures ({data['targets']:,} targets,"
            f" {data['released'] / data['exposures']:.0%} released; sequential requests, ms)"
        )
        print(
            f"{'':<38}{'rows':>6}{'SQL p50':>9}{'p99':>7}{'HTTP p50':>10}{'p99':>7}{'p50 ratio':>11}"
            f"{'p99 ratio':>10}   target HTTP p99 < {TARGET_CONE_P99_MS:g} ms"
        )
        for label, _, _ in CONES:
            for who in ("anonymous", "member"):
                key = f"{label}, {who}"
                row = portal["cones"].get(key, {"error": "not measured"})
                target = f"< {TARGET_CONE_P99_MS:g} ms"
                if "error" in row:
                    ok = False
                    figures.failed(f"cone {key}: HTTP p99", row["error"], target=target)
                    print(f"  {key:<36}FAILED: {row['error'][:200]}")
                    continue
                sql, web = row["sql"], row["http"]
                passed = web["p99_ms"] < TARGET_CONE_P99_MS
                ok &= passed
                row["p50_ratio"] = web["p50_ms"] / sql["p50_ms"]
                row["p99_ratio"] = web["p99_ms"] / sql["p99_ms"]
                figures.add(f"cone {key}: HTTP p99", web["p99_ms"], "ms", target=target, met=passed,
                            baseline=sql["p99_ms"], baseline_label="the same SQL, p99")  # fmt: skip
                figures.add(f"cone {key}: HTTP p50", web["p50_ms"], "ms", baseline=sql["p50_ms"],
                            baseline_label="the same SQL, p50")  # fmt: skip
                print(
                    f"  {key:<36}{row['rows_mean']:>6.1f}{sql['p50_ms']:>9.2f}{sql['p99_ms']:>7.2f}"
                    f"{web['p50_ms']:>10.2f}{web['p99_ms']:>7.2f}{row['p50_ratio']:>10.1f}x"
                    f"{row['p99_ratio']:>9.1f}x   {verdict(passed)}"
                )
        explain = portal["cones"].get("explain")
        if explain:
            print(f"  EXPLAIN (ANALYZE, BUFFERS), SR 0.01 anonymous: {explain['index_line']}")
            print(f"    {explain['buffers']}; {explain['execution']}")
    logs = results.get("nightlogs")
    if logs:
        print()
        if "error" in logs:
            ok = False
            figures.failed("night log: events out", logs["error"], target=f"< {TARGET_LOG_SECONDS:g} s")
            print(f"night-log ingestion: NOT MEASURABLE: {logs['error']}")
        else:
            best, copy_s, limit = logs["ingest"], logs["copy_s"], TARGET_LOG_SECONDS
            print(
                f"{'night-log ingestion':<30}{'COPY s':>8}{'response s':>12}{'ratio':>8}{'events out s':>14}"
                f"{'ratio':>8}{'body MB':>9}   target (events out included)"
            )
            label = f"  {logs['lines']:,} lines, CSV"
            if "error" in best:
                ok = False
                figures.failed(
                    f"night log of {logs['lines']:,} lines: events out",
                    best["error"],
                    target=f"< {limit:g} s",
                )
                print(f"{label:<30}{copy_s:>8.3f}  FAILED: {best['error'][:200]}")
            else:
                passed = best["events_out_s"] < limit
                ok &= passed
                best["response_ratio"] = best["response_s"] / copy_s
                best["events_out_ratio"] = best["events_out_s"] / copy_s
                what = f"night log of {logs['lines']:,} lines"
                figures.add(f"{what}: events out", best["events_out_s"], "s", target=f"< {limit:g} s",
                            met=passed, baseline=copy_s, baseline_label="COPY of the same rows")  # fmt: skip
                figures.add(f"{what}: response", best["response_s"], "s", baseline=copy_s,
                            baseline_label="COPY of the same rows")  # fmt: skip
                print(
                    f"{label:<30}{copy_s:>8.3f}{best['response_s']:>12.3f}{best['response_ratio']:>7.1f}x"
                    f"{best['events_out_s']:>14.3f}{best['events_out_ratio']:>7.1f}x{logs['body_bytes'] / 1e6:>9.2f}"
                    f"   < {limit:g} s: {verdict(passed)}"
                )
            split = logs.get("breakdown")
            if split:
                print()
                print(
                    f"Where the time goes: {logs['lines']:,} lines ingested in this process (service stopped):"
                    f" ingest {split['total_s']:.2f} s, then relay {split['relay_s']:.2f} s"
                    f" ({split['relay_events']} events, {split['relay_mb']:.1f} MB)"
                )
                for name, seconds in sorted(split["phases_s"].items(), key=lambda kv: -kv[1]):
                    print(f"    {name:<40}{seconds:>8.3f} s{seconds / split['total_s'] * 100:>6.0f}%")
                for name, text in split["profiles"].items():
                    lines = [line for line in text.splitlines() if line.strip()]
                    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
                    print(f"  {name} under cProfile, by own time:")
                    for line in lines[start : start + 13]:
                        print("    " + line[:150])
    print()
    return bool(ok)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--exposures", type=int, default=1_000_000, help="exposures in the ObsPortal view")
    parser.add_argument("--requests", type=int, default=1000, help="requests per cone and caller")
    parser.add_argument("--lines", type=int, default=10_000, help="lines of the night log")
    parser.add_argument("--rounds", type=int, default=3, help="ingestions (best kept)")
    parser.add_argument("--quick", action="store_true", help="one ingestion, 200 requests per cone")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, breakdown included: checks the bench runs (exit 1 only when a figure failed)",
    )
    parser.add_argument("--breakdown", action="store_true", help="phase breakdown even when targets are met")
    parser.add_argument("--only", choices=("obsportal", "nightlogs"), help="one half of the benchmark")
    parser.add_argument("--json", type=Path, help="write the results here too")
    parser.add_argument("--keep", action="store_true", help="keep the data and logs folder")
    parser.add_argument(
        "--profile", type=Path, help="run the services under cProfile, write <service>.prof here"
    )
    # `make bench` passes one BENCH_ARGS to every benchmark: the others' options are not errors here
    args, others = parser.parse_known_args()
    if others:
        say(f"ignoring options of the other benchmarks: {' '.join(others)}")
    if args.quick:
        args.rounds, args.requests = 1, 200
    if args.smoke:
        args.exposures, args.requests, args.lines, args.rounds, args.breakdown = 2000, 10, 100, 1, True
    args.rounds = max(1, min(args.rounds, len(SERVICE_NIGHTS)))
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    uvloop.install()
    base = Path(tempfile.mkdtemp(prefix="spicadb-bench-nightlogs-"))
    base.chmod(0o755)  # the postgres user must reach its data folder inside
    results = asyncio.run(run(args, base))
    figures = Figures("nightlogs")
    report(results, figures)
    return finish(figures, results, args.json, args.smoke)


if __name__ == "__main__":
    sys.exit(main())
