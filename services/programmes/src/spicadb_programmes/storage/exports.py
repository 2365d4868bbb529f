"""What the target exports read besides the targets: the programme's list columns and its requests."""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

import asyncpg
import msgspec

from ..targetlists.export_votable import ListColumn, Request

_COLUMNS = """
SELECT name, datatype, arraysize, unit, ucd, utype, xtype, description, maps_to
FROM target_column WHERE programme_id = $1 ORDER BY position, name
"""
_REQUESTS = """
SELECT r.target_id, s.name AS setup, s.mode, s.configuration, r.visits, r.priority, r.planned, r.observed, r.good
FROM request r JOIN setup s ON s.id = r.setup_id
WHERE r.programme_id = $1
ORDER BY r.target_id, r.priority, s.name
"""


class ExportStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def columns(self, programme_id: UUID) -> list[ListColumn]:
        """The columns of the programme's imported lists, in their order of first appearance."""
        rows = await self.conn.fetch(_COLUMNS, programme_id)
        return msgspec.convert([dict(r) for r in rows], list[ListColumn])

    async def requests(self, programme_id: UUID) -> dict[UUID, list[Request]]:
        """The programme's observation requests by target, best priority first."""
        by_target: dict[UUID, list[Request]] = defaultdict(list)
        for r in await self.conn.fetch(_REQUESTS, programme_id):  # the columns are Request's, in order
            by_target[r["target_id"]].append(Request(*tuple(r)[1:]))
        return dict(by_target)
