"""Programmes, their members and proposals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from spicadb_contracts.bounds import MEMBERS
from spicadb_contracts.programmes import (
    Member,
    MembershipChanged,
    ProgrammeChanged,
    ProgrammeCreated,
    ProposalStatusChanged,
    ProprietaryPeriodChanged,
)
from spicadb_kit.db import transaction
from spicadb_kit.events import Outbox
from spicadb_kit.rows import row_to, rows_to

from ..domain import COMMITTEE_TRANSITIONS, TRANSITIONS
from ..models import (
    MemberIn,
    MemberOut,
    ProgrammeIn,
    ProgrammeOut,
    ProgrammePatch,
    ProposalIn,
    ProposalOut,
    TransitionIn,
    TransitionOut,
)
from ..problems import (
    INVALID_TRANSITION,
    MEMBER_NOT_FOUND,
    NOT_ADMIN,
    ONE_PI,
    PI_NOT_A_MEMBER_ROLE,
    PI_NOT_REMOVABLE,
    PROGRAMME_EXISTS,
    PROPOSAL_EXISTS,
    PROPOSAL_NOT_FOUND,
    TOO_MANY_MEMBERS,
)
from ..storage.programmes import MemberStore, ProgrammeKey, ProgrammeStore, ProposalStore
from ..storage.requests import NightLogStore
from .access import Caller, Seen, see
from .progress import totals


def programme_out(row: asyncpg.Record, role: str | None) -> ProgrammeOut:
    return row_to(ProgrammeOut, row, my_role=role)


class ProgrammeService:
    def __init__(self, pool: asyncpg.Pool, outbox: Outbox, caller: Caller) -> None:
        self.pool = pool
        self.outbox = outbox
        self.caller = caller

    async def create(self, data: ProgrammeIn) -> ProgrammeOut:
        pi = data.pi or self.caller.username
        if pi != self.caller.username and not self.caller.admin:
            raise NOT_ADMIN("only an admin creates a programme for another PI")
        members = {m.username: m.role for m in data.members if m.username != pi}
        if "pi" in members.values():
            raise ONE_PI("a programme has one PI: name them in `pi`")
        members[pi] = "pi"
        now = datetime.now(UTC)
        row = {**msgspec.structs.asdict(data), "id": uuid.uuid4(), "pi": pi, "status": "draft"}
        row.update(created_by=self.caller.username, created_at=now)
        async with transaction(self.pool) as conn:
            if not await ProgrammeStore(conn).insert(row):
                raise PROGRAMME_EXISTS(f"programme {data.code} exists already")
            for username, role in members.items():
                await MemberStore(conn).put(row["id"], username, role, self.caller.username, now)
            event = ProgrammeCreated(
                programme_id=row["id"],
                code=data.code,
                title=data.title,
                kind=data.kind,
                pi=pi,
                status="draft",
                public=data.public,
                proprietary_months=data.proprietary_months,
                members=[Member(u, r) for u, r in sorted(members.items())],
                created_by=self.caller.username,
                created_at=now,
            )
            await self.outbox.add(conn, event, aggregate_id=str(row["id"]))
            created = await ProgrammeStore(conn).by_code(data.code)
        assert created is not None
        return programme_out(created, "pi" if pi == self.caller.username else None)

    async def get(self, code: str) -> ProgrammeOut:
        async with self.pool.acquire() as conn:
            seen = await see(conn, self.caller, code)
        return programme_out(seen.programme, seen.role)

    async def listing(
        self,
        *,
        status: str | None,
        kind: str | None,
        search: str | None,
        after: ProgrammeKey | None,
        limit: int,
        with_progress: bool = False,
    ) -> list[ProgrammeOut]:
        async with self.pool.acquire() as conn:
            rows = await ProgrammeStore(conn).listing(
                visible_to=self.caller.visibility,
                status=status,
                kind=kind,
                search=search,
                after=after,
                limit=limit,
            )
            if self.caller.reads_all:  # the listing joined no membership: look the caller's roles up
                roles = {r["programme_id"]: r["role"] for r in await conn.fetch(
                    "SELECT programme_id, role FROM member WHERE username = $1", self.caller.username
                )}  # fmt: skip
                items = [programme_out(r, roles.get(r["id"])) for r in rows]
            else:
                items = [programme_out(r, r["my_role"]) for r in rows]
            if not with_progress:
                return items
            # every listed programme's totals in one query (a console's progress bars, not one call each)
            sums = await NightLogStore(conn).programme_totals([p.id for p in items])
        by_programme = {r["programme_id"]: totals([r])[0] for r in sums}
        none = totals([])[0]
        return [msgspec.structs.replace(p, progress=by_programme.get(p.id, none)) for p in items]

    async def update(self, code: str, patch: ProgrammePatch) -> ProgrammeOut:
        changes = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not None}
        now = datetime.now(UTC)
        async with transaction(self.pool) as conn:
            seen = await see(conn, self.caller, code, lock=True)
            if {"status", "public", "proprietary_months"} & changes.keys():
                seen.require_pi()
            else:
                seen.require_editor()
            changes = {k: v for k, v in changes.items() if seen.programme[k] != v}
            if not changes:
                return programme_out(seen.programme, seen.role)
            row = await ProgrammeStore(conn).update(seen.id, changes, now)
            await self._changed_events(conn, seen, row, list(changes), now)
        return programme_out(row, seen.role)

    async def _changed_events(
        self, conn: asyncpg.Connection, seen: Seen, row: asyncpg.Record, fields: list[str], now: datetime
    ) -> None:
        events: list[Any] = []
        described = [f for f in fields if f != "proprietary_months"]
        if described:
            events.append(
                row_to(
                    ProgrammeChanged,
                    row,
                    programme_id=row["id"],
                    changed_fields=sorted(described),
                    changed_by=self.caller.username,
                    changed_at=now,
                )
            )
        if "proprietary_months" in fields:
            events.append(
                row_to(
                    ProprietaryPeriodChanged,
                    row,
                    programme_id=row["id"],
                    previous_months=seen.programme["proprietary_months"],
                    changed_by=self.caller.username,
                    changed_at=now,
                )
            )
        await self.outbox.add_many(conn, [(str(row["id"]), e) for e in events])

    # members ---------------------------------------------------------------------------------

    async def members(self, code: str) -> list[MemberOut]:
        async with self.pool.acquire() as conn:
            seen = await see(conn, self.caller, code)
            rows = await MemberStore(conn).all(seen.id)
        return rows_to(MemberOut, rows)

    async def put_member(self, code: str, member: MemberIn) -> list[MemberOut]:
        async with transaction(self.pool) as conn:
            seen = await see(conn, self.caller, code, lock=True)
            seen.require_pi()
            if member.role == "pi" or member.username == seen.programme["pi"]:
                raise PI_NOT_A_MEMBER_ROLE("the PI's role is not changed through the members list")
            before = await MemberStore(conn).role(seen.id, member.username)
            if before == member.role:
                return await self._members_out(conn, seen)
            if before is None and len(await self._members_out(conn, seen)) >= MEMBERS:
                # membership_changed carries them all (spicadb_contracts.bounds)
                raise TOO_MANY_MEMBERS(f"a programme has at most {MEMBERS} members")
            await MemberStore(conn).put(
                seen.id, member.username, member.role, self.caller.username, datetime.now(UTC)
            )
            return await self._membership_changed(conn, seen)

    async def remove_member(self, code: str, username: str) -> list[MemberOut]:
        async with transaction(self.pool) as conn:
            seen = await see(conn, self.caller, code, lock=True)
            seen.require_pi()
            if username == seen.programme["pi"]:
                raise PI_NOT_REMOVABLE("the PI cannot be removed from their programme")
            if not await MemberStore(conn).remove(seen.id, username):
                raise MEMBER_NOT_FOUND(f"{username} is not a member of {code}")
            return await self._membership_changed(conn, seen)

    async def _membership_changed(self, conn: asyncpg.Connection, seen: Seen) -> list[MemberOut]:
        members = await self._members_out(conn, seen)
        event = MembershipChanged(
            programme_id=seen.id,
            code=seen.code,
            members=[Member(m.username, m.role) for m in sorted(members, key=lambda m: m.username)],
            changed_by=self.caller.username,
            changed_at=datetime.now(UTC),
        )
        await self.outbox.add(conn, event, aggregate_id=str(seen.id))
        return members

    async def _members_out(self, conn: asyncpg.Connection, seen: Seen) -> list[MemberOut]:
        return rows_to(MemberOut, await MemberStore(conn).all(seen.id))

    # proposals -------------------------------------------------------------------------------

    async def create_proposal(self, code: str, data: ProposalIn) -> ProposalOut:
        now = datetime.now(UTC)
        async with transaction(self.pool) as conn:
            seen = await see(conn, self.caller, code)
            seen.require_editor()
            row = {**msgspec.structs.asdict(data), "id": uuid.uuid4(), "programme_id": seen.id}
            row.update(created_by=self.caller.username, created_at=now)
            if not await ProposalStore(conn).insert(row):
                raise PROPOSAL_EXISTS(f"{code} has a proposal for {data.period} already")
            return await self._proposal_out(conn, seen, data.period)

    async def proposals(self, code: str) -> list[ProposalOut]:
        async with self.pool.acquire() as conn:
            seen = await see(conn, self.caller, code)
            rows = await ProposalStore(conn).of_programme(seen.id)
            history = await ProposalStore(conn).history([r["id"] for r in rows])
        return [_proposal(seen.code, r, [h for h in history if h["proposal_id"] == r["id"]]) for r in rows]

    async def proposal(self, code: str, period: str) -> ProposalOut:
        async with self.pool.acquire() as conn:
            seen = await see(conn, self.caller, code)
            return await self._proposal_out(conn, seen, period)

    async def transition(self, code: str, period: str, move: TransitionIn) -> ProposalOut:
        now = datetime.now(UTC)
        async with transaction(self.pool) as conn:
            seen = await see(conn, self.caller, code, lock=True)
            proposal = await ProposalStore(conn).get(seen.id, period, lock=True)
            if proposal is None:
                raise PROPOSAL_NOT_FOUND(f"{code} has no proposal for {period}")
            current = proposal["status"]
            if move.to not in TRANSITIONS[current]:
                allowed = ", ".join(TRANSITIONS[current]) or "none: it is final"
                raise INVALID_TRANSITION(
                    f"a proposal {current} cannot become {move.to} (from {current}: {allowed})",
                    status_from=current,
                    allowed=list(TRANSITIONS[current]),
                )
            if move.to in COMMITTEE_TRANSITIONS and not self.caller.admin:
                raise NOT_ADMIN(f"'{move.to}' is a decision of the time allocation committee (admin)")
            seen.require_pi()
            await ProposalStore(conn).set_status(
                proposal["id"], current, move.to, self.caller.username, now, move.comment
            )
            event = ProposalStatusChanged(
                proposal_id=proposal["id"],
                programme_id=seen.id,
                code=seen.code,
                period=period,
                from_status=current,
                to_status=move.to,
                changed_by=self.caller.username,
                changed_at=now,
                comment=move.comment,
            )
            await self.outbox.add(conn, event, aggregate_id=str(seen.id))
            if (
                move.to == "active" and seen.programme["status"] == "draft"
            ):  # an active proposal starts the programme
                row = await ProgrammeStore(conn).update(seen.id, {"status": "active"}, now)
                await self._changed_events(conn, seen, row, ["status"], now)
            return await self._proposal_out(conn, seen, period)

    async def _proposal_out(self, conn: asyncpg.Connection, seen: Seen, period: str) -> ProposalOut:
        row = await ProposalStore(conn).get(seen.id, period)
        if row is None:
            raise PROPOSAL_NOT_FOUND(f"{seen.code} has no proposal for {period}")
        return _proposal(seen.code, row, await ProposalStore(conn).history([row["id"]]))


def _proposal(code: str, row: asyncpg.Record, history: list[asyncpg.Record]) -> ProposalOut:
    return row_to(ProposalOut, row, programme=code, history=rows_to(TransitionOut, history))
