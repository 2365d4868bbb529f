"""Writing the L0 view from the night-log events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg


class ViewStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def targets(self, rows: Sequence[tuple[str, str, float | None, float | None]]) -> dict[str, int]:
        """(name key, name, ra, dec), one per key -> target id by key; a position given replaces the
        one known."""
        result = await self.conn.fetch(
            "INSERT INTO target (name_key, name, ra, dec)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[])"
            " ON CONFLICT (name_key) DO UPDATE SET name = EXCLUDED.name,"
            "  ra = coalesce(EXCLUDED.ra, target.ra), dec = coalesce(EXCLUDED.dec, target.dec)"
            " RETURNING id, name_key",
            *[list(column) for column in zip(*rows, strict=True)],
        )
        return {r["name_key"]: r["id"] for r in result}

    async def upsert_exposures(self, rows: Sequence[dict[str, Any]]) -> int:
        """One row per observation; a corrected log (higher log_version) replaces what an older one
        said, an older one arriving late changes nothing. The header id stays the first log's."""
        columns = list(rows[0])
        types = {
            "observation_id": "uuid", "exp_header_id": "text", "site": "text", "night": "date",
            "log_version": "int4", "programme": "text", "target_id": "int8", "kind": "text", "mode": "text",
            "stations": "text", "mjd_start": "float8", "mjd_end": "float8", "date_end": "timestamptz",
            "ra": "float8", "dec": "float8", "seeing": "float8", "tau0": "float8", "wind": "float8",
            "airmass": "float8", "temperature": "float8", "comments": "text", "raw_files": "text",
            "baselines": "text", "planned_sequence": "int4", "matched_by": "text", "em_min": "float8",
            "em_max": "float8", "resolving_power": "float8", "withdrawn": "bool", "logged_at": "timestamptz",
        }  # fmt: skip
        # text[] columns travel as one string each (unnest cannot take an array of arrays of varying length)
        arrays = {"stations", "raw_files"}
        selects = ", ".join(f"string_to_array(i.{c}, chr(31))" if c in arrays else f"i.{c}" for c in columns)
        unnest = ", ".join(f"${n}::{types[c]}[]" for n, c in enumerate(columns, start=1))
        updates = ", ".join(
            f"{c} = EXCLUDED.{c}" for c in columns if c not in ("observation_id", "exp_header_id")
        )
        args = [[chr(31).join(r[c]) if c in arrays else r[c] for r in rows] for c in columns]
        status = await self.conn.execute(
            f"INSERT INTO exposure ({', '.join(columns)})"
            f" SELECT {selects} FROM unnest({unnest}) AS i({', '.join(columns)})"
            f" ON CONFLICT (observation_id) DO UPDATE SET {updates}, updated_at = now()"
            " WHERE exposure.log_version <= EXCLUDED.log_version",
            *args,
        )
        return int(status.split()[-1])

    async def flag(self, flags: Sequence[tuple[UUID, str, list[str], str, str, datetime, int]]) -> int:
        """(observation id, level, reasons, comment, flagged by, flagged at, how many flags) -> rows
        changed."""
        status = await self.conn.execute(
            "UPDATE exposure e SET level = f.level, flag_reasons = string_to_array(f.reasons, chr(31)),"
            " flag_comment = f.comment, flagged_by = f.flagged_by, flagged_at = f.flagged_at,"
            " flags = e.flags + f.n, updated_at = now()"
            " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],"
            "  $7::int4[]) AS f(id, level, reasons, comment, flagged_by, flagged_at, n)"
            " WHERE e.observation_id = f.id",
            [f[0] for f in flags],
            [f[1] for f in flags],
            [chr(31).join(f[2]) for f in flags],
            [f[3] for f in flags],
            [f[4] for f in flags],
            [f[5] for f in flags],
            [f[6] for f in flags],
        )
        return int(status.split()[-1])

    async def newer_plan(self, site: str, night: date, version: int, by: str, at: datetime) -> bool:
        """Record ``version`` as the night's plan unless a newer one is already applied."""
        applied = await self.conn.fetchval(
            "INSERT INTO night_plan (site, night, version, scheduled_by, scheduled_at)"
            " VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (site, night) DO UPDATE SET version = EXCLUDED.version,"
            "  scheduled_by = EXCLUDED.scheduled_by, scheduled_at = EXCLUDED.scheduled_at"
            " WHERE night_plan.version < EXCLUDED.version RETURNING version",
            site,
            night,
            version,
            by,
            at,
        )
        return applied is not None

    async def replace_plan(self, site: str, night: date, rows: Sequence[tuple[Any, ...]]) -> None:
        """(sequence, programme, target, mode, configuration, start, end, calibrators, target id)."""
        await self.conn.execute("DELETE FROM plan_entry WHERE site = $1 AND night = $2", site, night)
        await self.conn.executemany(
            "INSERT INTO plan_entry (site, night, sequence, programme, target, mode, configuration, start_at,"
            " end_at, calibrators, target_ref) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            [(site, night, *row) for row in rows],
        )
