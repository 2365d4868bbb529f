from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from spicadb_kit.rows import row_to, rows_to

from ..models import Account

_COLUMNS = "username, roles, name, email, origin, disabled_at, password_hash, created_at"


# the account's columns as the nested field ``account`` of a grant (the kit's rows helpers)
AS_ACCOUNT = ", ".join(f'a.{c} AS "account.{c}"' for c in _COLUMNS.split(", "))


def account_from(row: Mapping[str, Any]) -> Account:
    """A row whose columns are named as Account's fields (others are not read)."""
    return row_to(Account, row)


class AccountStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def get(self, username: str, *, for_update: bool = False) -> Account | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(f"SELECT {_COLUMNS} FROM account WHERE username = $1{lock}", username)
        return account_from(row) if row else None

    async def list(self) -> list[Account]:
        rows = await self.conn.fetch(f"SELECT {_COLUMNS} FROM account ORDER BY username")
        return rows_to(Account, rows)

    async def insert(self, account: Account) -> bool:
        status = await self.conn.execute(
            "INSERT INTO account (username, roles, name, email, origin, password_hash)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            account.username,
            list(account.roles),
            account.name,
            account.email,
            account.origin,
            account.password_hash,
        )
        return bool(status.endswith("1"))

    async def set_roles(self, username: str, roles: Sequence[str]) -> None:
        await self.conn.execute(
            "UPDATE account SET roles = $2, updated_at = now() WHERE username = $1", username, list(roles)
        )

    async def set_password_hash(self, username: str, password_hash: str) -> None:
        await self.conn.execute(
            "UPDATE account SET password_hash = $2, updated_at = now() WHERE username = $1",
            username,
            password_hash,
        )

    async def lock_admins(self) -> None:
        """Serialise the changes that may take away an admin (two of them at once must not
        each leave the other as the last one, then none)."""
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext('spicadb.auth.admins'))")

    async def active_admins(self) -> tuple[str, ...]:
        rows = await self.conn.fetch(
            "SELECT username FROM account WHERE 'admin' = ANY(roles) AND disabled_at IS NULL ORDER BY username"
        )
        return tuple(r["username"] for r in rows)

    async def disable(self, username: str, at: datetime) -> None:
        await self.conn.execute(
            "UPDATE account SET disabled_at = $2, updated_at = now() WHERE username = $1", username, at
        )

    async def enable(self, username: str) -> None:
        await self.conn.execute(
            "UPDATE account SET disabled_at = NULL, updated_at = now() WHERE username = $1", username
        )

    async def by_upstream(self, issuer: str, subject: str) -> Account | None:
        row = await self.conn.fetchrow(
            f"SELECT {', '.join('a.' + c.strip() for c in _COLUMNS.split(','))}"
            " FROM upstream_identity i JOIN account a USING (username)"
            " WHERE i.issuer = $1 AND i.subject = $2",
            issuer,
            subject,
        )
        return account_from(row) if row else None

    async def link_upstream(self, issuer: str, subject: str, username: str) -> None:
        await self.conn.execute(
            "INSERT INTO upstream_identity (issuer, subject, username) VALUES ($1, $2, $3)",
            issuer,
            subject,
            username,
        )

    async def lock_upstream_identity(self, issuer: str, subject: str) -> None:
        """Serialise first sign-ins of one upstream identity (two at once must not create two
        accounts), until the transaction ends."""
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"upstream:{issuer}:{subject}")

    async def exists(self, username: str) -> bool:
        return bool(await self.conn.fetchval("SELECT 1 FROM account WHERE username = $1", username))
