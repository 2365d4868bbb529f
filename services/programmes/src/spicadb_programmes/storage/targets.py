from __future__ import annotations

import base64
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

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

# sort key -> (SQL expression, how a cursor value is read back)
SORTS: dict[str, tuple[str, Any]] = {
    "name": ("t.name_key", str),
    "ra": ("t.ra", float),
    "dec": ("t.dec", float),
    "created": ("t.created_at", datetime.fromisoformat),
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

    def where(self, args: list[Any]) -> list[str]:
        """SQL conditions on ``t`` (target) with their arguments appended to ``args``."""

        def arg(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        clauses: list[str] = []
        if self.work_package is not None:
            clauses.append(f"w.code = {arg(self.work_package)}")
        if self.priority is not None:
            clauses.append(
                f"EXISTS (SELECT 1 FROM request r WHERE r.target_id = t.id AND r.priority = {arg(self.priority)})"
            )
        for band, low, high in self.magnitudes:
            if low is not None:
                clauses.append(f"t.mag_{band} >= {arg(low)}")
            if high is not None:
                clauses.append(f"t.mag_{band} <= {arg(high)}")
        if self.crosses_zero:
            clauses.append(f"(t.ra >= {arg(self.ra_min)} OR t.ra <= {arg(self.ra_max)})")
        else:
            if self.ra_min is not None:
                clauses.append(f"t.ra >= {arg(self.ra_min)}")
            if self.ra_max is not None:
                clauses.append(f"t.ra <= {arg(self.ra_max)}")
        if self.dec_min is not None:
            clauses.append(f"t.dec >= {arg(self.dec_min)}")
        if self.dec_max is not None:
            clauses.append(f"t.dec <= {arg(self.dec_max)}")
        if self.progress is not None:
            clauses.append(f"t.progress = {arg(self.progress)}")
        if self.search:
            clauses.append(f"t.name_key LIKE {arg('%' + name_key(self.search) + '%')}")
        if self.ids is not None:
            clauses.append(f"t.id = ANY({arg(self.ids)}::uuid[])")
        for name, value in self.properties:  # containment: the GIN index target_properties answers it
            clauses.append(f"t.properties @> {arg({name: value})}::jsonb")
        return clauses


def encode_cursor(value: Any, target_id: UUID) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    elif isinstance(value, float) and not math.isfinite(value):
        value = str(value)  # JSON has no infinity: the magnitude sorts put targets without one last
    raw = msgspec.json.encode([value, str(target_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, UUID]:
    """ValueError when the cursor was not made by ``encode_cursor`` for this sort."""
    try:
        value, target_id = msgspec.json.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return SORTS[sort][1](value), UUID(target_id)
    except Exception as exc:
        raise ValueError("not a cursor of this listing") from exc


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
        return await self.conn.fetch(
            f"{SELECT} WHERE t.id = ANY($1::uuid[]) ORDER BY t.name_key", list(target_ids)
        )

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
        status = await self.conn.execute(
            "DELETE FROM target WHERE programme_id = $1 AND id = $2", programme_id, target_id
        )
        return status.endswith("1")

    async def positions(self, programme_id: UUID, flt: TargetFilter | None = None) -> list[asyncpg.Record]:
        """(id, name, ra, dec, epoch, pmra, pmdec) of the targets matching ``flt``."""
        args: list[Any] = [programme_id]
        clauses = ["t.programme_id = $1", *(flt.where(args) if flt else [])]
        return await self.conn.fetch(
            "SELECT t.id, t.name, t.ra, t.dec, t.epoch, t.pmra, t.pmdec FROM target t"
            " LEFT JOIN work_package w ON w.id = t.work_package_id"
            f" WHERE {' AND '.join(clauses)}",
            *args,
        )

    async def page(
        self,
        programme_id: UUID,
        flt: TargetFilter,
        *,
        sort: str,
        descending: bool,
        after: tuple[Any, UUID] | None,
        limit: int,
    ) -> list[asyncpg.Record]:
        expression = SORTS[sort][0]
        if sort == "ra" and flt.crosses_zero:
            # a window across 0h reads in the sky's order: 350..360 then 0..10
            expression = f"CASE WHEN t.ra >= {float(flt.ra_min or 0.0)!r} THEN t.ra - 360 ELSE t.ra END"
        args: list[Any] = [programme_id]
        clauses = ["t.programme_id = $1", *flt.where(args)]
        if after is not None:
            args.extend(after)
            clauses.append(
                f"({expression}, t.id) {'<' if descending else '>'} (${len(args) - 1}, ${len(args)})"
            )
        direction = "DESC" if descending else "ASC"
        args.append(limit)
        return await self.conn.fetch(
            f"{SELECT.replace('SELECT ', f'SELECT {expression} AS sort_value, ', 1)}"
            f" WHERE {' AND '.join(clauses)} ORDER BY {expression} {direction}, t.id {direction} LIMIT ${len(args)}",
            *args,
        )

    async def stream(self, programme_id: UUID, flt: TargetFilter) -> AsyncIterator[asyncpg.Record]:
        """Every matching target by name, read with a server-side cursor (exports of 100,000 rows)."""
        args: list[Any] = [programme_id]
        clauses = ["t.programme_id = $1", *flt.where(args)]
        async with self.conn.transaction(readonly=True):
            async for row in self.conn.cursor(
                f"{SELECT} WHERE {' AND '.join(clauses)} ORDER BY t.name_key", *args, prefetch=2000
            ):
                yield row
