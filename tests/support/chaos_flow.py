"""The flow the fault suite runs through a :class:`chaos_platform.ChaosPlatform`, and the checker that
counts its events and their effects.

The flow (``Flow``): programmes created (each one's rights copied by nightlogs, obsportal, oifits and
oidb), CHARA night logs posted to nightlogs (each observation: obsportal's exposure, the oifits
service's copy), each observation then flagged twice in a row, ``good`` then ``bad`` (obsportal's flag
count and level, oidb's latest flag: the second flag must win, per-observation ordering across the two
replicas of each consumer), and DRS pushes of OIFITS files from our own writer, through the gateway when
it runs (oifits' granules: the oidb table). Requests go to the replicas in turn, as a load balancer
would send them; one that fails (a replica killed, the database away) is sent again to the next
replica: every request is idempotent (the same log again answers 200, the same flag again 200, the same
file again its existing upload, a programme created again 409 once an earlier attempt was lost).

The checker (``check``): what the producers committed (nightlogs' observations and flags, oifits'
granules, the flow's nights and files only) against the consumers' effects, per event key: ``lost``
(no effect) and ``duplicated`` (more than one effect per event), and ``misordered`` (a consumer whose
final state is not the last flag's).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
from chaos_platform import ChaosPlatform
from nightlogs_support import NIGHT, csv_log, line, mjd_at
from oifits_support import oifits

__all__ = [
    "FLOW_SERVICES",
    "RIGHTS_COPIES",
    "Flow",
    "Report",
    "Tally",
    "check",
    "dead_letters",
    "replay",
    "settle",
]

# the services the flow's events go through (the platform may run more: auth, the gateway...)
FLOW_SERVICES = ("programmes", "nightlogs", "obsportal", "oifits", "oidb")
# the services keeping a copy of every programme's rights (the kit's rights consumer)
RIGHTS_COPIES = ("nightlogs", "obsportal", "oifits", "oidb")
LEVELS = ("good", "bad")  # each observation's flags, in this order: the last one must win everywhere
RETRY_FOR = 120.0  # seconds a request is sent again while replicas die or the database restarts


@dataclass
class Flow:
    """One run of the flow: ``nights`` night logs of ``lines`` observations, each observation flagged
    ``good`` then ``bad``, and ``pushes`` OIFITS files, at a steady pace; ``tag`` keeps this run's
    nights and files apart from other runs on the same platform."""

    platform: ChaosPlatform
    tag: int
    nights: int = 6
    lines: int = 8
    pushes: int = 8
    programmes: int = 3
    pause: float = 0.4
    first_night: date = field(init=False)
    observations: list[str] = field(default_factory=list)
    retried: int = 0
    # the answers sent again, by status (0: no answer); the 500s' requests and bodies (the house never
    # answers 500: a database or NATS away is a 503 problem)
    refused: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    _turn: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        # back from NIGHT, 15 nights a run (nights in the future may be refused; NIGHT and later: free)
        assert self.nights <= 15
        self.first_night = NIGHT - timedelta(days=15 * self.tag)

    @property
    def night_list(self) -> list[date]:
        return [self.first_night + timedelta(days=k) for k in range(self.nights)]

    @property
    def target_prefix(self) -> str:
        return f"CHAOS{self.tag}-"

    def headers(self, *scopes: str, client: str) -> dict[str, str]:
        """A robot's (``client``) token with these scopes, valid an hour."""
        token = self.platform.tokens.mint(*scopes, subject=client, client_id=client, lifetime=3600)
        return {"Authorization": f"Bearer {token}"}

    async def send(
        self,
        client: httpx.AsyncClient,
        service: str,
        method: str,
        path: str,
        *,
        created_once: bool = False,
        **kw: Any,
    ) -> httpx.Response:
        """The request to the replicas in turn until one answers 200 or 201 (sent again on a lost
        connection or a 5xx/503 while a replica or the database is away); ``created_once``: a 409 after
        a lost attempt means that attempt created it."""
        urls = self.platform.urls(service)
        deadline = time.monotonic() + RETRY_FOR
        last: str = ""
        while time.monotonic() < deadline:
            url = urls[next(self._turn) % len(urls)]
            try:
                answer = await client.request(method, url + path, **kw)
            except httpx.HTTPError as exc:
                last = repr(exc)
                self.refused[0] += 1
            else:
                if answer.status_code in (200, 201) or (created_once and last and answer.status_code == 409):
                    return answer
                if answer.status_code < 500:
                    raise AssertionError(f"{method} {path}: {answer.status_code} {answer.text[:500]}")
                last = f"{answer.status_code} {answer.text[:300]}"
                self.refused[answer.status_code] += 1
                if answer.status_code == 500:
                    self.errors.append(f"{method} {url}{path}: {answer.text[:300]}")
            self.retried += 1
            await asyncio.sleep(0.3)
        raise AssertionError(f"{method} {path}: no replica took it in {RETRY_FOR:g} s ({last})")

    async def run(self, client: httpx.AsyncClient) -> None:
        """The night logs with their flags, and the pushes, side by side."""
        await asyncio.gather(self._programmes(client), self._logs(client), self._pushes(client))

    async def _programmes(self, client: httpx.AsyncClient) -> None:
        pi = self.headers("programmes:write", "programmes:read", client="ada")
        for k in range(self.programmes if self.platform.replicas("programmes") else 0):
            body = {"code": f"{self.target_prefix}P{k}", "title": f"chaos {self.tag}"}
            await self.send(
                client, "programmes", "POST", "/programmes/", json=body, headers=pi, created_once=True
            )
            await asyncio.sleep(self.pause * 3)

    async def _logs(self, client: httpx.AsyncClient) -> None:
        ingest = self.headers("nightlogs:write", "nightlogs:read", client="chara-ingest")
        flagger = self.headers("nightlogs:flag", "nightlogs:read", client="nina")
        for night in self.night_list:
            body = csv_log(
                *(line(f"{self.target_prefix}{i}", -2 + 0.4 * i, night=night) for i in range(self.lines))
            )
            answer = await self.send(
                client,
                "nightlogs",
                "POST",
                f"/nightlogs/logs/CHARA/{night.isoformat()}",
                content=body,
                headers={**ingest, "Content-Type": "text/csv"},
            )
            added = [str(o) for o in answer.json().get("added") or []]
            if not added:  # a retry after a lost answer: the version is there, its ids are not in it
                added = await self._observations_of(night)
            self.observations += added
            for observation in added:  # each one's flags back to back: they meet in the consumers
                for level in LEVELS:
                    await self.send(
                        client,
                        "nightlogs",
                        "POST",
                        f"/nightlogs/observations/{observation}/flags",
                        json={"level": level, "comment": f"chaos {self.tag}"},
                        headers=flagger,
                    )
            await asyncio.sleep(self.pause)

    async def _observations_of(self, night: date) -> list[str]:
        conn = await asyncpg.connect(self.platform.database_url())
        try:
            rows = await conn.fetch("SELECT id FROM nightlogs.observation WHERE night = $1", night)
        finally:
            await conn.close()
        return [str(r["id"]) for r in rows]

    async def _pushes(self, client: httpx.AsyncClient) -> None:
        drs = self.headers("oifits:push", "oifits:read", client="drs")
        for k in range(self.pushes):
            night = self.night_list[k % self.nights]
            data = oifits(
                target=f"{self.target_prefix}F{k}", at=(mjd_at(1.0 + 0.1 * k, night),), programme=None
            )
            await self.send(
                client,
                "gateway" if self.platform.replicas("gateway") else "oifits",
                "POST",
                "/oifits/files",
                params={"filename": f"chaos-{self.tag}-{k}.fits"},
                content=data,
                headers={**drs, "Content-Type": "application/fits"},
            )
            await asyncio.sleep(self.pause)


@dataclass
class Tally:
    """One kind of event: how many were sent, which keys have no effect, which more than one."""

    sent: int
    lost: list[str]
    duplicated: list[str]

    @property
    def ok(self) -> bool:
        return not self.lost and not self.duplicated


@dataclass
class Report:
    """The checker's answer for a flow: a tally per kind of event, and the observations whose final
    flag differs somewhere from the last one sent."""

    tallies: dict[str, Tally]
    misordered: list[str]

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tallies.values()) and not self.misordered

    def summary(self) -> str:
        parts = [
            f"{k}: {t.sent} sent, {len(t.lost)} lost, {len(t.duplicated)} duplicated"
            for k, t in self.tallies.items()
        ]
        return "; ".join(parts) + f"; misordered {len(self.misordered)}"


def _tally(sent: list[str], effects: dict[str, int], wanted: dict[str, int] | None = None) -> Tally:
    """``effects``: effects per key; ``wanted``: effects each key should have (1 when not given)."""
    expect = wanted or dict.fromkeys(sent, 1)
    lost = [k for k in sent if effects.get(k, 0) < expect[k]]
    duplicated = [k for k in sent if effects.get(k, 0) > expect[k]]
    return Tally(len(sent), lost, duplicated)


_OBSERVATIONS = (
    "SELECT id::text FROM nightlogs.observation WHERE night = ANY($1::date[]) AND target_name LIKE $2"
)
_FLAGS = """
SELECT o.id::text AS id, count(f.id) AS n,
       (array_agg(f.level ORDER BY f.id DESC))[1] AS last
FROM nightlogs.observation o JOIN nightlogs.observation_flag f ON f.observation_id = o.id
WHERE o.night = ANY($1::date[]) AND o.target_name LIKE $2 GROUP BY o.id
"""
_GRANULES = "SELECT id::text FROM oifits.granule WHERE target_name LIKE $1"
_PROGRAMMES = "SELECT code FROM programmes.programme WHERE code LIKE $1"


async def check(platform: ChaosPlatform, flow: Flow) -> Report:
    """Count the flow's events (what the producers committed) and their effects in every consumer."""
    conn = await asyncpg.connect(platform.database_url())
    try:
        nights, like = flow.night_list, flow.target_prefix + "%"
        observations = [r["id"] for r in await conn.fetch(_OBSERVATIONS, nights, like)]
        flags = {r["id"]: (int(r["n"]), r["last"]) for r in await conn.fetch(_FLAGS, nights, like)}
        granules = [r["id"] for r in await conn.fetch(_GRANULES, like)]
        programmes = (
            [r["code"] for r in await conn.fetch(_PROGRAMMES, like)]
            if platform.replicas("programmes")
            else []
        )
        rights = {
            copy: await _counts(
                conn,
                f"SELECT code, count(*) FROM {copy}.programme_rights WHERE code = ANY($1) GROUP BY 1",
                programmes,
            )
            for copy in RIGHTS_COPIES
        }
        exposures = await _counts(
            conn,
            "SELECT observation_id::text, count(*) FROM obsportal.exposure"
            " WHERE observation_id::text = ANY($1) GROUP BY 1",
            observations,
        )
        copies = await _counts(
            conn,
            "SELECT observation_id::text, count(*) FROM oifits.observation"
            " WHERE observation_id::text = ANY($1) GROUP BY 1",
            observations,
        )
        l2 = await _counts(
            conn,
            "SELECT granule_id::text, count(*) FROM oidb.granule WHERE granule_id::text = ANY($1) GROUP BY 1",
            granules,
        )
        l0_flags = {
            r[0]: (int(r[1]), r[2])
            for r in await conn.fetch(
                "SELECT observation_id::text, flags, level FROM obsportal.exposure WHERE observation_id::text = ANY($1)",
                list(flags),
            )
        }
        l2_flags = {
            r[0]: r[1]
            for r in await conn.fetch(
                "SELECT observation_id::text, level FROM oidb.observation_flag WHERE observation_id::text = ANY($1)",
                list(flags),
            )
        }
    finally:
        await conn.close()
    flagged = list(flags)
    tallies = {
        "observation -> L0 exposure": _tally(observations, exposures),
        "observation -> oifits copy": _tally(observations, copies),
        "granule -> OiDB row": _tally(granules, l2),
        "flag -> L0 flag count": _tally(
            flagged, {k: v[0] for k, v in l0_flags.items()}, {k: v[0] for k, v in flags.items()}
        ),
        "flag -> OiDB latest flag": _tally(flagged, dict.fromkeys(l2_flags, 1)),
        **{f"programme -> {copy} rights": _tally(programmes, counts) for copy, counts in rights.items()},
    }
    misordered = [
        k
        for k, (_, last) in flags.items()
        if l0_flags.get(k, (0, last))[1] != last or l2_flags.get(k, last) != last
    ]
    return Report(tallies, misordered)


async def _counts(conn: asyncpg.Connection, sql: str, keys: list[str]) -> dict[str, int]:
    return {r[0]: int(r[1]) for r in await conn.fetch(sql, keys)}


async def settle(platform: ChaosPlatform, flow: Flow, timeout: float = 120.0) -> Report:
    """Wait until the flow's effects are all there (or the timeout), then the checker's report. A
    report with duplicates returns at once (waiting cannot undo them)."""
    deadline = time.monotonic() + timeout
    report = await _quiet(platform, flow)
    while not report.ok and time.monotonic() < deadline:
        if any(t.duplicated for t in report.tallies.values()):
            return report
        await asyncio.sleep(1.0)
        report = await _quiet(platform, flow)
    return report


async def _quiet(platform: ChaosPlatform, flow: Flow) -> Report:
    """The report, or (while the database is away) one that says everything is lost."""
    try:
        return await check(platform, flow)
    except (OSError, asyncpg.PostgresError) as exc:
        return Report({"database": Tally(1, [repr(exc)], [])}, [])


async def eventually_true(check_: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    """Poll ``check_`` until true; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check_():
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout:g} s")


# --- dead letters through the operator routes ------------------------------------------------------


async def dead_letters(platform: ChaosPlatform, service: str) -> dict[str, list[dict[str, Any]]]:
    """Every replica's answer to ``GET <admin_path>/dead-letters`` (open letters), by replica name: the
    replicas share one table, so each must list the same letters."""
    spec = platform.replicas(service)[0].spec
    assert spec is not None
    seen: dict[str, list[dict[str, Any]]] = {}
    async with httpx.AsyncClient(timeout=10) as client:
        for replica in platform.replicas(service):
            answer = await client.get(
                f"{replica.url}{spec.admin_path}/dead-letters",
                params={"replayed": "false"},
                headers=platform.admin_headers(),
            )
            assert answer.status_code == 200, answer.text
            seen[replica.name] = list(answer.json()["items"])
    return seen


async def replay(platform: ChaosPlatform, service: str, letter: int) -> dict[str, Any]:
    """``POST <admin_path>/dead-letters/{id}/replay`` on the service's first replica: the outcome."""
    replica = platform.replicas(service)[0]
    assert replica.spec is not None
    async with httpx.AsyncClient(timeout=60) as client:
        answer = await client.post(
            f"{replica.url}{replica.spec.admin_path}/dead-letters/{letter}/replay",
            headers=platform.admin_headers(),
        )
    assert answer.status_code == 200, answer.text
    outcome: dict[str, Any] = answer.json()
    return outcome
