"""SQL of observations, their flags, and the programme targets copy. asyncpg's ``fetch`` has no
annotations: the rows of each query are typed where they are fetched."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from spicadb_kit.pagination import Cursor
from spicadb_kit.rights import release_sql, visible_sql
from spicadb_kit.sql import Where

# the columns a log writes, in COPY order
OBSERVATION_COLUMNS = (
    "id",
    "site",
    "night",
    "obs_key",
    "first_version",
    "log_version",
    "withdrawn_in",
    "line",
    "content_hash",
    "target_name",
    "type",
    "kind",
    "pi",
    "log_programme",
    "combiner",
    "programme",
    "target_id",
    "ra",
    "dec",
    "matched_by",
    "planned_sequence",
    "mode",
    "em_min",
    "em_max",
    "resolving_power",
    "stations",
    "mjd_start",
    "mjd_end",
    "start_at",
    "end_at",
    "seeing",
    "tau0",
    "t0_obs",
    "wind",
    "airmass",
    "temperature",
    "b1",
    "b2",
    "b3",
    "comments",
    "raw_files",
    "baselines",
    "logged_at",
)
# kept when a corrected log rewrites an observation: its identity, first version and quality flag
_REWRITTEN = [c for c in OBSERVATION_COLUMNS if c not in ("id", "site", "night", "obs_key", "first_version")]

# the fields of models.ObservationSummary named from the table's columns
NAMED = 'o.start_at AS start, o.end_at AS "end", o.withdrawn_in IS NOT NULL AS withdrawn'
# the columns of models.ObservationSummary, each named as its field
SUMMARY = (
    "o.id, o.site, o.night, o.target_name, o.kind, o.type, o.programme, o.target_id, o.matched_by,"
    f" o.planned_sequence, o.mode, o.stations, o.mjd_start, o.mjd_end, o.level, o.log_version, {NAMED}"
)
# $1: the viewer's user name (NULL: anonymous), $2: whether they see everything
# calibrators are released when observed, in every view (the kit's rule)
CALIBRATOR = "o.kind = 'calibrator'"
VISIBLE = visible_sql("o.programme", "o.end_at", "$1::text", "$2::boolean", calibrator=CALIBRATOR)


class ObservationKey(Cursor, frozen=True):
    """The observations listing's keyset (ORDER BY mjd_start, id)."""

    mjd_start: float
    id: UUID


@dataclass
class ObservationFilter:
    site: str | None = None
    night_from: date | None = None
    night_to: date | None = None
    programme: str | None = None
    target_id: UUID | None = None
    target_name: str | None = None
    mode: str | None = None
    level: str | None = None
    kind: str | None = None
    withdrawn: bool = False


class ObservationStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def of_night(self, site: str, night: date) -> list[asyncpg.Record]:
        """Identity and content hash of every observation of the night ever logged (and the programme an
        admin gave it, which stands)."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            "SELECT id, content_hash, withdrawn_in, programme, programme_assigned_by FROM observation"
            " WHERE site = $1 AND night = $2",
            site,
            night,
        )
        return rows

    async def copy_new(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if rows:
            await self.conn.copy_records_to_table("observation", records=rows, columns=OBSERVATION_COLUMNS)

    async def rewrite(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Observations a corrected log changed or brought back: COPY into a scratch table, one UPDATE."""
        if not rows:
            return
        await self.conn.execute(
            "CREATE TEMP TABLE observation_stage ON COMMIT DROP AS SELECT "
            + ", ".join(OBSERVATION_COLUMNS)
            + " FROM observation WITH NO DATA"
        )
        await self.conn.copy_records_to_table("observation_stage", records=rows, columns=OBSERVATION_COLUMNS)
        assignments = ", ".join(f"{c} = s.{c}" for c in _REWRITTEN)
        await self.conn.execute(
            f"UPDATE observation o SET {assignments} FROM observation_stage s WHERE o.id = s.id"
        )
        await self.conn.execute("DROP TABLE observation_stage")

    async def withdraw(self, ids: Sequence[UUID], version: int) -> list[asyncpg.Record]:
        if not ids:
            return []
        rows: list[asyncpg.Record] = await self.conn.fetch(
            "UPDATE observation SET withdrawn_in = $2, log_version = $2 WHERE id = ANY($1::uuid[]) RETURNING *",
            list(ids),
            version,
        )
        return rows

    async def get(
        self, observation_id: UUID, viewer: str | None, sees_all: bool, *, lock: bool = False
    ) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            f"SELECT o.*, {NAMED}, {release_sql('o.programme', 'o.end_at', calibrator=CALIBRATOR)} AS release"
            " FROM observation o"
            f" WHERE {VISIBLE} AND o.id = $3" + (" FOR UPDATE OF o" if lock else ""),
            viewer,
            sees_all,
            observation_id,
        )

    async def summaries(
        self, ids: Sequence[UUID], viewer: str | None, sees_all: bool
    ) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(
            f"SELECT {SUMMARY} FROM observation o WHERE {VISIBLE} AND o.id = ANY($3::uuid[])"
            " ORDER BY o.mjd_start, o.id",
            viewer,
            sees_all,
            list(ids),
        )
        return rows

    async def of_night_visible(
        self, site: str, night: date, viewer: str | None, sees_all: bool
    ) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(
            f"SELECT {SUMMARY} FROM observation o WHERE {VISIBLE} AND o.site = $3 AND o.night = $4 AND o.withdrawn_in IS NULL"
            " ORDER BY o.mjd_start, o.id",
            viewer,
            sees_all,
            site,
            night,
        )
        return rows

    async def listing(
        self,
        flt: ObservationFilter,
        viewer: str | None,
        sees_all: bool,
        after: ObservationKey | None,
        limit: int,
    ) -> list[asyncpg.Record]:
        where = Where(viewer, sees_all, conditions=[VISIBLE])
        if not flt.withdrawn:
            where.add("o.withdrawn_in IS NULL")
        where.when("o.site = {}", flt.site)
        where.when("o.night >= {}", flt.night_from)
        where.when("o.night <= {}", flt.night_to)
        where.when("o.programme = {}", flt.programme)
        where.when("o.target_id = {}", flt.target_id)
        where.when("lower(o.target_name) = lower({})", flt.target_name)
        where.when("o.mode = {}", flt.mode)
        where.when("o.level = {}", flt.level)
        where.when("o.kind = {}", flt.kind)
        where.after(["o.mjd_start", "o.id"], after.values() if after else None)
        rows: list[asyncpg.Record] = await self.conn.fetch(
            f"SELECT {SUMMARY} FROM observation o WHERE {where.clause()}"
            f" ORDER BY o.mjd_start, o.id LIMIT {int(limit)}",
            *where.args,
        )
        return rows

    async def rematchable(self) -> list[asyncpg.Record]:
        """Observations a change of the targets copy may match now: in the latest log of their night,
        matched to nothing or by position only (a name that names no target, or several)."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            "SELECT id, site, night, target_name, ra, dec, target_id FROM observation"
            " WHERE withdrawn_in IS NULL AND matched_by IN ('none', 'position')"
        )
        return rows

    async def rematchable_of_night(self, site: str, night: date, ids: Sequence[UUID]) -> list[asyncpg.Record]:
        """Those of ``ids`` that still are, read once the night is locked."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            "SELECT * FROM observation WHERE site = $1 AND night = $2 AND id = ANY($3::uuid[])"
            " AND withdrawn_in IS NULL AND matched_by IN ('none', 'position')",
            site,
            night,
            list(ids),
        )
        return rows

    async def set_match(self, observation_id: UUID, match: dict[str, Any]) -> asyncpg.Record:
        """A new match of an observation (with its place, baselines and content hash); its row after."""
        return await self.conn.fetchrow(
            "UPDATE observation SET programme = $2, target_id = $3, ra = $4, dec = $5, matched_by = $6,"
            " planned_sequence = $7, baselines = $8, content_hash = $9 WHERE id = $1 RETURNING *",
            observation_id,
            match["programme"],
            match["target_id"],
            match["ra"],
            match["dec"],
            match["matched_by"],
            match["planned_sequence"],
            match["baselines"],
            match["content_hash"],
        )

    async def set_level(self, observation_id: UUID, level: str, reasons: list[str], comment: str) -> None:
        await self.conn.execute(
            "UPDATE observation SET level = $2, reasons = $3, level_comment = $4 WHERE id = $1",
            observation_id,
            level,
            reasons,
            comment,
        )


class FlagStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, row: dict[str, Any]) -> None:
        await self.conn.execute(
            "INSERT INTO observation_flag (observation_id, level, previous_level, reasons, comment, flagged_by,"
            " flagged_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            row["observation_id"],
            row["level"],
            row["previous_level"],
            row["reasons"],
            row["comment"],
            row["flagged_by"],
            row["flagged_at"],
        )

    async def history(self, observation_id: UUID) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(
            "SELECT level, previous_level, reasons, comment, flagged_by, flagged_at FROM observation_flag"
            " WHERE observation_id = $1 ORDER BY id",
            observation_id,
        )
        return rows


TARGET_COLUMNS = "target_id, programme_id, programme, name, name_key, ra, dec, epoch, pmra, pmdec"
_VALUES = "$1::uuid, $2::uuid, $3::text, $4::text, $5::text, $6::float8, $7::float8, $8::float8, $9::float8, $10::float8"
_NOT_DELETED = "NOT EXISTS (SELECT 1 FROM programme_target_deleted d WHERE d.target_id = $1)"


class TargetStore:
    """The programmes' targets copy. Creations (``targets.imported``) and changes (``target.changed``)
    are events of different aggregates, in no order between them, so: a creation never overwrites a
    row (a row already there came from a later change), a deletion leaves a tombstone that no later
    creation or change passes, and a change applies over whatever is there."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def by_names(self, keys: Sequence[str]) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(
            f"SELECT {TARGET_COLUMNS} FROM programme_target WHERE name_key = ANY($1::text[])", list(keys)
        )
        return rows

    async def all(self) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(f"SELECT {TARGET_COLUMNS} FROM programme_target")
        return rows

    async def create(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Targets an import created: kept unless deleted already, never over a newer change."""
        if rows:
            await self.conn.executemany(
                f"INSERT INTO programme_target ({TARGET_COLUMNS}) SELECT {_VALUES} WHERE {_NOT_DELETED}"
                " ON CONFLICT (target_id) DO NOTHING",
                rows,
            )

    async def upsert(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Targets as a change left them (the whole state), unless deleted already."""
        if not rows:
            return
        await self.conn.executemany(
            f"INSERT INTO programme_target ({TARGET_COLUMNS}) SELECT {_VALUES} WHERE {_NOT_DELETED}"
            " ON CONFLICT (target_id) DO UPDATE SET programme_id = EXCLUDED.programme_id,"
            " programme = EXCLUDED.programme, name = EXCLUDED.name, name_key = EXCLUDED.name_key,"
            " ra = EXCLUDED.ra, dec = EXCLUDED.dec, epoch = EXCLUDED.epoch, pmra = EXCLUDED.pmra,"
            " pmdec = EXCLUDED.pmdec, updated_at = now()",
            rows,
        )

    async def forget(self, target_id: UUID) -> None:
        """No usable copy of this target (its last state broke the rules); not a deletion."""
        await self.conn.execute("DELETE FROM programme_target WHERE target_id = $1", target_id)

    async def delete(self, target_id: UUID, programme_id: UUID) -> None:
        """The target is gone for good: its row, and a tombstone against an import arriving later."""
        await self.conn.execute(
            "INSERT INTO programme_target_deleted (target_id, programme_id) VALUES ($1, $2)"
            " ON CONFLICT (target_id) DO NOTHING",
            target_id,
            programme_id,
        )
        await self.conn.execute("DELETE FROM programme_target WHERE target_id = $1", target_id)

    async def bump(self) -> int:
        """A new generation of the copy; the row stays locked until the transaction ends."""
        return int(
            await self.conn.fetchval(
                "UPDATE target_copy_generation SET generation = generation + 1 RETURNING generation"
            )
        )

    async def generation(self, *, share: bool = False) -> int:
        """The copy's generation; ``share``: wait for a change of the copy being committed, and keep
        the next one waiting until this transaction ends."""
        return int(
            await self.conn.fetchval(
                "SELECT generation FROM target_copy_generation" + (" FOR SHARE" if share else "")
            )
        )
