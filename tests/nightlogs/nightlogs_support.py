"""The night-logs service installed against the session's real PostgreSQL and NATS, with tokens for
its users and robots, a way to publish the programmes events it consumes, and CHARA logs to post."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
from harness import eventually
from litestar.testing import AsyncTestClient
from nats.js import JetStreamContext
from spicadb_nightlogs.app import create_app
from spicadb_nightlogs.spec import SPEC

from spicadb_astro import nights
from spicadb_contracts.programmes import Member, ProgrammeCreated, TargetsImported, TargetSnapshot
from spicadb_kit.testing.services import InstalledService
from spicadb_kit.testing.tokens import TokenFactory

READ = "nightlogs:read"
INGEST = ("nightlogs:write", "nightlogs:read")
SCHEDULE = ("schedule:write", "nightlogs:read")
FLAG = ("nightlogs:flag", "nightlogs:read")
PROBLEM = "application/problem+json"
EVENT_TYPE = "org.jmmc.spicadb.{}.v1"
HEADER = "UT-DATE,STAR,PI,PROGRAM,COMBINER,TYPE,MJD,FILTER,SCOPES,B1,B2,B3,T0_OBS,T0_500nm"
SIX = "S1-E1-W1-W2-E2-S2"
# a January night at CHARA: local noon (PST) = 20:00 UT, from 2026-01-14T20:00Z to 2026-01-15T20:00Z
NIGHT = date(2026, 1, 14)
Client = AsyncTestClient[Any]


class NightLogsService(InstalledService):
    default_scopes = (READ,)

    def __init__(self, admin_dsn: str, nats_url: str, tokens: TokenFactory, js: JetStreamContext) -> None:
        super().__init__(SPEC, create_app, admin_dsn, nats_url, tokens, js)

    async def counts(self) -> dict[str, int]:
        """Rows of every table a post may write."""
        tables = ("night", "plan_version", "log_version", "observation", "observation_flag", "outbox")
        return {t: await self.scalar(f"SELECT count(*) FROM {t}") for t in tables}


# --- programmes: data rights and targets --------------------------------------------------------


async def programme(
    service: NightLogsService, code: str, *, pi: str = "ada", members: Sequence[str] = (), months: int = 18,
    public: bool = False,
) -> uuid.UUID:  # fmt: skip
    programme_id = uuid.uuid4()
    event = ProgrammeCreated(
        programme_id=programme_id, code=code, title=code, kind="large-programme", pi=pi, status="active",
        public=public, proprietary_months=months,
        members=[Member(pi, "pi"), *(Member(m, "viewer") for m in members)],
        created_by=pi, created_at=datetime.now(UTC),
    )  # fmt: skip
    await service.publish(event, str(programme_id))
    return programme_id


async def targets(
    service: NightLogsService, programme_id: uuid.UUID, code: str, snapshots: list[TargetSnapshot]
) -> None:
    event = TargetsImported(
        programme_id=programme_id, code=code, import_id=uuid.uuid4(), batch=1, batches=1,
        total=len(snapshots), targets=snapshots, imported_by="ada", imported_at=datetime.now(UTC),
    )  # fmt: skip
    await service.publish(event, str(programme_id))


async def copied(service: NightLogsService, programmes: int = 0, targets: int = 0) -> None:
    async def done() -> bool:
        have_p = await service.scalar("SELECT count(*) FROM programme_rights")
        have_t = await service.scalar("SELECT count(*) FROM programme_target")
        return bool(have_p >= programmes and have_t >= targets)

    await eventually(done)


# --- logs ---------------------------------------------------------------------------------------


def at(hour: float, night: date = NIGHT) -> datetime:
    """``hour`` hours after 00:00 UT of the day after ``night`` (negative: the evening)."""
    return datetime(night.year, night.month, night.day, tzinfo=UTC) + timedelta(days=1, hours=hour)


def mjd_at(hour: float, night: date = NIGHT) -> float:
    return round(nights.mjd(at(hour, night)), 6)


def line(
    star: str, hour: float, *, mode: str = "LR", kind: str = "OBJ", program: str = "LP-1", combiner: str = "SPICA",
    scopes: str = SIX, ut_date: str | None = None, mjd: float | None = None, night: date = NIGHT,
) -> str:  # fmt: skip
    start = mjd if mjd is not None else mjd_at(hour, night)
    day = ut_date or nights.datetime_of_mjd(start).date().isoformat()
    return f"{day},{star},ten Brummelaar,{program},{combiner},{kind},{start},{mode},{scopes},1,2,3,4.5,6.5"


def csv_log(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


async def post_log(
    client: Client, service: NightLogsService, body: bytes, night: date = NIGHT, *, media: str = "text/csv",
    site: str = "CHARA",
) -> Any:  # fmt: skip
    return await client.post(
        f"/nightlogs/logs/{site}/{night.isoformat() if isinstance(night, date) else night}",
        content=body,
        headers={**service.robot("chara-ingest", *INGEST), "Content-Type": media},
    )


def problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers["content-type"]
    document: dict[str, Any] = response.json()
    assert document["status"] == status
    if code is not None:
        assert document["type"].endswith("/" + code), document
    return document


def fields(document: dict[str, Any]) -> list[str]:
    return [e["field"] for e in document.get("errors") or []]


async def outbox(service: NightLogsService, name: str) -> list[dict[str, Any]]:
    rows = await service.fetch(
        "SELECT payload FROM outbox WHERE event_type = $1 ORDER BY id", EVENT_TYPE.format(name)
    )
    return [msgspec.json.decode(r["payload"]) for r in rows]


async def outbox_rows(service: NightLogsService, name: str) -> list[asyncpg.Record]:
    return await service.fetch(
        "SELECT aggregate_id, aggregate_version, payload FROM outbox WHERE event_type = $1 ORDER BY id",
        EVENT_TYPE.format(name),
    )
