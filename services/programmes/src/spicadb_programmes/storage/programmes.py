from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg  # untyped: each answer is annotated where a query returns it

from spicadb_kit.pagination import Cursor
from spicadb_kit.sql import Where

PROGRAMME_COLUMNS = (
    "id, code, title, kind, pi, description, status, public, proprietary_months,"
    " created_by, created_at, updated_at"
)


class ProgrammeKey(Cursor, frozen=True):
    """The programmes listing's keyset (ORDER BY code)."""

    code: str


class ProgrammeStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, row: dict[str, Any]) -> bool:
        status: str = await self.conn.execute(
            "INSERT INTO programme (id, code, title, kind, pi, description, status, public,"
            " proprietary_months, created_by, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) ON CONFLICT (code) DO NOTHING",
            row["id"],
            row["code"],
            row["title"],
            row["kind"],
            row["pi"],
            row["description"],
            row["status"],
            row["public"],
            row["proprietary_months"],
            row["created_by"],
            row["created_at"],
        )
        return status.endswith("1")

    async def by_code(self, code: str, *, lock: bool = False) -> asyncpg.Record | None:
        suffix = " FOR UPDATE" if lock else ""
        return await self.conn.fetchrow(
            f"SELECT {PROGRAMME_COLUMNS} FROM programme WHERE code = $1{suffix}", code
        )

    async def update(self, programme_id: UUID, changes: dict[str, Any], at: datetime) -> asyncpg.Record:
        assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(changes, start=3))
        return await self.conn.fetchrow(
            f"UPDATE programme SET {assignments}, updated_at = $2 WHERE id = $1 RETURNING {PROGRAMME_COLUMNS}",
            programme_id,
            at,
            *changes.values(),
        )

    async def listing(
        self,
        *,
        visible_to: str | None,
        status: str | None,
        kind: str | None,
        search: str | None,
        after: ProgrammeKey | None,
        limit: int,
    ) -> list[asyncpg.Record]:
        """Programmes by code; ``visible_to``: only public ones and the user's own (None: all)."""
        where = Where(visible_to, conditions=["($1::text IS NULL OR p.public OR m.username IS NOT NULL)"])
        where.when("p.status = {}", status)
        where.when("p.kind = {}", kind)
        if search:
            where.add("(p.code ILIKE {0} OR p.title ILIKE {0})", f"%{search}%")
        where.after(["p.code"], after.values() if after else None)
        rows: list[asyncpg.Record] = await self.conn.fetch(
            f"SELECT {', '.join('p.' + c.strip() for c in PROGRAMME_COLUMNS.split(','))}, m.role AS my_role"
            " FROM programme p LEFT JOIN member m ON m.programme_id = p.id AND m.username = $1"
            f" WHERE {where.clause()} ORDER BY p.code LIMIT {int(limit)}",
            *where.args,
        )
        return rows


class MemberStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def role(self, programme_id: UUID, username: str) -> str | None:
        role: str | None = await self.conn.fetchval(
            "SELECT role FROM member WHERE programme_id = $1 AND username = $2", programme_id, username
        )
        return role

    async def all(self, programme_id: UUID) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(
            "SELECT username, role, added_by, added_at FROM member WHERE programme_id = $1"
            " ORDER BY role <> 'pi', username",
            programme_id,
        )
        return rows

    async def put(self, programme_id: UUID, username: str, role: str, by: str, at: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO member (programme_id, username, role, added_by, added_at) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (programme_id, username) DO UPDATE SET role = EXCLUDED.role",
            programme_id,
            username,
            role,
            by,
            at,
        )

    async def remove(self, programme_id: UUID, username: str) -> bool:
        status: str = await self.conn.execute(
            "DELETE FROM member WHERE programme_id = $1 AND username = $2", programme_id, username
        )
        return status.endswith("1")


class ProposalStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, row: dict[str, Any]) -> bool:
        status: str = await self.conn.execute(
            "INSERT INTO proposal (id, programme_id, period, title, abstract, requested_hours, status,"
            " created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'draft', $7, $8)"
            " ON CONFLICT (programme_id, period) DO NOTHING",
            row["id"],
            row["programme_id"],
            row["period"],
            row["title"],
            row["abstract"],
            row["requested_hours"],
            row["created_by"],
            row["created_at"],
        )
        return status.endswith("1")

    async def get(self, programme_id: UUID, period: str, *, lock: bool = False) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            "SELECT * FROM proposal WHERE programme_id = $1 AND period = $2"
            + (" FOR UPDATE" if lock else ""),
            programme_id,
            period,
        )

    async def of_programme(self, programme_id: UUID) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(
            "SELECT * FROM proposal WHERE programme_id = $1 ORDER BY period", programme_id
        )
        return rows

    async def set_status(
        self, proposal_id: UUID, from_status: str, to_status: str, by: str, at: datetime, comment: str
    ) -> None:
        await self.conn.execute("UPDATE proposal SET status = $2 WHERE id = $1", proposal_id, to_status)
        await self.conn.execute(
            "INSERT INTO proposal_transition (proposal_id, from_status, to_status, changed_by, changed_at, comment)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            proposal_id,
            from_status,
            to_status,
            by,
            at,
            comment,
        )

    async def history(self, proposal_ids: Sequence[UUID]) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(
            "SELECT proposal_id, from_status, to_status, changed_by, changed_at, comment"
            " FROM proposal_transition WHERE proposal_id = ANY($1) ORDER BY id",
            list(proposal_ids),
        )
        return rows


class WorkPackageStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, wp_id: UUID, programme_id: UUID, code: str, title: str, description: str) -> bool:
        status: str = await self.conn.execute(
            "INSERT INTO work_package (id, programme_id, code, title, description) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (programme_id, code) DO NOTHING",
            wp_id,
            programme_id,
            code,
            title,
            description,
        )
        return status.endswith("1")

    async def all(self, programme_id: UUID) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(
            "SELECT w.id, w.code, w.title, w.description,"
            " (SELECT count(*) FROM target t WHERE t.work_package_id = w.id) AS targets"
            " FROM work_package w WHERE w.programme_id = $1 ORDER BY w.code",
            programme_id,
        )
        return rows

    async def ids_by_code(self, programme_id: UUID) -> dict[str, UUID]:
        rows = await self.conn.fetch(
            "SELECT code, id FROM work_package WHERE programme_id = $1", programme_id
        )
        return {r["code"]: r["id"] for r in rows}

    async def update(self, programme_id: UUID, code: str, changes: dict[str, Any]) -> bool:
        if not changes:
            return bool(
                await self.conn.fetchval(
                    "SELECT 1 FROM work_package WHERE programme_id = $1 AND code = $2", programme_id, code
                )
            )
        assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(changes, start=3))
        status: str = await self.conn.execute(
            f"UPDATE work_package SET {assignments} WHERE programme_id = $1 AND code = $2",
            programme_id,
            code,
            *changes.values(),
        )
        return status.endswith("1")

    async def delete(self, programme_id: UUID, code: str) -> bool:
        status: str = await self.conn.execute(
            "DELETE FROM work_package WHERE programme_id = $1 AND code = $2", programme_id, code
        )
        return status.endswith("1")


class SetupStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, row: dict[str, Any]) -> bool:
        status: str = await self.conn.execute(
            "INSERT INTO setup (id, programme_id, name, instrument, mode, configuration, calibrators_per_visit,"
            " calibrator_notes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (programme_id, name) DO NOTHING",
            row["id"],
            row["programme_id"],
            row["name"],
            row["instrument"],
            row["mode"],
            row["configuration"],
            row["calibrators_per_visit"],
            row["calibrator_notes"],
        )
        return status.endswith("1")

    async def all(self, programme_id: UUID) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(
            "SELECT * FROM setup WHERE programme_id = $1 ORDER BY name", programme_id
        )
        return rows

    async def by_name(self, programme_id: UUID, name: str) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            "SELECT * FROM setup WHERE programme_id = $1 AND name = $2", programme_id, name
        )

    async def delete(self, programme_id: UUID, name: str) -> bool:
        status: str = await self.conn.execute(
            "DELETE FROM setup WHERE programme_id = $1 AND name = $2", programme_id, name
        )
        return status.endswith("1")

    async def in_use(self, setup_id: UUID) -> bool:
        return bool(await self.conn.fetchval("SELECT 1 FROM request WHERE setup_id = $1 LIMIT 1", setup_id))
