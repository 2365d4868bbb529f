"""What a publish round's outcomes mean for each outbox row: published, parked, or waiting.

No row blocks the others. A row NATS can never take as it is (larger than the server's
max_payload, refused by JetStream with a 400) is parked at once. A row that fails while rows
after it in the same round are acknowledged (so NATS works and the row is the problem) is parked
after ``max_attempts`` such rounds. A failure of NATS itself (not connected, timeouts, no stream)
parks nothing: the row and every row after it wait for the next round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from nats.js.errors import APIError

__all__ = ["Failure", "Outcome", "Settled", "failure", "settle", "singled_out"]


@dataclass(frozen=True)
class Failure:
    """Why one row was not acknowledged."""

    error: str
    permanent: bool  # the message can never be published as it is: park it now


# per row: its stream sequence, why it failed, or None when it was never sent
Outcome = int | Failure | None


@dataclass
class Settled:
    """A round's rows sorted: to mark published, to park, and the first that holds the rest back."""

    marked: list[tuple[int, int]]  # (outbox id, stream sequence)
    parked: list[tuple[asyncpg.Record, str]]
    failed: tuple[asyncpg.Record, str] | None


def failure(exc: BaseException) -> Failure:
    """The failure of one publish, permanent when JetStream refused the message itself."""
    why = str(exc) if isinstance(exc, APIError) else repr(exc)  # APIError's str has the description
    return Failure(why, _refused_for_good(exc))


def _refused_for_good(exc: BaseException) -> bool:
    """JetStream refused this message itself (size over the stream's max_msg_size, a header it
    rejects: a 400); a 503 or a timeout says nothing about the message."""
    return isinstance(exc, APIError) and (exc.code == 400 or exc.err_code == 10054)


def singled_out(outcomes: Sequence[Outcome], index: int) -> bool:
    """A row acknowledged after this one: NATS works, so this row is the problem."""
    return any(isinstance(later, int) for later in outcomes[index + 1 :])


def settle(rows: Sequence[asyncpg.Record], outcomes: Sequence[Outcome], max_attempts: int) -> Settled:
    """Acknowledged rows are marked up to the first failure that is not parked: what follows it is
    published again next round (deduplicated by Nats-Msg-Id), so the stream keeps the outbox's
    order whenever NATS is the one failing."""
    marked: list[tuple[int, int]] = []
    parked: list[tuple[asyncpg.Record, str]] = []
    for index, (row, outcome) in enumerate(zip(rows, outcomes, strict=True)):
        if isinstance(outcome, int):
            marked.append((row["id"], outcome))
            continue
        if outcome is None:  # never sent (the connection failed before): it waits with what follows
            break
        if outcome.permanent or (singled_out(outcomes, index) and row["attempts"] + 1 >= max_attempts):
            parked.append((row, outcome.error))
            continue
        return Settled(marked, parked, (row, outcome.error))
    return Settled(marked, parked, None)
