from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg  # untyped: each answer is annotated where a query returns it

from spicadb_kit.pagination import Cursor, bad_cursor
from spicadb_kit.sql import Where

# the target's stored fields, in the order of TargetIn (work_package is a join)
FIELDS = (
    "name", "ra", "dec", "epoch", "pmra", "pmdec", "parallax", "radial_velocity",
    "mag_v", "mag_r", "mag_i", "mag_j", "mag_h", "mag_k",
    "spectral_type", "object_type", "hd", "hip", "tmass", "gaia", "notes",
    "gaia_dr2", "gaia_dr3", "chara_id", "magnitudes", "diameters", "teff", "logg", "feh",
    "priority", "science_case", "spica_setup", "chara_setup", "calibrator_ids", "observations_requested",
    "properties",
)  # fmt: skip
# stored as jsonb, never null
STRUCTURED = ("magnitudes", "diameters", "properties")
BANDS = ("v", "r", "i", "j", "h", "k")
SELECT = (
    "SELECT t.id, " + ", ".join(f"t.{f}" for f in FIELDS) + ", w.code AS work_package,"
    " t.progress, t.created_at, t.updated_at FROM target t LEFT JOIN work_package w ON w.id = t.work_package_id"
)

# sort key -> (SQL expression, the type of its values in a cursor)
SORTS: dict[str, tuple[str, type]] = {
    "name": ("t.name_key", str),
    "ra": ("t.ra", float),
    "dec": ("t.dec", float),
    "created": ("t.created_at", datetime),
    **{f"mag_{b}": (f"coalesce(t.mag_{b}, 'Infinity'::float8)", float) for b in BANDS},
}


def name_key(name: str) -> str:
    """How names are compared: case and repeated blanks do not make two targets different."""
    return " ".join(name.lower().split())


@dataclass
class TargetFilter:
    work_package: str | None = None
    priority: int | None = None
    # (band, min, max), either bound None
    magnitudes: list[tuple[str, float | None, float | None]] = field(default_factory=list)
    # a window in right ascension; ra_min > ra_max crosses 0h
    ra_min: float | None = None
    ra_max: float | None = None
    dec_min: float | None = None
    dec_max: float | None = None
    progress: str | None = None
    search: str | None = None
    # only these targets (the observability filter's answer)
    ids: list[UUID] | None = None
    # (FIELD name, value): targets whose kept property has this value (prop.NAME=value)
    properties: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def crosses_zero(self) -> bool:
        return self.ra_min is not None and self.ra_max is not None and self.ra_min > self.ra_max

    def where(self, programme_id: UUID) -> Where:
        """The SQL conditions on ``t`` (target) of the programme's targets matching the filter."""
        where = Where(programme_id, conditions=["t.programme_id = $1"])
        # the programme's own work package by its id: `w.code = $n` alone matched the code in every
        # programme, and PostgreSQL's generic plan for it scanned the programme's targets (make bench:
        # p99 102 ms on 100,000 targets; by id 0.6 ms)
        where.when(
            "t.work_package_id = (SELECT id FROM work_package WHERE programme_id = $1 AND code = {})",
            self.work_package,
        )
        where.when(
            "EXISTS (SELECT 1 FROM request r WHERE r.target_id = t.id AND r.priority = {})", self.priority
        )
        for band, low, high in self.magnitudes:
            where.when(f"t.mag_{band} >= {{}}", low)
            where.when(f"t.mag_{band} <= {{}}", high)
        if self.crosses_zero:
            where.add("(t.ra >= {} OR t.ra <= {})", self.ra_min, self.ra_max)
        else:
            where.when("t.ra >= {}", self.ra_min)
            where.when("t.ra <= {}", self.ra_max)
        where.when("t.dec >= {}", self.dec_min)
        where.when("t.dec <= {}", self.dec_max)
        where.when("t.progress = {}", self.progress)
        if self.search:
            where.add("t.name_key LIKE {}", "%" + name_key(self.search) + "%")
        where.when("t.id = ANY({}::uuid[])", self.ids)
        for name, value in self.properties:  # containment: the GIN index target_properties answers it
            where.add("t.properties @> {}::jsonb", {name: value})
        return where


class TargetKey(Cursor, frozen=True):
    """The targets listing's keyset: the sort, its value (a name key, degrees or a magnitude, which
    is infinite for the targets without one, a creation time) and the id."""

    sort: str
    value: Any
    id: UUID

    def of(self, sort: str) -> TargetKey:
        """This cursor when it is one of ``sort``'s pages; a 400 bad-cursor otherwise."""
        if self.sort != sort or type(self.value) is not SORTS[sort][1]:
            raise bad_cursor(f"not a cursor of the {sort} order")
        return self


class TargetStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert_many(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """COPY of full rows: (id, programme_id, work_package_id, name_key, *FIELDS, import_id, created_at, updated_at)."""
        await self.conn.copy_records_to_table(
            "target",
            records=rows,
            columns=(
                "id", "programme_id", "work_package_id", "name_key", *FIELDS, "import_id", "created_at", "updated_at",
            ),
        )  # fmt: skip

    async def get(self, programme_id: UUID, target_id: UUID, *, lock: bool = False) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            f"{SELECT} WHERE t.programme_id = $1 AND t.id = $2" + (" FOR UPDATE OF t" if lock else ""),
            programme_id,
            target_id,
        )

    async def rows(self, target_ids: Sequence[UUID]) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(
            f"{SELECT} WHERE t.id = ANY($1::uuid[]) ORDER BY t.name_key", list(target_ids)
        )
        return rows

    async def name_taken(self, programme_id: UUID, key: str, other_than: UUID | None = None) -> bool:
        return bool(
            await self.conn.fetchval(
                "SELECT 1 FROM target WHERE programme_id = $1 AND name_key = $2 AND id IS DISTINCT FROM $3",
                programme_id,
                key,
                other_than,
            )
        )

    async def update(self, target_id: UUID, changes: dict[str, Any], at: datetime) -> None:
        assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(changes, start=3))
        await self.conn.execute(
            f"UPDATE target SET {assignments}, updated_at = $2 WHERE id = $1",
            target_id,
            at,
            *changes.values(),
        )

    async def delete(self, programme_id: UUID, target_id: UUID) -> bool:
        status: str = await self.conn.execute(
            "DELETE FROM target WHERE programme_id = $1 AND id = $2", programme_id, target_id
        )
        return status.endswith("1")

    async def positions(self, programme_id: UUID, flt: TargetFilter | None = None) -> list[asyncpg.Record]:
        """(id, name, ra, dec, epoch, pmra, pmdec) of the targets matching ``flt``."""
        where = (flt or TargetFilter()).where(programme_id)
        rows: list[asyncpg.Record] = await self.conn.fetch(
            "SELECT t.id, t.name, t.ra, t.dec, t.epoch, t.pmra, t.pmdec FROM target t"
            f" LEFT JOIN work_package w ON w.id = t.work_package_id WHERE {where.clause()}",
            *where.args,
        )
        return rows

    async def page(
        self,
        programme_id: UUID,
        flt: TargetFilter,
        *,
        sort: str,
        descending: bool,
        after: TargetKey | None,
        limit: int,
    ) -> list[asyncpg.Record]:
        expression = SORTS[sort][0]
        if sort == "ra" and flt.crosses_zero:
            # a window across 0h reads in the sky's order: 350..360 then 0..10
            expression = f"CASE WHEN t.ra >= {float(flt.ra_min or 0.0)!r} THEN t.ra - 360 ELSE t.ra END"
        where = flt.where(programme_id)
        where.after([expression, "t.id"], (after.value, after.id) if after else None, descending=descending)
        direction = "DESC" if descending else "ASC"
        rows: list[asyncpg.Record] = await self.conn.fetch(
            f"{SELECT.replace('SELECT ', f'SELECT {expression} AS sort_value, ', 1)}"
            f" WHERE {where.clause()} ORDER BY {expression} {direction}, t.id {direction} LIMIT {int(limit)}",
            *where.args,
        )
        return rows

    async def stream(self, programme_id: UUID, flt: TargetFilter) -> AsyncIterator[asyncpg.Record]:
        """Every matching target by name, read with a server-side cursor (exports of 100,000 rows)."""
        where = flt.where(programme_id)
        async with self.conn.transaction(readonly=True):
            async for row in self.conn.cursor(
                f"{SELECT} WHERE {where.clause()} ORDER BY t.name_key", *where.args, prefetch=2000
            ):
                yield row
