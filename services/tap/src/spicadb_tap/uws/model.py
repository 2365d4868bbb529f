"""An async TAP job as UWS 1.1 describes it: its phases, and what a job row holds."""

from __future__ import annotations

import enum
import secrets
from datetime import UTC, datetime

import msgspec

from spicadb_kit.rights import Viewer


class Phase(enum.StrEnum):
    PENDING = "PENDING"
    QUEUED = "QUEUED"
    EXECUTING = "EXECUTING"
    COMPLETED = "COMPLETED"
    ERROR = "ERROR"
    ABORTED = "ABORTED"
    UNKNOWN = "UNKNOWN"
    HELD = "HELD"
    SUSPENDED = "SUSPENDED"
    ARCHIVED = "ARCHIVED"


# phases a job leaves only by running (WAIT blocks in these), and the phases it never leaves
ACTIVE = frozenset({Phase.PENDING, Phase.QUEUED, Phase.EXECUTING})
FINAL = frozenset({Phase.COMPLETED, Phase.ERROR, Phase.ABORTED, Phase.ARCHIVED})
# PHASE=RUN takes a job from these to QUEUED; ABORT from these to ABORTED
RUNNABLE = frozenset({Phase.PENDING, Phase.HELD})
ABORTABLE = frozenset({Phase.PENDING, Phase.QUEUED, Phase.EXECUTING, Phase.HELD, Phase.SUSPENDED})


def new_job_id() -> str:
    """An unguessable id (an anonymous job is reached by it alone): 144 random bits, URL-safe."""
    return secrets.token_urlsafe(18)


class Job(msgspec.Struct, frozen=True):
    """One job row (times in UTC)."""

    id: str
    phase: Phase
    owner: str | None
    sees_all: bool
    created_at: datetime
    execution_duration: int
    destruction: datetime
    run_id: str | None = None
    lang: str | None = None
    query: str | None = None
    maxrec: int | None = None
    response_format: str | None = None
    upload: str | None = None
    quote: datetime | None = None
    queued_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    error_summary: str | None = None
    error_type: str | None = None
    result_file: str | None = None
    result_media_type: str | None = None
    result_size: int | None = None
    result_rows: int | None = None
    overflow: bool | None = None
    worker: str | None = None
    attempts: int = 0

    @property
    def viewer(self) -> Viewer:
        """Who the query runs as: its creator, as they were when they created it."""
        return Viewer(self.owner, self.sees_all)

    def parameters(self) -> list[tuple[str, str]]:
        """The TAP parameters the job was given (UWS parameter ids, lower case as TAP clients read them)."""
        given = (
            ("lang", self.lang),
            ("query", self.query),
            ("maxrec", None if self.maxrec is None else str(self.maxrec)),
            ("responseformat", self.response_format),
            ("upload", self.upload),
            ("runid", self.run_id),
        )
        return [(name, value) for name, value in given if value is not None]


def iso(moment: datetime) -> str:
    """An instant as UWS writes it: ISO 8601 in UTC with a Z (taplint warns without it)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
