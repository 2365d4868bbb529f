"""Reading nights and observations (filtered by data rights), and quality flags."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

import asyncpg

from spicadb_contracts.nightlogs import ObservationFlagged
from spicadb_kit.db import transaction
from spicadb_kit.events import Outbox
from spicadb_kit.rows import row_to, rows_to

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
from ..problems import LOG_VERSION_NOT_FOUND, NIGHT_NOT_FOUND, OBSERVATION_NOT_FOUND
from ..storage.nights import LogStore, NightKey, NightStore, PlanStore
from ..storage.observations import FlagStore, ObservationFilter, ObservationKey, ObservationStore
from .access import Caller
from .schedules import plan_out


def detail(row: asyncpg.Record, flags: list[asyncpg.Record]) -> ObservationOut:
    baselines = from_rows(row["stations"], row["baselines"])
    return row_to(ObservationOut, row, baselines=baselines, flags=rows_to(FlagOut, flags))


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
        return rows_to(NightSummary, rows)

    async def night(self, site: str, day: date) -> NightOut:
        async with self.pool.acquire() as conn:
            row = await NightStore(conn).get(site, day)
            if row is None:
                raise NIGHT_NOT_FOUND(f"nothing was planned or logged for the night of {day} at {site}")
            seen = await self.caller.programmes_seen(conn)
            plans = [plan_out(p, seen) for p in await PlanStore(conn).all(site, day)]
            logs = rows_to(LogVersionSummary, await LogStore(conn).summaries(site, day))
            observations = rows_to(
                ObservationSummary, await ObservationStore(conn).of_night_visible(site, day, *self._who)
            )
        start, end = night_bounds(day)
        return NightOut(
            site=site, night=day, start=start, end=end, plans=plans, logs=logs, observations=observations
        )

    async def log_version(self, site: str, day: date, version: int) -> LogVersionOut:
        async with self.pool.acquire() as conn:
            row = await LogStore(conn).get(site, day, version)
            if row is None:
                raise LOG_VERSION_NOT_FOUND(f"the night of {day} at {site} has no log version {version}")
            ids = [*row["added"], *row["changed"], *row["withdrawn"]]
            summaries = await ObservationStore(conn).summaries(ids, *self._who)
            visible = {o.id: o for o in rows_to(ObservationSummary, summaries)}

        def pick(column: str) -> list[ObservationSummary]:
            return [visible[i] for i in row[column] if i in visible]

        return row_to(
            LogVersionOut,
            row,
            skipped_lines=row["skipped"],
            added=len(row["added"]),
            changed=len(row["changed"]),
            withdrawn=len(row["withdrawn"]),
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
        return rows_to(ObservationSummary, rows)

    async def get(self, observation_id: UUID) -> ObservationOut:
        async with self.pool.acquire() as conn:
            row = await ObservationStore(conn).get(observation_id, *self._who)
            if row is None:
                raise OBSERVATION_NOT_FOUND(f"no observation {observation_id}")
            flags = await FlagStore(conn).history(observation_id)
        return detail(row, flags)

    async def flag(self, observation_id: UUID, data: FlagIn) -> tuple[ObservationOut, bool]:
        """Set the quality level; (the observation, whether anything changed)."""
        now = datetime.now(UTC)
        reasons: list[str] = sorted(set(data.reasons))
        async with transaction(self.pool) as conn:
            store = ObservationStore(conn)
            row = await store.get(observation_id, *self._who, lock=True)
            if row is None:
                raise OBSERVATION_NOT_FOUND(f"no observation {observation_id}")
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
