""" "Send to Aspro2/TOPCAT" over SAMP: the receiving application fetches the VOTable itself, without the
page's cookie, so the console fetches the programme's Aspro2 export of the selected targets with the
visitor's token (their rights apply: a target they may not see is not in it) and keeps its bytes a few
minutes under an unguessable ticket, served anonymously at ``/console/samp/<ticket>.vot``.

The tickets live in the console's own table (every replica serves every ticket); only a ticket's sha256
is stored. Bounded: targets per ticket, bytes per ticket, live tickets per visitor (the oldest go) and
in all."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg
import msgspec

from ..api import ApiProblem
from .session import ApiSession, path

# how long a receiving application has to fetch the table
TICKET_LIFETIME = timedelta(minutes=5)
# targets one send may name (the programmes API's bound on an export's ids)
MAX_TARGETS = 200
# bytes of one ticket's VOTable (200 targets with their kept columns are far below)
MAX_BYTES = 8 * 1024 * 1024
# live tickets per visitor: a new one drops the oldest beyond this
MAX_PER_VISITOR = 20
# live tickets in all: beyond, a new one is refused until some expire
MAX_LIVE = 2000
VOTABLE = "application/x-votable+xml"
_TICKET = re.compile(r"^([A-Za-z0-9_-]{43})\.vot$")


def _hash(ticket: str) -> bytes:
    return hashlib.sha256(ticket.encode()).digest()


def ticket_of(file: str) -> str | None:
    """The ticket a file name ``<ticket>.vot`` holds; None for anything else."""
    found = _TICKET.match(file)
    return found.group(1) if found else None


class Ticket(msgspec.Struct, frozen=True):
    """What the page hands to the SAMP hub (``table.load.votable``'s url, table-id and name), when the
    URL stops working and how many targets the table holds."""

    url: str
    table_id: str
    name: str
    expires_at: datetime
    targets: int


class TicketStore:
    """The samp_ticket table."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def keep(self, subject: str, name: str, votable: bytes) -> tuple[str, datetime] | None:
        """A new ticket for these bytes and when it expires; None when too many tickets are live."""
        ticket = secrets.token_urlsafe(32)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM samp_ticket WHERE expires_at <= now()")
            live = await conn.fetchval("SELECT count(*) FROM samp_ticket")
            if live >= MAX_LIVE:
                return None
            expires_at = await conn.fetchval(
                "INSERT INTO samp_ticket (id_hash, subject, name, votable, expires_at)"
                " VALUES ($1, $2, $3, $4, now() + $5::interval) RETURNING expires_at",
                _hash(ticket),
                subject,
                name,
                votable,
                TICKET_LIFETIME,
            )
            await conn.execute(
                "DELETE FROM samp_ticket WHERE subject = $1 AND id_hash NOT IN"
                " (SELECT id_hash FROM samp_ticket WHERE subject = $1 ORDER BY created_at DESC, id_hash"
                " LIMIT $2)",
                subject,
                MAX_PER_VISITOR,
            )
        return ticket, expires_at

    async def votable(self, ticket: str) -> bytes | None:
        """The table of a live ticket; None when unknown or expired."""
        found = await self.pool.fetchval(
            "SELECT votable FROM samp_ticket WHERE id_hash = $1 AND expires_at > now()", _hash(ticket)
        )
        return bytes(found) if found is not None else None


class SampConsole:
    """Tickets for one visitor's selections."""

    def __init__(self, session: ApiSession, store: TicketStore, public_url: str) -> None:
        self.session = session
        self.store = store
        self.public_url = public_url.rstrip("/")

    async def ticket(self, code: str, targets: list[UUID]) -> Ticket:
        """The programme's Aspro2 VOTable of these targets (as the visitor may see them) under a new
        ticket. ApiProblem: the API refused, or the table is too large, or too many tickets are live."""
        params = [("format", "votable"), *(("id", str(t)) for t in targets)]
        votable = await self.session.download(path("programmes", code, "targets", "export"), params)
        if len(votable) > MAX_BYTES:
            raise ApiProblem(
                413, "Content Too Large", f"the table is over {MAX_BYTES} bytes: send fewer targets"
            )
        rows = votable.count(b"<TR>")  # the export's TABLEDATA: one row per target
        if not rows:
            raise ApiProblem(
                404, "No such target", "none of the selected targets is one of this programme's you may see"
            )
        name = f"{code} targets"
        kept = await self.store.keep(self.session.caller.name, name, votable)
        if kept is None:
            raise ApiProblem(
                503, "Service Unavailable", "too many tables wait to be fetched: try in a few minutes"
            )
        ticket, expires_at = kept
        return Ticket(
            url=f"{self.public_url}/console/samp/{ticket}.vot",
            table_id=f"spicadb-{ticket[:12]}",
            name=name,
            expires_at=expires_at,
            targets=rows,
        )
