"""Reading nights and observations (filtered by data rights), and quality flags."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

import asyncpg
import msgspec

from spicadb_contracts.nightlogs import ObservationFlagged
from spicadb_kit.db import transaction
from spicadb_kit.errors import NotFound
from spicadb_kit.events import Outbox

from ..baselines import from_rows
from ..domain import night_bounds
from ..models import (
    FlagIn,
    FlagOut,
    LogVersionOut,
    LogVersionSummary,
    NightOut,
    NightSummary,
    ObservationOut,
    ObservationSummary,
)
from ..storage.nights import LogStore, NightKey, NightStore, PlanStore
from ..storage.observations import FlagStore, ObservationFilter, ObservationKey, ObservationStore
from .access import Caller
from .schedules import plan_out


def summary(row: asyncpg.Record) -> ObservationSummary:
    return ObservationSummary(
        id=row["id"],
        site=row["site"],
        night=row["night"],
        target_name=row["target_name"],
        kind=row["kind"],
        type=row["type"],
        programme=row["programme"],
        target_id=row["target_id"],
        matched_by=row["matched_by"],
        planned_sequence=row["planned_sequence"],
        mode=row["mode"],
        stations=list(row["stations"]),
        mjd_start=row["mjd_start"],
        mjd_end=row["mjd_end"],
        start=row["start_at"],
        end=row["end_at"],
        level=row["level"],
        log_version=row["log_version"],
        withdrawn=row["withdrawn_in"] is not None,
    )


def _flag(row: asyncpg.Record) -> FlagOut:
    return FlagOut(
        level=row["level"],
        previous_level=row["previous_level"],
        reasons=list(row["reasons"]),
        comment=row["comment"],
        flagged_by=row["flagged_by"],
        flagged_at=row["flagged_at"],
    )


def detail(row: asyncpg.Record, flags: list[asyncpg.Record]) -> ObservationOut:
    base = msgspec.structs.asdict(summary(row))
    return ObservationOut(
        **base,
        ra=row["ra"],
        dec=row["dec"],
        pi=row["pi"],
        log_programme=row["log_programme"],
        combiner=row["combiner"],
        em_min=row["em_min"],
        em_max=row["em_max"],
        resolving_power=row["resolving_power"],
        seeing=row["seeing"],
        tau0=row["tau0"],
        t0_obs=row["t0_obs"],
        wind=row["wind"],
        airmass=row["airmass"],
        temperature=row["temperature"],
        b1=row["b1"],
        b2=row["b2"],
        b3=row["b3"],
        comments=row["comments"],
        raw_files=list(row["raw_files"]),
        line=row["line"],
        first_version=row["first_version"],
        withdrawn_in=row["withdrawn_in"],
        reasons=list(row["reasons"]),
        level_comment=row["level_comment"],
        release=row["release"],
        baselines=from_rows(row["stations"], row["baselines"]),
        flags=[_flag(f) for f in flags],
    )


def log_summary(row: asyncpg.Record) -> LogVersionSummary:
    return LogVersionSummary(
        version=row["version"],
        format=row["format"],
        lines=row["lines"],
        skipped_lines=list(row["skipped"]),
        unmatched=row["unmatched"],
        added=row["n_added"],
        changed=row["n_changed"],
        withdrawn=row["n_withdrawn"],
        ingested_by=row["ingested_by"],
        ingested_at=row["ingested_at"],
    )


class ObservationService:
    def __init__(self, pool: asyncpg.Pool, outbox: Outbox, caller: Caller) -> None:
        self.pool = pool
        self.outbox = outbox
        self.caller = caller

    @property
    def _who(self) -> tuple[str | None, bool]:
        return self.caller.viewer.username, self.caller.sees_all

    # nights ---------------------------------------------------------------------------------------

    async def nights(
        self,
        *,
        site: str | None,
        first: date | None,
        last: date | None,
        after: NightKey | None,
        limit: int,
    ) -> list[NightSummary]:
        async with self.pool.acquire() as conn:
            rows = await NightStore(conn).listing(site=site, first=first, last=last, after=after, limit=limit)
        return [
            NightSummary(
                site=r["site"],
                night=r["night"],
                start=r["start_utc"],
                end=r["end_utc"],
                plan_version=r["plan_version"],
                log_version=r["log_version"],
                observations=r["observations"],
            )
            for r in rows
        ]

    async def night(self, site: str, day: date) -> NightOut:
        async with self.pool.acquire() as conn:
            row = await NightStore(conn).get(site, day)
            if row is None:
                raise NotFound(
                    f"nothing was planned or logged for the night of {day} at {site}", code="night-not-found"
                )
            seen = await self.caller.programmes_seen(conn)
            plans = [plan_out(p, seen) for p in await PlanStore(conn).all(site, day)]
            logs = [log_summary(r) for r in await LogStore(conn).summaries(site, day)]
            observations = [
                summary(r) for r in await ObservationStore(conn).of_night_visible(site, day, *self._who)
            ]
        start, end = night_bounds(day)
        return NightOut(
            site=site, night=day, start=start, end=end, plans=plans, logs=logs, observations=observations
        )

    async def log_version(self, site: str, day: date, version: int) -> LogVersionOut:
        async with self.pool.acquire() as conn:
            row = await LogStore(conn).get(site, day, version)
            if row is None:
                raise NotFound(
                    f"the night of {day} at {site} has no log version {version}", code="log-version-not-found"
                )
            ids = [*row["added"], *row["changed"], *row["withdrawn"]]
            visible = {r["id"]: summary(r) for r in await ObservationStore(conn).summaries(ids, *self._who)}
        pick = lambda column: [visible[i] for i in row[column] if i in visible]  # noqa: E731
        return LogVersionOut(
            site=site,
            night=day,
            version=row["version"],
            format=row["format"],
            lines=row["lines"],
            skipped_lines=list(row["skipped"]),
            unmatched=row["unmatched"],
            added=len(row["added"]),
            changed=len(row["changed"]),
            withdrawn=len(row["withdrawn"]),
            ingested_by=row["ingested_by"],
            ingested_at=row["ingested_at"],
            added_observations=pick("added"),
            changed_observations=pick("changed"),
            withdrawn_observations=pick("withdrawn"),
            hidden=len(ids) - len(visible),
        )

    # observations ---------------------------------------------------------------------------------

    async def listing(
        self, flt: ObservationFilter, after: ObservationKey | None, limit: int
    ) -> list[ObservationSummary]:
        async with self.pool.acquire() as conn:
            rows = await ObservationStore(conn).listing(flt, *self._who, after, limit)
        return [summary(r) for r in rows]

    async def get(self, observation_id: UUID) -> ObservationOut:
        async with self.pool.acquire() as conn:
            row = await ObservationStore(conn).get(observation_id, *self._who)
            if row is None:
                raise NotFound(f"no observation {observation_id}", code="observation-not-found")
            flags = await FlagStore(conn).history(observation_id)
        return detail(row, flags)

    async def flag(self, observation_id: UUID, data: FlagIn) -> tuple[ObservationOut, bool]:
        """Set the quality level; (the observation, whether anything changed)."""
        now = datetime.now(UTC)
        reasons = sorted(set(data.reasons))
        async with transaction(self.pool) as conn:
            store = ObservationStore(conn)
            row = await store.get(observation_id, *self._who, lock=True)
            if row is None:
                raise NotFound(f"no observation {observation_id}", code="observation-not-found")
            unchanged = (row["level"], sorted(row["reasons"]), row["level_comment"]) == (
                data.level,
                reasons,
                data.comment,
            )
            if not unchanged:
                flag = {
                    "observation_id": observation_id,
                    "level": data.level,
                    "previous_level": row["level"],
                    "reasons": reasons,
                    "comment": data.comment,
                    "flagged_by": self.caller.username,
                    "flagged_at": now,
                }
                await FlagStore(conn).insert(flag)
                await store.set_level(observation_id, data.level, reasons, data.comment)
                event = ObservationFlagged(
                    observation_id=observation_id,
                    level=data.level,
                    previous_level=row["level"],
                    reasons=reasons,
                    comment=data.comment,
                    flagged_by=self.caller.username,
                    flagged_at=now,
                    programme=row["programme"],
                )
                await self.outbox.add(conn, event, aggregate_id=str(observation_id))
                row = await store.get(observation_id, *self._who)
            flags = await FlagStore(conn).history(observation_id)
        assert row is not None
        return detail(row, flags), not unchanged
