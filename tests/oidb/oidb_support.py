"""The oidb service installed against the session's real PostgreSQL and NATS, with tokens for its
callers, and ways to publish the events it consumes as their producers do (the oifits files on
SPICADB_OIFITS, the programmes on SPICADB_PROGRAMMES, the flags on SPICADB_NIGHTLOGS), and to check its
VOTables."""

from __future__ import annotations

import shutil
import subprocess
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient
from nats.js import JetStreamContext
from spicadb_oidb.app import create_app
from spicadb_oidb.spec import SPEC

from spicadb_contracts.nightlogs import ObservationFlagged
from spicadb_contracts.oifits import FileIndexed, FileSuperseded, GranuleLinked, IndexedGranule, Preview
from spicadb_contracts.programmes import ProprietaryPeriodChanged
from spicadb_kit.events.envelope import Envelope
from spicadb_kit.testing.services import InstalledService
from spicadb_kit.testing.tokens import TokenFactory

# VOTable 1.4 keeps the 1.3 namespace
VO = "{http://www.ivoa.net/xml/VOTable/v1.3}"
Client = AsyncTestClient[Any]
VEGA = (279.2347, 38.7837)
DENEB = (310.3580, 45.2803)
# what the oifits service writes in its events
PUBLIC = "http://127.0.0.1:8000"
DID = "ivo://jmmc.fr/spicadb/oidb"
L0 = "ivo://jmmc.fr/spicadb/l0"


class OidbService(InstalledService):
    def __init__(self, admin_dsn: str, nats_url: str, tokens: TokenFactory, js: JetStreamContext) -> None:
        super().__init__(SPEC, create_app, admin_dsn, nats_url, tokens, js)


# --- events ---------------------------------------------------------------------------------------


def now() -> datetime:
    return datetime.now(UTC)


def mjd(moment: datetime) -> float:
    return (moment - datetime(1858, 11, 17, tzinfo=UTC)).total_seconds() / 86400.0


async def proprietary(
    service: OidbService, programme_id: UUID, code: str, months: int, previous: int
) -> None:
    event = ProprietaryPeriodChanged(
        programme_id=programme_id, code=code, proprietary_months=months, previous_months=previous,
        changed_by="ada", changed_at=now(),
    )  # fmt: skip
    await service.publish(event, str(programme_id))


def granule(
    target: str = "Vega",
    position: tuple[float, float] | None = VEGA,
    *,
    end: datetime | None = None,
    programme: str | None = "LP-1",
    observations: Sequence[UUID] = (),
    category: str = "SCIENCE",
    quality: int | None = None,
    mode: str = "MR",
    **extra: Any,
) -> IndexedGranule:
    """A SPICA granule of ``target`` ending at ``end`` (default: an hour ago, so proprietary), 20 min
    long, with its three quick-look plots."""
    end = end or now() - timedelta(hours=1)
    granule_id = uuid.uuid4()
    values: dict[str, Any] = {
        "granule_id": granule_id,
        "night": (end - timedelta(hours=20)).date(),
        "insname": f"SPICA_{mode}",
        "target_name": target,
        "s_ra": position[0] if position else None,
        "s_dec": position[1] if position else None,
        "t_min": mjd(end - timedelta(minutes=20)),
        "t_max": mjd(end),
        "t_exptime": 600.0,
        "int_time_min": 2.5,
        "em_min": 6.0e-7,
        "em_max": 9.0e-7,
        "em_res_power": 3000.0,
        "nb_channels": 120,
        "nb_vis": 60,
        "nb_vis2": 60,
        "nb_t3": 80,
        "nb_flux": 24,
        "instrument_name": "SPICA",
        "calib_level": 2,
        "facility_name": "CHARA",
        "instrument_mode": mode,
        "interferometer_stations": "E1-W2-W1-S2-S1-E2",
        "dataproduct_category": category,
        "obs_id": "SPICA.2026-05-15T06:00:00",
        "progid": programme,
        "proposal_subid": f"{programme}/1" if programme else None,
        "quality_level": quality,
        "programme": programme,
        "observation_ids": list(observations),
        "previews": [
            Preview(kind=kind, url=f"{PUBLIC}/oifits/granules/{granule_id}/{kind}.png", content_type="image/png",
                    size=20_000 + n)
            for n, kind in enumerate(("uv", "vis2", "t3phi"))
        ],
    }  # fmt: skip
    values.update(extra)
    return IndexedGranule(**values)


def indexed(*granules: IndexedGranule, size: int = 1_234_567, supersedes: UUID | None = None) -> FileIndexed:
    file_id = uuid.uuid4()
    return FileIndexed(
        file_id=file_id, filename="spica_vega_2026-05-14.fits", sha256="0" * 64,
        md5="0123456789abcdef0123456789abcdef", size=size, oifits_version=2, verdict="valid", warnings=0,
        access_url=f"{PUBLIC}/oifits/files/{file_id}", pushed_by="drs", pushed_at=now(),
        granules=list(granules), programme=granules[0].programme if granules else None,
        product_id="spica-drs:vega:2026-05-14", supersedes=supersedes,
    )  # fmt: skip


async def push(service: OidbService, event: FileIndexed) -> Envelope:
    return await service.publish(event, str(event.file_id))


async def supersede(service: OidbService, old: FileIndexed, new: FileIndexed) -> None:
    event = FileSuperseded(
        file_id=old.file_id, product_id=old.product_id or "", superseded_by=new.file_id,
        granule_ids=[g.granule_id for g in old.granules], superseded_at=now(),
    )  # fmt: skip
    await service.publish(event, str(old.file_id))


async def link(
    service: OidbService, file: FileIndexed, g: IndexedGranule, observations: Sequence[UUID]
) -> None:
    event = GranuleLinked(granule_id=g.granule_id, file_id=file.file_id, observation_ids=list(observations))
    await service.publish(event, str(g.granule_id))


async def flag(service: OidbService, observation_id: UUID, level: str) -> None:
    event = ObservationFlagged(
        observation_id=observation_id, level=level, previous_level="unknown", reasons=["seeing"], comment="",
        flagged_by="night-astronomer", flagged_at=now(), programme="LP-1",
    )  # fmt: skip
    await service.publish(event, str(observation_id))


# --- reading --------------------------------------------------------------------------------------


async def listing(
    client: Client, headers: dict[str, str] | None = None, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get("/oidb/granules", params=params, headers=headers or {})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def votable_rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """FIELD names and rows (name -> cell text, '' when empty) read with xml.etree."""
    root = ET.fromstring(text)
    names = [f.get("name", "") for f in root.iter(f"{VO}FIELD")]
    rows = [
        dict(zip(names, [td.text or "" for td in tr.findall(f"{VO}TD")], strict=True))
        for tr in root.iter(f"{VO}TR")
    ]
    return names, rows


def _stilts(command: str, text: str, tmp_path: Path) -> list[str]:
    stilts = shutil.which("stilts")
    if stilts is None:
        pytest.skip(f"stilts is not installed: {command} not run (apt-get install stilts)")
    path = tmp_path / f"votable-{uuid.uuid4().hex[:8]}.xml"
    path.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [stilts, command, f"votable={path}"], capture_output=True, text=True, timeout=120, check=False
    )
    return (result.stdout + result.stderr).splitlines()


def votlint(text: str, tmp_path: Path) -> None:
    """`stilts votlint` finds no error (it always exits 0: any line starting with ERROR fails).
    Skips when stilts is not installed."""
    output = _stilts("votlint", text, tmp_path)
    assert not [line for line in output if line.startswith("ERROR")], "\n".join(output)


def datalinklint(text: str, tmp_path: Path) -> None:
    """`stilts datalinklint` (DataLink's own rules, 1.1 included) reports no error (E- lines)."""
    output = _stilts("datalinklint", text, tmp_path)
    assert not [line for line in output if line.startswith("E-")], "\n".join(output)


def ago(**delta: float) -> datetime:
    return now() - timedelta(**delta)
