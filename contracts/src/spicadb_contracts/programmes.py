"""Events of the programmes service: what the SPICA team wants to observe, who may see it, how far
along it is.

The programmes service is the source of truth for data rights. Every other service keeps its own
copy of membership and proprietary periods from ``programme.created``,
``programme.membership_changed`` and ``programme.proprietary_changed``: each carries the whole
current state (all members, the period in months), so a copy is rebuilt by applying the latest
event per programme, and a new consumer backfills from the start of the stream.

Every event of one programme has the programme id as its aggregate id, so a consumer sees them
in order.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from .base import Event, event


class Member(msgspec.Struct, frozen=True):
    username: str
    # pi, co-investigator, observer, viewer
    role: str


class TargetSnapshot(msgspec.Struct, frozen=True, omit_defaults=True):
    """A target as the programme holds it (ICRS degrees at ``epoch``; proper motions in mas/yr,
    pmra being mu_alpha* = mu_alpha cos(dec))."""

    target_id: UUID
    name: str
    ra: float
    dec: float
    epoch: float = 2000.0
    pmra: float | None = None
    pmdec: float | None = None
    parallax: float | None = None
    work_package: str | None = None
    identifiers: dict[str, str] = msgspec.field(default_factory=dict)


@event("programmes.programme.created", version=1, summary="A programme was created, with its members.")
class ProgrammeCreated(
    Event, frozen=True
):  # repeated for mypy, which does not inherit a Struct's frozen flag
    programme_id: UUID
    code: str
    title: str
    # large-programme, survey, regular, directors-time
    kind: str
    pi: str
    status: str
    public: bool
    proprietary_months: int
    members: list[Member]
    created_by: str
    created_at: datetime


@event(
    "programmes.programme.changed",
    version=1,
    summary="A programme's description or status changed (the whole new state, and which fields changed).",
)
class ProgrammeChanged(Event, frozen=True):
    programme_id: UUID
    code: str
    title: str
    kind: str
    pi: str
    status: str
    public: bool
    changed_fields: list[str]
    changed_by: str
    changed_at: datetime


@event(
    "programmes.programme.membership_changed",
    version=1,
    summary="The members of a programme changed; carries the whole new membership.",
)
class MembershipChanged(Event, frozen=True):
    programme_id: UUID
    code: str
    members: list[Member]
    changed_by: str
    changed_at: datetime


@event(
    "programmes.programme.proprietary_changed",
    version=1,
    summary="The proprietary period of a programme changed: data are released this many months after "
    "the end of their observation.",
)
class ProprietaryPeriodChanged(Event, frozen=True):
    programme_id: UUID
    code: str
    proprietary_months: int
    previous_months: int
    changed_by: str
    changed_at: datetime


@event(
    "programmes.proposal.status_changed",
    version=1,
    summary="A proposal moved in its lifecycle (draft, submitted, under-review, accepted, rejected, "
    "withdrawn, active, completed).",
)
class ProposalStatusChanged(Event, frozen=True):
    proposal_id: UUID
    programme_id: UUID
    code: str
    period: str
    from_status: str
    to_status: str
    changed_by: str
    changed_at: datetime
    comment: str = ""


@event(
    "programmes.targets.imported",
    version=1,
    summary="Targets were added to a programme by one import; a large import is split into batches "
    "(batch of batches), all committed together.",
)
class TargetsImported(Event, frozen=True):
    programme_id: UUID
    code: str
    import_id: UUID
    batch: int
    batches: int
    total: int
    targets: list[TargetSnapshot]
    imported_by: str
    imported_at: datetime


@event(
    "programmes.target.changed",
    version=1,
    summary="One target was created, edited or deleted (the new state; none when deleted).",
)
class TargetChanged(Event, frozen=True):
    programme_id: UUID
    code: str
    target_id: UUID
    # created, updated, deleted
    change: str
    target: TargetSnapshot | None
    changed_by: str
    changed_at: datetime


class ProgressCounts(msgspec.Struct, frozen=True):
    # visits asked for, scheduled in the latest plans, logged by CHARA, logged and flagged good or usable
    requested: int
    planned: int
    observed: int
    good: int
    # not-observed, partial, done
    state: str


@event(
    "programmes.progress.changed",
    version=1,
    summary="The progress of an observation request changed, with its work package and programme totals.",
)
class ProgressChanged(Event, frozen=True):
    programme_id: UUID
    code: str
    request_id: UUID
    target_id: UUID
    target_name: str
    mode: str
    request: ProgressCounts
    programme: ProgressCounts
    changed_at: datetime
    work_package: str | None = None
    work_package_progress: ProgressCounts | None = None
