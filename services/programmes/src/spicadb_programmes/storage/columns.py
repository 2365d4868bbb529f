"""The columns of a programme's target lists (``target_column``): described once, in the order they first
came, the description of the latest list that had them."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from ..models import TargetColumnOut

_FIELDS = ("name", "datatype", "arraysize", "unit", "ucd", "utype", "xtype", "description", "maps_to")

_UPSERT = """
INSERT INTO target_column (programme_id, position, name, datatype, arraysize, unit, ucd, utype, xtype,
                           description, maps_to)
SELECT $1, (SELECT coalesce(max(position), 0) FROM target_column WHERE programme_id = $1) + c.ordinality,
       c.name, c.datatype, c.arraysize, c.unit, c.ucd, c.utype, c.xtype, c.description, c.maps_to
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
            $10::text[]) WITH ORDINALITY
     AS c (name, datatype, arraysize, unit, ucd, utype, xtype, description, maps_to, ordinality)
ON CONFLICT (programme_id, name) DO {}
"""
_DESCRIBE = """UPDATE SET
    datatype = EXCLUDED.datatype, arraysize = EXCLUDED.arraysize, unit = EXCLUDED.unit, ucd = EXCLUDED.ucd,
    utype = EXCLUDED.utype, xtype = EXCLUDED.xtype, description = EXCLUDED.description,
    maps_to = EXCLUDED.maps_to"""


class TargetColumnStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def record(
        self, programme_id: UUID, columns: Sequence[TargetColumnOut], *, describes: bool = True
    ) -> None:
        """Describe ``columns`` for the programme: new ones after those it has; known ones updated when the
        list ``describes`` its columns (a VOTable's FIELDs), left as they are otherwise (CSV, JSON: a
        re-imported export must not lose the units and UCDs its columns came with)."""
        if not columns:
            return
        sql = _UPSERT.format(_DESCRIBE if describes else "NOTHING")
        await self.conn.execute(sql, programme_id, *([getattr(c, f) for c in columns] for f in _FIELDS))

    async def all(self, programme_id: UUID) -> list[TargetColumnOut]:
        rows = await self.conn.fetch(
            "SELECT name, position, datatype, arraysize, unit, ucd, utype, xtype, description, maps_to"
            " FROM target_column WHERE programme_id = $1 ORDER BY position, name",
            programme_id,
        )
        return [TargetColumnOut(**dict(r)) for r in rows]

    async def datatypes(self, programme_id: UUID, names: Sequence[str]) -> dict[str, str]:
        rows = await self.conn.fetch(
            "SELECT name, datatype FROM target_column WHERE programme_id = $1 AND name = ANY($2::text[])",
            programme_id,
            list(names),
        )
        return {r["name"]: r["datatype"] for r in rows}
