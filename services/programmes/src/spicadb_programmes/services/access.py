"""Who may see and change a programme.

A private programme does not exist for a non-member: every path answers 404, as for a code that
was never created, so its existence does not leak. Members read; the PI and co-investigators edit
targets, work packages, setups and requests; the PI manages members, the proprietary period, the
status and the PI's proposal transitions; admin does everything. Trusted robots (the night
scheduler, the log ingestion) read every programme.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from spicadb_kit.auth import Principal

from ..domain import EDITOR_ROLES
from ..problems import NOT_AN_EDITOR, NOT_THE_PI, PROGRAMME_NOT_FOUND
from ..storage.programmes import MemberStore, ProgrammeStore


@dataclass(frozen=True)
class Caller:
    username: str
    admin: bool
    # reads every programme (admin, or a trusted robot)
    reads_all: bool

    @classmethod
    def of(cls, principal: Principal, trusted_clients: frozenset[str]) -> Caller:
        admin = "admin" in principal.scopes
        robot = principal.subject == principal.client_id and principal.client_id in trusted_clients
        return cls(username=principal.subject, admin=admin, reads_all=admin or robot)

    @property
    def visibility(self) -> str | None:
        """The user whose programmes (and the public ones) a listing shows; None: all of them."""
        return None if self.reads_all else self.username


@dataclass(frozen=True)
class Seen:
    """A programme as one caller sees it."""

    programme: asyncpg.Record
    role: str | None
    caller: Caller

    @property
    def id(self) -> UUID:
        programme_id: UUID = self.programme["id"]  # asyncpg's Record is untyped: the uuid column
        return programme_id

    @property
    def code(self) -> str:
        return str(self.programme["code"])

    def require_editor(self) -> None:
        if not (self.caller.admin or self.role in EDITOR_ROLES):
            raise NOT_AN_EDITOR(f"only the PI and co-investigators of {self.code} change its contents")

    def require_pi(self) -> None:
        if not (self.caller.admin or self.role == "pi"):
            raise NOT_THE_PI(f"only the PI of {self.code} or an admin may do this")


async def see(conn: asyncpg.Connection, caller: Caller, code: str, *, lock: bool = False) -> Seen:
    """The programme if the caller may see it; NotFound otherwise (private programmes included)."""
    programme = await ProgrammeStore(conn).by_code(code, lock=lock)
    if programme is None:
        raise PROGRAMME_NOT_FOUND(f"no programme {code}")
    role = await MemberStore(conn).role(programme["id"], caller.username)
    if not (caller.reads_all or programme["public"] or role is not None):
        raise PROGRAMME_NOT_FOUND(f"no programme {code}")
    return Seen(programme, role, caller)
