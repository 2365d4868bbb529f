"""The SPICA scheduler's plans: every post is a new version of the night's plan, none is overwritten."""

from __future__ import annotations

from datetime import UTC, date, datetime

import asyncpg
import msgspec

from spicadb_astro import chara, spica
from spicadb_contracts.bounds import PLANNED_OBSERVATIONS
from spicadb_contracts.nightlogs import NightScheduled, PlannedObservation
from spicadb_kit.db import transaction
from spicadb_kit.errors import FieldError
from spicadb_kit.events import Outbox
from spicadb_kit.rows import row_to

from ..domain import night_bounds
from ..models import PlanOut, ScheduleIn
from ..problems import INVALID_PLAN
from ..storage.nights import NightStore, PlanStore
from .access import Caller


def plan_out(row: asyncpg.Record, seen: set[str] | None = None) -> PlanOut:
    observations = msgspec.convert(row["observations"], list[PlannedObservation])
    if seen is not None:
        observations = [o for o in observations if o.programme in seen]
    return row_to(PlanOut, row, observations=observations)


class ScheduleService:
    def __init__(self, pool: asyncpg.Pool, outbox: Outbox, caller: Caller) -> None:
        self.pool = pool
        self.outbox = outbox
        self.caller = caller

    def _checked(self, night: date, data: ScheduleIn) -> list[PlannedObservation]:
        start, end = night_bounds(night)
        errors: list[FieldError] = []
        planned: list[PlannedObservation] = []
        sequences: set[int] = set()
        if len(data.observations) > PLANNED_OBSERVATIONS:  # night.scheduled carries them all
            errors.append(
                FieldError("body.observations", f"{len(data.observations)}: at most {PLANNED_OBSERVATIONS}")
            )
        for i, item in enumerate(data.observations):
            where = f"body.observations[{i}]"
            bad = len(errors)
            try:
                mode = spica.mode(item.mode).name
            except KeyError as exc:
                errors.append(FieldError(f"{where}.mode", str(exc.args[0])))
            try:
                configuration = chara.normalise_configuration(item.configuration)
            except ValueError as exc:
                errors.append(FieldError(f"{where}.configuration", str(exc)))
            first, last = item.start, item.end
            if first.tzinfo is None or last.tzinfo is None:
                errors.append(FieldError(f"{where}.start", "times carry their offset (UTC: ...Z)"))
            elif not start <= first < last <= end:
                errors.append(
                    FieldError(
                        f"{where}.start",
                        f"start < end within the night {night} (local noon to local noon: "
                        f"{start:%Y-%m-%dT%H:%M}Z to {end:%Y-%m-%dT%H:%M}Z)",
                    )
                )
            sequence = item.sequence or i + 1
            if sequence in sequences:
                errors.append(FieldError(f"{where}.sequence", f"sequence {sequence} appears twice"))
            sequences.add(sequence)
            if len(errors) == bad:
                planned.append(
                    PlannedObservation(
                        sequence=sequence,
                        programme=item.programme,
                        target=item.target,
                        mode=mode,
                        configuration=configuration,
                        start=first.astimezone(UTC),
                        end=last.astimezone(UTC),
                        calibrators=list(item.calibrators),
                        target_id=item.target_id,
                    )
                )
        if errors:
            raise INVALID_PLAN(
                f"the plan of {night} has {len(errors)} errors; nothing was written",
                errors=errors,
            )
        return sorted(planned, key=lambda p: p.sequence)

    async def schedule(self, site: str, night: date, data: ScheduleIn) -> PlanOut:
        planned = self._checked(night, data)
        now = datetime.now(UTC)
        start, end = night_bounds(night)
        async with transaction(self.pool) as conn:
            row = await NightStore(conn).lock(site, night, start, end)
            version = row["plan_version"] + 1
            plan = {
                "site": site,
                "night": night,
                "version": version,
                "observations": planned,
                "scheduled_by": self.caller.username,
                "scheduled_at": now,
            }
            await PlanStore(conn).insert(plan)
            await NightStore(conn).set_versions(site, night, plan=version)
            event = NightScheduled(
                site=site,
                night=night,
                version=version,
                observations=planned,
                scheduled_by=self.caller.username,
                scheduled_at=now,
            )
            await self.outbox.add(conn, event, aggregate_id=f"{site}/{night.isoformat()}")
        return PlanOut(**plan)
