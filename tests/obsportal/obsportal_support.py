"""The obsportal service installed against the session's real PostgreSQL and NATS, with tokens for its
users, and ways to publish the events it consumes as their producers do (programmes on
SPICADB_PROGRAMMES, the night logs on SPICADB_NIGHTLOGS), and to check its VOTables."""

from __future__ import annotations

import shutil
import subprocess
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient
from nats.js import JetStreamContext
from spicadb_obsportal.app import create_app
from spicadb_obsportal.spec import SPEC

from spicadb_contracts.nightlogs import (
    NightScheduled,
    ObservationFlagged,
    ObservationLogged,
    PlannedObservation,
    ProjectedBaseline,
)
from spicadb_kit.events.envelope import Envelope
from spicadb_kit.testing.services import InstalledService
from spicadb_kit.testing.tokens import TokenFactory

READ = ("nightlogs:read",)
# VOTable 1.4 keeps the 1.3 namespace
VO = "{http://www.ivoa.net/xml/VOTable/v1.3}"
Client = AsyncTestClient[Any]


class ObsportalService(InstalledService):
    default_scopes = READ

    def __init__(self, admin_dsn: str, nats_url: str, tokens: TokenFactory, js: JetStreamContext) -> None:
        super().__init__(SPEC, create_app, admin_dsn, nats_url, tokens, js)


# --- events ---------------------------------------------------------------------------------------

NIGHT = date(2026, 5, 14)
SIX = ["E1", "W2", "W1", "S2", "S1", "E2"]


def now() -> datetime:
    return datetime.now(UTC)


def mjd(moment: datetime) -> float:
    return (moment - datetime(1858, 11, 17, tzinfo=UTC)).total_seconds() / 86400.0


def baseline(stations: str = "S1-E1") -> ProjectedBaseline:
    return ProjectedBaseline(
        stations=stations, u_start=197.02, v_start=249.45, u_end=125.336, v_end=304.971,
        length_start=317.872, length_end=329.721, angle_start=38.3, angle_end=22.3,
    )  # fmt: skip


def logged(
    target: str = "Vega",
    ra: float | None = 279.2347,
    dec: float | None = 38.7837,
    *,
    programme: str | None = "LP-1",
    start: datetime | None = None,
    observation_id: UUID | None = None,
    **extra: Any,
) -> ObservationLogged:
    """An observation of ``target`` (matched by name to ``programme``), with its conditions."""
    start = start or datetime(2026, 5, 15, 6, 0, tzinfo=UTC)
    values: dict[str, Any] = {
        "observation_id": observation_id or uuid.uuid4(),
        "site": "CHARA",
        "night": NIGHT,
        "log_version": 1,
        "target_name": target,
        "mode": "LR",
        "stations": SIX,
        "mjd_start": mjd(start),
        "mjd_end": mjd(start + timedelta(minutes=20)),
        "logged_at": now(),
        "programme": programme,
        "ra": ra,
        "dec": dec,
        "seeing": 0.8,
        "tau0": 5.0,
        "temperature": 12.5,
        "wind": 3.0,
        "airmass": 1.1,
        "baselines": [baseline()],
        "matched_by": "name" if programme else "none",
        "em_min": 6e-07,
        "em_max": 9e-07,
        "resolving_power": 150.0,
        "planned_sequence": None,
    }
    values.update(extra)
    return ObservationLogged(**values)


def flagged(observation: ObservationLogged, level: str, *reasons: str) -> ObservationFlagged:
    return ObservationFlagged(
        observation_id=observation.observation_id, level=level, previous_level="unknown",
        reasons=list(reasons), comment="", flagged_by="night-astronomer", flagged_at=now(),
        programme=observation.programme,
    )  # fmt: skip


def plan(entries: Sequence[tuple[str, str]], version: int = 1, night: date = NIGHT) -> NightScheduled:
    """A plan of (programme, target) entries, sequence 1.. in order."""
    start = datetime(2026, 5, 15, 4, 0, tzinfo=UTC)
    return NightScheduled(
        site="CHARA", night=night, version=version, scheduled_by="scheduler", scheduled_at=now(),
        observations=[
            PlannedObservation(
                sequence=k, programme=code, target=target, mode="LR", configuration=SIX,
                start=start + timedelta(minutes=30 * k), end=start + timedelta(minutes=30 * k + 25),
            )
            for k, (code, target) in enumerate(entries, start=1)
        ],
    )  # fmt: skip


async def log(service: ObsportalService, observation: ObservationLogged) -> Envelope:
    return await service.publish(observation, str(observation.observation_id))


# --- VOTables -------------------------------------------------------------------------------------


def votable_rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """FIELD names and rows (name -> cell text) read with xml.etree."""
    root = ET.fromstring(text)
    names = [f.get("name", "") for f in root.iter(f"{VO}FIELD")]
    rows = [
        dict(zip(names, [td.text or "" for td in tr.findall(f"{VO}TD")], strict=True))
        for tr in root.iter(f"{VO}TR")
    ]
    return names, rows


def votlint(text: str, tmp_path: Path) -> None:
    """`stilts votlint` finds no error (it always exits 0: any line starting with ERROR fails).
    Skips when stilts is not installed (`apt-get install stilts`)."""
    stilts = shutil.which("stilts")
    if stilts is None:
        pytest.skip("stilts is not installed: votlint not run (apt-get install stilts)")
    path = tmp_path / f"votable-{uuid.uuid4().hex[:8]}.xml"
    path.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [stilts, "votlint", f"votable={path}"], capture_output=True, text=True, timeout=120, check=False
    )
    output = (result.stdout + result.stderr).splitlines()
    errors = [line for line in output if line.startswith("ERROR")]
    assert not errors, "\n".join(output)
