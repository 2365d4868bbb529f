"""Events of the programmes service: what the SPICA team wants to observe, who may see it, how far
along it is.

The programmes service is the source of truth for data rights. Every other service keeps its own
copy of membership and proprietary periods from ``programme.created``,
``programme.membership_changed`` and ``programme.proprietary_changed``: each carries the whole
current state (all members, the period in months), so a copy is rebuilt by applying the latest
event per programme, and a new consumer backfills from the start of the stream.

Every event of one programme has the programme id as its aggregate id. Order holds per aggregate
*type and* id, the type being the second part of the event name: a consumer sees the
``programme.*`` events of one programme in order, its ``targets.imported`` batches in order, its
``target.changed`` events in order, and its ``progress.changed`` events in order, but NOT across
those types (a ``target.changed`` may be applied before the ``targets.imported`` that created its
target). One ordering key per programme would make every consumer take every event of the
programme (one that filters would wait for versions it never receives), so instead a consumer that
keeps a copy of the targets stays correct in any order across the types:

- ``targets.imported`` only ever creates targets (new ids): it never overwrites a target already in
  the copy, which can only have come from a later ``target.changed``;
- ``target.changed`` carries the target's whole state (``created``, ``updated``) and applies over
  whatever the copy holds; ``deleted`` is final (target ids are never reused): the copy keeps a
  tombstone that no creation or change arriving later passes.

Targets keep the rules of ``spicadb_astro.targets`` (the programmes service checks them on every
write path); a consumer checks its copy against the same rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from .base import Event, event
from .bounds import (
    FEW_ITEMS,
    MEMBERS,
    TARGET_IDENTIFIERS,
    TARGETS_PER_BATCH,
    CatalogueId,
    Code,
    Comment,
    Count,
    Declination,
    Epoch,
    Identifier,
    Keyword,
    Months,
    Name,
    Ordinal,
    Parallax,
    ProperMotion,
    RightAscension,
)


class Member(msgspec.Struct, frozen=True):
    username: Identifier
    # pi, co-investigator, observer, viewer
    role: Keyword


class TargetSnapshot(msgspec.Struct, frozen=True, omit_defaults=True):
    """A target as the programme holds it (ICRS degrees at ``epoch``; proper motions in mas/yr,
    pmra being mu_alpha* = mu_alpha cos(dec))."""

    target_id: UUID
    name: Name
    ra: RightAscension
    dec: Declination
    epoch: Epoch = 2000.0
    pmra: ProperMotion | None = None
    pmdec: ProperMotion | None = None
    parallax: Parallax | None = None
    work_package: Code | None = None
    identifiers: Annotated[dict[Keyword, CatalogueId], Meta(max_length=TARGET_IDENTIFIERS)] = msgspec.field(
        default_factory=dict
    )


@event("programmes.programme.created", version=1, summary="A programme was created, with its members.")
class ProgrammeCreated(
    Event, frozen=True
):  # repeated for mypy, which does not inherit a Struct's frozen flag
    programme_id: UUID
    code: Code
    title: Name
    # large-programme, survey, regular, directors-time
    kind: Keyword
    pi: Identifier
    status: Keyword
    public: bool
    proprietary_months: Months
    members: Annotated[list[Member], Meta(max_length=MEMBERS)]
    created_by: Identifier
    created_at: datetime


@event(
    "programmes.programme.changed",
    version=1,
    summary="A programme's description or status changed (the whole new state, and which fields changed).",
)
class ProgrammeChanged(Event, frozen=True):
    programme_id: UUID
    code: Code
    title: Name
    kind: Keyword
    pi: Identifier
    status: Keyword
    public: bool
    changed_fields: Annotated[list[Keyword], Meta(max_length=FEW_ITEMS)]
    changed_by: Identifier
    changed_at: datetime


@event(
    "programmes.programme.membership_changed",
    version=1,
    summary="The members of a programme changed; carries the whole new membership.",
)
class MembershipChanged(Event, frozen=True):
    programme_id: UUID
    code: Code
    members: Annotated[list[Member], Meta(max_length=MEMBERS)]
    changed_by: Identifier
    changed_at: datetime


@event(
    "programmes.programme.proprietary_changed",
    version=1,
    summary="The proprietary period of a programme changed: data are released this many months after "
    "the end of their observation.",
)
class ProprietaryPeriodChanged(Event, frozen=True):
    programme_id: UUID
    code: Code
    proprietary_months: Months
    previous_months: Months
    changed_by: Identifier
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
    code: Code
    period: Keyword
    from_status: Keyword
    to_status: Keyword
    changed_by: Identifier
    changed_at: datetime
    comment: Comment = ""


@event(
    "programmes.targets.imported",
    version=1,
    summary="Targets were added to a programme by one import; a large import is split into batches "
    "(batch of batches), all committed together.",
)
class TargetsImported(Event, frozen=True):
    programme_id: UUID
    code: Code
    import_id: UUID
    batch: Ordinal
    batches: Ordinal
    total: Count
    targets: Annotated[list[TargetSnapshot], Meta(max_length=TARGETS_PER_BATCH)]
    imported_by: Identifier
    imported_at: datetime


@event(
    "programmes.target.changed",
    version=1,
    summary="One target was created, edited or deleted (the new state; none when deleted).",
)
class TargetChanged(Event, frozen=True):
    programme_id: UUID
    code: Code
    target_id: UUID
    # created, updated, deleted
    change: Keyword
    target: TargetSnapshot | None
    changed_by: Identifier
    changed_at: datetime


class ProgressCounts(msgspec.Struct, frozen=True):
    # visits asked for, scheduled in the latest plans, logged by CHARA, logged and flagged good or usable
    requested: Count
    planned: Count
    observed: Count
    good: Count
    # not-observed, partial, done
    state: Keyword


@event(
    "programmes.progress.changed",
    version=1,
    summary="The progress of an observation request changed, with its work package and programme totals.",
)
class ProgressChanged(Event, frozen=True):
    programme_id: UUID
    code: Code
    request_id: UUID
    target_id: UUID
    target_name: Name
    mode: Keyword
    request: ProgressCounts
    programme: ProgressCounts
    changed_at: datetime
    work_package: Code | None = None
    work_package_progress: ProgressCounts | None = None
