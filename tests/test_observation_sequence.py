"""One observation's life as the night logs publish it (logged, flagged, corrected, withdrawn: one
version counter), followed by every consumer of those events at once: the L0 view, the oifits copy
the granules link to, the OiDB quality and the programmes' progress. Each ends at the right state,
whatever subset of the observation's events it takes, and nothing waits or is dead-lettered."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from harness import eventually
from nats.js import JetStreamContext
from spicadb_obsportal.app import create_app as obsportal_app
from spicadb_obsportal.spec import SPEC as OBSPORTAL
from spicadb_oidb.app import create_app as oidb_app
from spicadb_oidb.spec import SPEC as OIDB
from spicadb_oifits.app import create_app as oifits_app
from spicadb_oifits.spec import SPEC as OIFITS
from spicadb_programmes.app import create_app as programmes_app
from spicadb_programmes.spec import SPEC as PROGRAMMES

from spicadb_contracts.nightlogs import ObservationFlagged, ObservationLogged
from spicadb_kit.infra import NatsServer
from spicadb_kit.testing.services import InstalledService
from spicadb_kit.testing.tokens import TokenFactory

NIGHT = date(2026, 5, 14)
SIX = ["E1", "W2", "W1", "S2", "S1", "E2"]
START = datetime(2026, 5, 15, 6, 0, tzinfo=UTC)
ADA = ("programmes:read", "programmes:write")


class Platform:
    """The four consumers of the night-log observation events, installed in one database."""

    def __init__(self, services: dict[str, InstalledService]) -> None:
        self.services = services

    def __getitem__(self, name: str) -> InstalledService:
        return self.services[name]

    async def busy(self) -> list[str]:
        """The consumers still holding events (pending or unacknowledged)."""
        busy = []
        for service in self.services.values():
            for decl in service.spec.consumers:
                info = await service.js.consumer_info(decl.stream, decl.durable)
                if info.num_pending or info.num_ack_pending:
                    busy.append(decl.durable)
        return busy

    async def settle(self, step: str) -> None:
        async def idle() -> bool:
            return not await self.busy()

        try:
            await eventually(idle, timeout=20)
        except AssertionError:
            raise AssertionError(f"after {step}, still holding events: {await self.busy()}") from None

    async def dead_letters(self) -> dict[str, int]:
        counts = {
            name: int(await s.scalar("SELECT count(*) FROM dead_letter")) for name, s in self.services.items()
        }
        return {name: n for name, n in counts.items() if n}


@pytest.fixture
async def platform(
    database: str, jetstream: JetStreamContext, nats_server: NatsServer, tokens: TokenFactory, tmp_path: Path
) -> AsyncIterator[Platform]:
    made = {
        "obsportal": InstalledService(OBSPORTAL, obsportal_app, database, nats_server.url, tokens, jetstream),
        "oifits": InstalledService(OIFITS, oifits_app, database, nats_server.url, tokens, jetstream),
        "oidb": InstalledService(OIDB, oidb_app, database, nats_server.url, tokens, jetstream),
        "programmes": InstalledService(
            PROGRAMMES, programmes_app, database, nats_server.url, tokens, jetstream
        ),
    }
    for service in made.values():
        await service.install()
    yield Platform(made)
    for service in made.values():
        await service.close()


def mjd(moment: datetime) -> float:
    return (moment - datetime(1858, 11, 17, tzinfo=UTC)).total_seconds() / 86400.0


def logged(observation_id: uuid.UUID, log_version: int, *, withdrawn: bool = False) -> ObservationLogged:
    return ObservationLogged(
        observation_id=observation_id,
        site="CHARA",
        night=NIGHT,
        log_version=log_version,
        target_name="Vega",
        mode="LR",
        stations=SIX,
        mjd_start=mjd(START),
        mjd_end=mjd(START + timedelta(minutes=20)),
        logged_at=datetime.now(UTC),
        programme="LP-1",
        ra=279.2347,
        dec=38.7837,
        matched_by="name",
        withdrawn=withdrawn,
        # the corrected log changes the conditions
        seeing=0.8 if log_version == 1 else 1.1,
    )


def flagged(observation_id: uuid.UUID, level: str) -> ObservationFlagged:
    return ObservationFlagged(
        observation_id=observation_id,
        level=level,
        previous_level="unknown",
        reasons=["seeing"],
        comment="",
        flagged_by="night-astronomer",
        flagged_at=datetime.now(UTC),
        programme="LP-1",
    )


async def observing_programme(client: Any, programmes: InstalledService) -> None:
    """LP-1 with Vega, a 6T LR setup and a request of one visit."""
    ada = programmes.auth("ada", *ADA)
    steps: list[tuple[str, dict[str, Any]]] = [
        ("/programmes/", {"code": "LP-1", "title": "Giants", "public": False, "members": []}),
        ("/programmes/LP-1/targets/", {"name": "Vega", "ra": 279.2347, "dec": 38.7837}),
        ("/programmes/LP-1/setups", {"name": "lr6", "mode": "LR", "configuration": SIX}),
    ]
    made = []
    for path, body in steps:
        response = await client.post(path, json=body, headers=ada)
        assert response.status_code == 201, response.text
        made.append(response.json())
    request = {"target_id": made[1]["id"], "setup": "lr6", "visits": 1}
    response = await client.post("/programmes/LP-1/requests", json=request, headers=ada)
    assert response.status_code == 201, response.text


State = Callable[[uuid.UUID], Awaitable[Any]]


async def test_log_flag_correction_and_withdrawal_reach_every_consumer(platform: Platform) -> None:
    observation = uuid.uuid4()
    nightlogs = platform["obsportal"]  # publishes as the night logs' relay does: one version counter

    async def obsportal(o: uuid.UUID) -> Any:
        row = await platform["obsportal"].fetch(
            "SELECT log_version, level, withdrawn, seeing FROM exposure WHERE observation_id = $1", o
        )
        return tuple(row[0]) if row else None

    async def oifits(o: uuid.UUID) -> Any:
        row = await platform["oifits"].fetch(
            "SELECT log_version, withdrawn FROM observation WHERE observation_id = $1", o
        )
        return tuple(row[0]) if row else None

    async def oidb(o: uuid.UUID) -> Any:
        row = await platform["oidb"].fetch("SELECT level FROM observation_flag WHERE observation_id = $1", o)
        return row[0][0] if row else None

    async def programmes(o: uuid.UUID) -> Any:
        row = await platform["programmes"].fetch("SELECT level, withdrawn FROM observation WHERE id = $1", o)
        progress = await platform["programmes"].scalar("SELECT observed || '/' || good FROM request")
        return (*row[0], progress) if row else None

    states: dict[str, State] = {
        "obsportal": obsportal,
        "oifits": oifits,
        "oidb": oidb,
        "programmes": programmes,
    }
    steps = [
        (
            logged(observation, 1),
            {"obsportal": (1, "unknown", False, 0.8), "oifits": (1, False), "oidb": None,
             "programmes": ("unknown", False, "1/0")},
        ),
        (
            flagged(observation, "good"),
            {"obsportal": (1, "good", False, 0.8), "oifits": (1, False), "oidb": "good",
             "programmes": ("good", False, "1/1")},
        ),
        (
            logged(observation, 2),  # the corrected log
            {"obsportal": (2, "good", False, 1.1), "oifits": (2, False), "oidb": "good",
             "programmes": ("good", False, "1/1")},
        ),
        (
            logged(observation, 3, withdrawn=True),  # a second correction withdraws it
            {"obsportal": (3, "good", True, 1.1), "oifits": (3, True), "oidb": "good",
             "programmes": ("good", True, "0/0")},
        ),
    ]  # fmt: skip
    async with AsyncExitStack() as stack:
        clients = {
            name: await stack.enter_async_context(s.running()) for name, s in platform.services.items()
        }
        await observing_programme(clients["programmes"], platform["programmes"])
        for step, (event, expected) in enumerate(steps, start=1):
            await nightlogs.publish(event, str(observation))
            await platform.settle(f"step {step} ({type(event).__name__})")
            found = {name: await state(observation) for name, state in states.items()}
            assert found == expected, f"after step {step}"
        assert await platform.dead_letters() == {}
