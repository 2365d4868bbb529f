"""The oifits service installed against the session's real PostgreSQL and NATS, with its file store in a
folder of the test, tokens for the DRS and for people, and the events it consumes published as their
producers do (programmes on SPICADB_PROGRAMMES, observations on SPICADB_NIGHTLOGS)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
from litestar.testing import AsyncTestClient
from nats.js import JetStreamContext
from spicadb_oifits.app import create_app
from spicadb_oifits.spec import SPEC
from synthetic import Observation, Spec, Target, build, mjd, to_bytes

from spicadb_astro import nights
from spicadb_contracts import Event
from spicadb_contracts.nightlogs import ObservationLogged
from spicadb_kit.testing.services import InstalledService
from spicadb_kit.testing.tokens import TokenFactory

PUSH = ("oifits:push", "oifits:read")
PUBLIC_URL = "http://gateway.test"
Client = AsyncTestClient[Any]


class OifitsService(InstalledService):
    default_scopes = ("oifits:read",)

    def __init__(
        self, admin_dsn: str, nats_url: str, tokens: TokenFactory, js: JetStreamContext, store: Path
    ) -> None:
        super().__init__(SPEC, create_app, admin_dsn, nats_url, tokens, js)
        self.store = store

    def settings(self, **overrides: Any) -> Any:
        values = {"store_path": str(self.store), "public_url": PUBLIC_URL, **overrides}
        return super().settings(**values)

    def drs(self) -> dict[str, str]:
        return self.robot("drs", *PUSH)

    def objects(self) -> list[str]:
        """sha256 keys of every object stored (files and plots)."""
        return sorted(p.name for p in (self.store / "objects").glob("*/*/*"))

    def incoming(self) -> list[str]:
        folder = self.store / "incoming"
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []

    async def counts(self) -> dict[str, int]:
        tables = ("oifits_file", "granule", "preview", "granule_observation", "rejection", "outbox")
        return {t: int(await self.scalar(f"SELECT count(*) FROM {t}")) for t in tables}

    async def events(self, subject: str) -> list[dict[str, Any]]:
        """Payloads the relay published on ``spicadb.oifits.<subject>.v1`` so far."""
        found = []
        sub = await self.js.subscribe(f"spicadb.oifits.{subject}.v1", ordered_consumer=True)
        try:
            while True:
                try:
                    msg = await sub.next_msg(timeout=0.5)
                except TimeoutError:
                    break
                found.append(msgspec.json.decode(msg.data))
        finally:
            await sub.unsubscribe()
        return found


async def push(
    client: Client, data: bytes, headers: dict[str, str], filename: str = "spica.fits", **params: Any
) -> Any:
    query = {"filename": filename, **{k: str(v) for k, v in params.items()}}
    return await client.post(
        "/oifits/files", params=query, content=data, headers={**headers, "Content-Type": "application/fits"}
    )


# --- files ------------------------------------------------------------------------------------------

NIGHT = date(2026, 5, 14)
# a recent night at CHARA: 06:00 UT on the morning after NIGHT (23:00 local)
RECENT = mjd("2026-05-15T06:00")
OLD = mjd("2019-05-15T06:00")


def oifits(
    *,
    target: str = "HD 1",
    ra: float = 10.0,
    dec: float = 20.0,
    at: Sequence[float] = (RECENT,),
    programme: str | None = "LP-1",
    arcfile: str | None = None,
    category: str = "SCI",
    drs: bool = False,
    extra: dict[str, object] | None = None,
) -> bytes:
    """A clean SPICA file of one target observed at ``at`` (MJDs), naming its programme."""
    primary: dict[str, object] = dict(extra or {})
    if programme:
        primary["OBS PROG ID"] = programme
    if arcfile:
        primary["ARCFILE"] = arcfile
    if drs:
        primary.update({"SPICADB-ID": f"{programme}/1", "QUALITY LEVEL": 4, "PRO SCIENCE": True})
        primary.setdefault("ARCFILE", "SPICA.2026-05-15T06:00:00.fits")
    spec = Spec(
        targets=(Target(target, ra, dec, category),),
        observations=tuple(Observation(m) for m in at),
        primary=primary,
    )
    return to_bytes(build(spec))


# --- events it consumes --------------------------------------------------------------------------------


def observation(
    *,
    target: str = "HD 1",
    start: float = RECENT - 0.01,
    end: float = RECENT + 0.01,
    programme: str | None = "LP-1",
    raw_files: Sequence[str] = (),
    withdrawn: bool = False,
    observation_id: UUID | None = None,
    version: int = 1,
    ra: float | None = 10.0,
    dec: float | None = 20.0,
) -> ObservationLogged:
    return ObservationLogged(
        observation_id=observation_id or uuid.uuid4(),
        site="CHARA",
        night=nights.night_of_mjd(start),
        log_version=version,
        target_name=target,
        mode="LR",
        stations=["S1", "S2", "E1"],
        mjd_start=start,
        mjd_end=end,
        logged_at=datetime.now(UTC),
        programme=programme,
        ra=ra,
        dec=dec,
        raw_files=list(raw_files),
        withdrawn=withdrawn,
        matched_by="name" if programme else "none",
    )


async def log(service: OifitsService, event: Event) -> None:
    assert isinstance(event, ObservationLogged)
    await service.publish(event, str(event.observation_id))
