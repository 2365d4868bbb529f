"""Keeping the L0 view from the night-log events. Runs in the consumer's transaction (inbox
included), so a redelivered event changes nothing twice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from spicadb_contracts.nightlogs import NightScheduled, ObservationFlagged, ObservationLogged

from ..domain import header_id, mjd_datetime, name_key
from ..storage.view import ViewStore


class ViewService:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.store = ViewStore(conn)

    async def night_scheduled(self, plan: NightScheduled) -> bool:
        """The plan becomes the night's unless a newer version is in force already."""
        if not await self.store.newer_plan(plan.site, plan.night, plan.version, plan.scheduled_by,
                                           plan.scheduled_at):  # fmt: skip
            return False
        rows = [
            (p.sequence, p.programme, p.target, p.mode, list(p.configuration), p.start, p.end,
             list(p.calibrators), p.target_id)
            for p in plan.observations
        ]  # fmt: skip
        await self.store.replace_plan(plan.site, plan.night, rows)
        return True

    async def observations_logged(self, events: Sequence[ObservationLogged]) -> int:
        # one row per observation: within a batch, the highest log version wins
        latest: dict[Any, ObservationLogged] = {}
        for o in events:
            if o.observation_id not in latest or latest[o.observation_id].log_version <= o.log_version:
                latest[o.observation_id] = o
        logged = list(latest.values())
        targets: dict[str, tuple[str, str, float | None, float | None]] = {}
        for o in logged:
            key = name_key(o.target_name)
            known = targets.get(key)
            ra = o.ra if o.ra is not None else (known[2] if known else None)
            dec = o.dec if o.dec is not None else (known[3] if known else None)
            targets[key] = (key, o.target_name.strip(), ra, dec)
        ids = await self.store.targets(list(targets.values()))
        rows = [_row(o, ids[name_key(o.target_name)]) for o in logged]
        return await self.store.upsert_exposures(rows)

    async def observations_flagged(self, flags: Sequence[ObservationFlagged]) -> int:
        # in order: the last flag of an observation in a batch wins; every flag is counted
        latest: dict[Any, tuple[ObservationFlagged, int]] = {}
        for f in flags:
            latest[f.observation_id] = (f, latest.get(f.observation_id, (f, 0))[1] + 1)
        return await self.store.flag(
            [
                (f.observation_id, f.level, list(f.reasons), f.comment, f.flagged_by, f.flagged_at, n)
                for f, n in latest.values()
            ]
        )


def _row(o: ObservationLogged, target_id: int) -> dict[str, Any]:
    return {
        "observation_id": o.observation_id,
        "exp_header_id": header_id(o.mjd_start),
        "site": o.site,
        "night": o.night,
        "log_version": o.log_version,
        "programme": o.programme,
        "target_id": target_id,
        "kind": o.kind,
        "mode": o.mode,
        "stations": list(o.stations),
        "mjd_start": o.mjd_start,
        "mjd_end": o.mjd_end,
        "date_end": mjd_datetime(o.mjd_end),
        "ra": o.ra,
        "dec": o.dec,
        "seeing": o.seeing,
        # the logs give milliseconds, ObsPortal seconds
        "tau0": None if o.tau0 is None else o.tau0 / 1000.0,
        "wind": o.wind,
        "airmass": o.airmass,
        "temperature": o.temperature,
        "comments": o.comments,
        "raw_files": list(o.raw_files),
        "baselines": msgspec.json.encode(o.baselines).decode(),
        "planned_sequence": o.planned_sequence,
        "matched_by": o.matched_by,
        "em_min": o.em_min,
        "em_max": o.em_max,
        "resolving_power": o.resolving_power,
        "withdrawn": o.withdrawn,
        "logged_at": o.logged_at,
    }
