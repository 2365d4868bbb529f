"""Publishing again what an unclean NATS restart lost.

A single NATS server that crashed with the OS (or lost power) comes back without the messages of
its last sync_interval, PubAcks and all. The relay keeps published rows ``retention_seconds`` and,
when it starts leading and after each reconnection, looks each recent one up on the stream by its
sequence and its Nats-Msg-Id: missing, or that sequence now holds another message (published
since the restart), and the row goes back in line, to be published again in id order.
"""

from __future__ import annotations

import asyncpg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from ..logs import get_logger
from .envelope import MSG_ID_HEADER

__all__ = ["recover_lost"]

log = get_logger(__name__)

_ANY_PUBLISHED = (
    "SELECT EXISTS (SELECT 1 FROM outbox WHERE published_at IS NOT NULL AND stream_seq IS NOT NULL)"
)
_PUBLISHED_AFTER = (
    "SELECT id, event_id, stream_seq FROM outbox WHERE published_at IS NOT NULL AND stream_seq > $1"
)
_REQUEUE = "UPDATE outbox SET published_at = NULL, stream_seq = NULL WHERE id = ANY($1::bigint[])"


async def recover_lost(conn: asyncpg.Connection, js: JetStreamContext, stream: str, batch: int) -> int:
    """Put back in line the retained rows whose message ``stream`` no longer holds; returns how many.

    Only a relay publishes to its stream, and it checks before publishing after a reconnection,
    so at most the round in flight at the reconnection (one ``batch``) took sequences of lost
    messages: rows beyond the stream's last sequence are lost, those of the two batches below it
    are looked up one by one, older ones are intact."""
    if not await conn.fetchval(_ANY_PUBLISHED):
        return 0
    state = (await js.stream_info(stream)).state
    rows = await conn.fetch(_PUBLISHED_AFTER, state.last_seq - 2 * batch)
    lost = [row["id"] for row in rows if await _missing(js, stream, row, state.first_seq, state.last_seq)]
    if lost:
        await conn.execute(_REQUEUE, lost)
        log.warning(
            "stream lost acknowledged events (unclean NATS restart?): publishing them again",
            stream=stream,
            events=len(lost),
            last_seq=state.last_seq,
        )
    return len(lost)


async def _missing(
    js: JetStreamContext, stream: str, row: asyncpg.Record, first_seq: int, last_seq: int
) -> bool:
    seq = row["stream_seq"]
    if seq > last_seq:
        return True
    if seq < first_seq:  # purged or aged out on purpose: not a loss
        return False
    try:
        message = await js.get_msg(stream, seq)
    except NotFoundError:
        return True
    return (message.headers or {}).get(MSG_ID_HEADER) != str(row["event_id"])
