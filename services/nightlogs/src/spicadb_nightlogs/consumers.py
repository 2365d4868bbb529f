"""Event handlers in: the data rights (the kit's copy) and the programmes' targets. Each batch is one
transaction with the inbox rows, so a redelivered event changes nothing twice.

The targets copy takes only targets that keep the rules of spicadb_astro.targets (those the programmes
service checks on every write path): a target breaking one is left out of the copy (and a warning logged),
never handed to the matcher. Creations and changes are events of different aggregates, in no order between
them: see storage.observations.TargetStore. Every change of the copy matches again the observations it may
match now (services.rematch)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from spicadb_astro import targets as rules
from spicadb_contracts.programmes import TargetChanged, TargetsImported, TargetSnapshot
from spicadb_kit import rights
from spicadb_kit.events import Envelope, EventConsumer, Outbox
from spicadb_kit.logs import get_logger

from .config import NightLogsSettings
from .domain import name_key
from .matching import Target
from .services.rematch import Rematcher
from .spec import PROGRAMME_TARGETS, RIGHTS, SPEC
from .storage.observations import TargetStore

log = get_logger(__name__)

programme_rights = rights.consumer(RIGHTS)
# observation.logged events of observations matched again leave through the service's outbox, in the
# consumer's transaction
OUTBOX = Outbox(f"/spicadb/{SPEC.name}")


def _usable(code: str, t: TargetSnapshot) -> bool:
    found = rules.problems(
        {"name": t.name, "ra": t.ra, "dec": t.dec, "epoch": t.epoch, "pmra": t.pmra, "pmdec": t.pmdec,
         "parallax": t.parallax}
    )  # fmt: skip
    if found:
        log.warning("target not copied: it breaks a rule", programme=code, target_id=str(t.target_id),
                    problems=[f"{f}: {m}" for f, m in found])  # fmt: skip
    return not found


def _row(programme_id: UUID, code: str, t: TargetSnapshot) -> tuple[object, ...]:
    return (t.target_id, programme_id, code, t.name, name_key(t.name), t.ra, t.dec, t.epoch, t.pmra, t.pmdec)


def _target(code: str, t: TargetSnapshot) -> Target:
    return Target(t.target_id, code, t.name, t.ra, t.dec, t.epoch, t.pmra, t.pmdec)


def targets_consumer(settings: NightLogsSettings) -> EventConsumer:
    """The programmes' targets copy, and the observations matched again when it changes."""
    programme_targets = EventConsumer(PROGRAMME_TARGETS)

    async def changed(conn: asyncpg.Connection, targets: Sequence[Target]) -> None:
        await Rematcher(conn, OUTBOX, settings).targets_changed(targets)

    @programme_targets.on_batch(TargetsImported)
    async def targets_imported(
        conn: asyncpg.Connection, items: list[tuple[Envelope, TargetsImported]]
    ) -> None:
        store = TargetStore(conn)
        await store.bump()
        kept = [(e, t) for _, e in items for t in e.targets if _usable(e.code, t)]
        await store.create([_row(e.programme_id, e.code, t) for e, t in kept])
        await changed(conn, [_target(e.code, t) for e, t in kept])

    @programme_targets.on_batch(TargetChanged)
    async def targets_changed(conn: asyncpg.Connection, items: list[tuple[Envelope, TargetChanged]]) -> None:
        store = TargetStore(conn)
        await store.bump()
        touched: dict[UUID, Target] = {}
        for _, event in items:  # in order: each change is the target's whole state
            touched.pop(event.target_id, None)
            if event.change == "deleted" or event.target is None:
                await store.delete(event.target_id, event.programme_id)
            elif not _usable(event.code, event.target):
                await store.forget(event.target_id)
            else:
                await store.upsert([_row(event.programme_id, event.code, event.target)])
                touched[event.target_id] = _target(event.code, event.target)
        await changed(conn, list(touched.values()))

    return programme_targets
