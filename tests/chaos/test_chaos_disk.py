"""A full disk under the OIFITS store (`make chaos`): the oifits service's store is a small tmpfs of its
own (root only; skipped with a message otherwise), nearly filled by a file of the operator's; the DRS
pushes files until the disk is full while the night logs flow, and more night logs flow while it is full.

Each push that does not fit is refused with 507 and a problem document, and leaves nothing: no part in
the store, no object, no row, no event, no rejection; the other flows go on (every observation reaches
the L0 view and the oifits copy once, every flag in order); readiness stays 200 and warns that the store
is low; once the operator frees space, the refused files are accepted, and every accepted file's
granules reach the OiDB table once. Dead letters: none left open, every service ready by itself."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from chaos_flow import FLOW_SERVICES, Flow, dead_letters, eventually_true, replay, settle
from chaos_platform import ChaosPlatform
from nightlogs_support import mjd_at
from oifits_support import NIGHT, oifits
from small_disk import fill, free_bytes, small_tmpfs

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

STORE_BYTES = 16 * 1024 * 1024
LOW_BYTES = 4 * 1024 * 1024  # readiness warns under this
ROOM = 3 * 1024 * 1024  # what the operator's filler leaves for the pushes
POINTS = 150  # observations a file holds: ~300 kB with its plots


class FullDiskPlatform(ChaosPlatform):
    """The chaos platform with the oifits store on a small disk of its own."""

    def __init__(self, base: Path, store: Path) -> None:
        super().__init__(base, FLOW_SERVICES, replicas=1)
        self.store = store

    def service_env(self, spec: Any, port: int) -> dict[str, str]:
        env: dict[str, str] = super().service_env(spec, port)
        if spec.name == "oifits":
            env.update(SPICADB_STORE_PATH=str(self.store), SPICADB_STORE_MIN_FREE_BYTES=str(LOW_BYTES))
        return env


@pytest.fixture(scope="module")
def full_disk(chaos_dir: Path) -> Iterator[FullDiskPlatform]:
    with small_tmpfs(chaos_dir / "store", STORE_BYTES) as store:
        platform = FullDiskPlatform(chaos_dir, store)
        try:
            platform.start()
            yield platform
        finally:
            platform.stop()


def _file(k: int) -> bytes:
    points = tuple(mjd_at(1.0 + 0.01 * i, NIGHT) for i in range(POINTS))
    data: bytes = oifits(target=f"DISK-{k}", at=points, programme=None)
    return data


async def _push(client: httpx.AsyncClient, platform: ChaosPlatform, k: int, data: bytes) -> httpx.Response:
    token = platform.tokens.mint("oifits:push", "oifits:read", subject="drs", client_id="drs", lifetime=3600)
    (url,) = platform.urls("oifits")
    return await client.post(
        f"{url}/oifits/files",
        params={"filename": f"disk-{k}.fits"},
        content=data,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fits"},
    )


async def _left_by(conn: asyncpg.Connection, store: Path, refused: dict[int, bytes]) -> list[str]:
    """What the refused pushes left behind anywhere (nothing, we hope)."""
    found = []
    incoming = sorted(p.name for p in (store / "incoming").iterdir())
    if incoming:
        found.append(f"parts in incoming/: {incoming}")
    for k, data in refused.items():
        sha = hashlib.sha256(data).hexdigest()
        if (store / "objects" / sha[:2] / sha[2:4] / sha).exists():
            found.append(f"disk-{k}: its object")
        if await conn.fetchval("SELECT count(*) FROM oifits.oifits_file WHERE sha256 = $1", sha):
            found.append(f"disk-{k}: a file row")
        if await conn.fetchval("SELECT count(*) FROM oifits.rejection WHERE sha256 = $1", sha):
            found.append(f"disk-{k}: a rejection row")
        if await conn.fetchval("SELECT count(*) FROM oifits.granule WHERE target_name = $1", f"DISK-{k}"):
            found.append(f"disk-{k}: a granule")
    return found


async def _indexed_events(conn: asyncpg.Connection) -> int:
    return int(
        await conn.fetchval("SELECT count(*) FROM oifits.outbox WHERE event_type LIKE '%file.indexed%'")
    )


async def _oidb_rows(conn: asyncpg.Connection, accepted: list[int]) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT g.target_name, count(o.granule_id) AS n FROM oifits.granule g"
        " LEFT JOIN oidb.granule o ON o.granule_id = g.id WHERE g.target_name = ANY($1) GROUP BY 1",
        [f"DISK-{k}" for k in accepted],
    )
    return {r["target_name"]: int(r["n"]) for r in rows}


async def test_a_full_disk_refuses_pushes_whole_other_flows_go_on_and_freed_space_takes_them(
    full_disk: FullDiskPlatform,
) -> None:
    platform, store = full_disk, full_disk.store
    began = time.monotonic()
    filler = fill(store, leave=ROOM, name="operator-filler")
    flow = Flow(platform, tag=2, nights=8, lines=6, pushes=0, pause=0.5)
    accepted: list[int] = []
    refused: dict[int, bytes] = {}
    conn = await asyncpg.connect(platform.database_url())
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            logs = asyncio.create_task(flow.run(client))
            k = 0
            while len(refused) < 3 and k < 40:  # until the disk has refused three files
                data = _file(k)
                answer = await _push(client, platform, k, data)
                if answer.status_code == 201:
                    accepted.append(k)
                else:
                    assert answer.status_code == 507, answer.text
                    assert answer.headers["content-type"].startswith("application/problem+json")
                    assert answer.json()["type"].endswith("/insufficient-storage"), answer.text
                    refused[k] = data
                k += 1
            assert accepted, "the disk took nothing: leave more room"
            assert len(refused) == 3, f"the disk never filled ({free_bytes(store)} bytes free)"

            # nothing of the refused pushes anywhere; the accepted ones' events only
            assert await _left_by(conn, store, refused) == []
            assert await _indexed_events(conn) == len(accepted)

            # readiness: ready (downloads and consumers work), warning that the store is low
            (url,) = platform.urls("oifits")
            ready = await client.get(f"{url}/health/ready")
            assert ready.status_code == 200, ready.text
            report = ready.json()
            (warning,) = [w for w in report["warnings"] if w.startswith("store:")]
            assert report["store"]["free_bytes"] < LOW_BYTES

            # the night logs flowed meanwhile, and flow while the disk is full
            await logs
            while_full = Flow(platform, tag=3, nights=3, lines=6, pushes=0, pause=0.2)
            await while_full.run(client)
            assert free_bytes(store) < len(next(iter(refused.values())))  # still full
            for run in (flow, while_full):
                night_report = await settle(platform, run, timeout=90)
                assert night_report.ok, night_report.summary()

            # the operator frees space: the refused files go in, once each
            filler.unlink()
            for k, data in refused.items():
                answer = await _push(client, platform, k, data)
                assert answer.status_code == 201, answer.text
                accepted.append(k)
            assert await _indexed_events(conn) == len(accepted)
            again = (await client.get(f"{url}/health/ready")).json()
            assert not [w for w in again["warnings"] if w.startswith("store:")], again["warnings"]

        async def every_granule_once() -> bool:
            rows = await _oidb_rows(conn, accepted)
            return len(rows) == len(accepted) and all(n == 1 for n in rows.values())

        with contextlib.suppress(AssertionError):  # the counts below say what is missing
            await eventually_true(every_granule_once, 60, "every accepted file's granules in the OiDB table")
        rows = await _oidb_rows(conn, accepted)
        assert len(rows) == len(accepted), rows
        assert all(n == 1 for n in rows.values()), rows  # 0 lost, 0 duplicated in the OiDB table
    finally:
        await conn.close()

    replayed = 0
    for service in FLOW_SERVICES:
        for letter in next(iter((await dead_letters(platform, service)).values())):
            outcome = await replay(platform, service, letter["id"])
            assert outcome["outcome"] in ("replayed", "queued"), outcome
            replayed += 1
    for service in FLOW_SERVICES:
        assert not any((await dead_letters(platform, service)).values()), service
    await platform.wait_ready(timeout=60)
    print(
        f"\nfull disk: {len(accepted) - len(refused)} files stored, {len(refused)} refused with 507 then"
        f" accepted once space was freed; {night_report.summary()}; readiness warned: {warning};"
        f" {replayed} dead letters replayed; {time.monotonic() - began:.0f} s"
    )
