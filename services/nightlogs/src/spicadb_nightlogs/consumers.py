"""Event handlers in: the data rights (the kit's copy) and the programmes' targets. Each batch is one
transaction with the inbox rows, so a redelivered event changes nothing twice."""

from __future__ import annotations

import asyncpg

from spicadb_contracts.programmes import TargetChanged, TargetsImported, TargetSnapshot
from spicadb_kit import rights
from spicadb_kit.events import Envelope, EventConsumer

from .domain import name_key
from .spec import PROGRAMME_TARGETS, RIGHTS
from .storage.observations import TargetStore

programme_rights = rights.consumer(RIGHTS)
programme_targets = EventConsumer(PROGRAMME_TARGETS)


def _row(programme_id, code: str, t: TargetSnapshot) -> tuple[object, ...]:  # type: ignore[no-untyped-def]
    return (t.target_id, programme_id, code, t.name, name_key(t.name), t.ra, t.dec, t.epoch, t.pmra, t.pmdec)


@programme_targets.on_batch(TargetsImported)
async def targets_imported(conn: asyncpg.Connection, items: list[tuple[Envelope, TargetsImported]]) -> None:
    await TargetStore(conn).upsert([_row(e.programme_id, e.code, t) for _, e in items for t in e.targets])


@programme_targets.on(TargetChanged)
async def target_changed(conn: asyncpg.Connection, _: Envelope, event: TargetChanged) -> None:
    if event.change == "deleted" or event.target is None:
        await TargetStore(conn).delete(event.target_id)
    else:
        await TargetStore(conn).upsert([_row(event.programme_id, event.code, event.target)])
