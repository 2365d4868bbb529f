"""Progress from the night logs: this service's copy of plans, observations and flags, and the
counters of the requests they touch. Runs in the consumer's transaction (inbox included), so a
redelivered event changes nothing twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeVar
from uuid import UUID

import asyncpg
import msgspec

from spicadb_contracts.nightlogs import NightScheduled, ObservationFlagged, ObservationLogged
from spicadb_contracts.programmes import ProgressChanged, ProgressCounts
from spicadb_kit.events import Outbox
from spicadb_kit.rows import row_to

from ..domain import progress_state
from ..models import Counts
from ..storage.requests import NightLogStore
from ..storage.targets import name_key

C = TypeVar("C", Counts, ProgressCounts)


def request_counts(row: asyncpg.Record, kind: type[C]) -> C:
    """A request's counts (an answer's or an event's) from its row (RequestStore / NightLogStore)."""
    state = progress_state(row["visits"], row["observed"], row["good"])
    return row_to(kind, row, requested=row["visits"], state=state)


def totals(rows: list[asyncpg.Record]) -> tuple[Counts, dict[str | None, Counts]]:
    """Programme and per-work-package counts from NightLogStore.totals rows."""

    def counts(requested: int, planned: int, observed: int, good: int, requests: int, open_: int) -> Counts:
        state = "not-observed" if observed == 0 else ("done" if requests and not open_ else "partial")
        return Counts(requested=requested, planned=planned, observed=observed, good=good, state=state)

    keys = ("requested", "planned", "observed", "good", "requests", "open")
    per_wp = {r["work_package"]: counts(*(int(r[k] or 0) for k in keys)) for r in rows}
    whole = counts(*(sum(int(r[k] or 0) for r in rows) for k in keys))
    return whole, per_wp


class ProgressService:
    def __init__(self, conn: asyncpg.Connection, outbox: Outbox) -> None:
        self.conn = conn
        self.outbox = outbox
        self.store = NightLogStore(conn)

    async def night_scheduled(self, plan: NightScheduled) -> list[UUID]:
        if not await self.store.newer_plan(plan.site, plan.night, plan.version):
            return []  # an older version arriving late: the newer plan stands
        resolved = await self.store.resolve_targets(
            [(p.target_id, p.programme, name_key(p.target)) for p in plan.observations]
        )
        rows = [
            (p.sequence, programme, target, p.mode)
            for p, (programme, target) in zip(plan.observations, resolved, strict=True)
        ]
        return await self.store.replace_plan(plan.site, plan.night, plan.version, rows)

    async def observations_logged(self, events: Sequence[ObservationLogged]) -> list[UUID]:
        logged = list({o.observation_id: o for o in events}.values())  # a corrected log's version wins
        resolved = await self.store.resolve_targets(
            [(o.target_id, o.programme, name_key(o.target_name)) for o in logged]
        )
        rows = [
            (o.observation_id, programme, target, o.mode, o.night, o.mjd_start, o.mjd_end, o.withdrawn)
            for o, (programme, target) in zip(logged, resolved, strict=True)
        ]
        return await self.store.upsert_observations(rows)

    async def observations_flagged(self, flags: Sequence[ObservationFlagged]) -> list[UUID]:
        latest = {f.observation_id: f.level for f in flags}  # in order: the last flag of a batch wins
        return await self.store.set_levels(list(latest.items()))

    async def recount(self, target_ids: Sequence[UUID], edited: Sequence[UUID] = ()) -> int:
        """Recount the requests of these targets; one progress.changed per request whose counts moved,
        and per ``edited`` request (its visits changed, or it is new)."""
        changed = await self.store.recount(sorted(set(target_ids)))
        missing = set(edited) - {r["id"] for r in changed}
        if missing:
            changed += await self.store.requests(sorted(missing))
        if not changed:
            return 0
        now = datetime.now(UTC)
        events = []
        for programme_id in sorted({r["programme_id"] for r in changed}):
            code = await self.conn.fetchval("SELECT code FROM programme WHERE id = $1", programme_id)
            whole, per_wp = totals(await self.store.totals(programme_id))
            for r in (r for r in changed if r["programme_id"] == programme_id):
                wp = per_wp.get(r["work_package"])
                events.append(
                    (
                        str(programme_id),
                        row_to(
                            ProgressChanged,
                            r,
                            code=code,
                            request_id=r["id"],
                            request=request_counts(r, ProgressCounts),
                            programme=_counts(whole),
                            changed_at=now,
                            work_package_progress=_counts(wp) if wp and r["work_package"] else None,
                        ),
                    )
                )
        await self.outbox.add_many(self.conn, events)
        return len(events)


def _counts(counts: Counts) -> ProgressCounts:
    return ProgressCounts(**msgspec.structs.asdict(counts))
