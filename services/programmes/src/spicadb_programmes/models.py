"""What crosses the HTTP edge: msgspec structs in and out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from spicadb_astro import targets as rules
from spicadb_contracts import bounds
from spicadb_kit.pagination import Page

Code = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$", max_length=40)]
Kind = Literal["large-programme", "survey", "regular", "directors-time"]
Role = Literal["pi", "co-investigator", "observer", "viewer"]
ProgrammeStatus = Literal["draft", "active", "completed", "archived"]
ProposalStatus = Literal[
    "draft", "submitted", "under-review", "accepted", "rejected", "withdrawn", "active", "completed"
]
Mode = Literal["LR", "MR640", "MR685", "MR720", "MR800", "MR850", "HR"]
Period = Annotated[str, msgspec.Meta(pattern=r"^\d{4}[AB]$")]
Months = Annotated[int, msgspec.Meta(ge=0, le=120)]
Priority = Annotated[int, msgspec.Meta(ge=1, le=5)]
Text = Annotated[str, msgspec.Meta(max_length=4000)]
# what travels in the programmes events has the events' bounds (spicadb_contracts.bounds)
Name = Annotated[bounds.Name, msgspec.Meta(min_length=1)]
Username = Annotated[bounds.Identifier, msgspec.Meta(min_length=1)]


class MemberIn(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    role: Role


class MemberOut(msgspec.Struct):
    username: str
    role: str
    added_by: str
    added_at: datetime


class ProgrammeIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: Code
    title: Name
    kind: Kind = "large-programme"
    # defaults to the caller; only an admin creates a programme for someone else
    pi: Username | None = None
    description: Text = ""
    proprietary_months: Months = 18
    public: bool = False
    # the PI is a member too: membership events carry at most bounds.MEMBERS
    members: Annotated[list[MemberIn], msgspec.Meta(max_length=bounds.MEMBERS - 1)] = msgspec.field(
        default_factory=list
    )


class ProgrammePatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    title: Name | None = None
    kind: Kind | None = None
    description: Text | None = None
    status: ProgrammeStatus | None = None
    public: bool | None = None
    proprietary_months: Months | None = None


class ProgrammeOut(msgspec.Struct):
    id: UUID
    code: str
    title: str
    kind: str
    pi: str
    description: str
    status: str
    public: bool
    proprietary_months: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    # the caller's role in the programme, when a member
    my_role: str | None = None


class ProposalIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    period: Period
    title: Name
    abstract: Text = ""
    requested_hours: Annotated[float, msgspec.Meta(ge=0, le=10000)] = 0.0


class TransitionIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    to: ProposalStatus
    comment: Text = ""


class TransitionOut(msgspec.Struct):
    from_status: str
    to_status: str
    changed_by: str
    changed_at: datetime
    comment: str


class ProposalOut(msgspec.Struct):
    id: UUID
    programme: str
    period: str
    title: str
    abstract: str
    requested_hours: float
    status: str
    created_by: str
    created_at: datetime
    history: list[TransitionOut] = msgspec.field(default_factory=list)


class WorkPackageIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: Code
    title: Name
    description: Text = ""


class WorkPackagePatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    title: Name | None = None
    description: Text | None = None


class WorkPackageOut(msgspec.Struct):
    id: UUID
    code: str
    title: str
    description: str
    targets: int


class TargetIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """A target as a list or a form gives it: ICRS degrees at ``epoch`` (Julian year); proper
    motions in mas/yr (pmra is mu_alpha* = mu_alpha cos dec); parallax in mas; radial velocity in km/s.
    The rules are spicadb_astro.targets' (imported as rules), the same on every write path and in every copy."""

    name: rules.TargetName
    ra: rules.RightAscension
    dec: rules.Declination
    epoch: rules.Epoch = 2000.0
    pmra: rules.ProperMotion | None = None
    pmdec: rules.ProperMotion | None = None
    parallax: rules.Parallax | None = None
    radial_velocity: rules.RadialVelocity | None = None
    mag_v: rules.Magnitude | None = None
    mag_r: rules.Magnitude | None = None
    mag_i: rules.Magnitude | None = None
    mag_j: rules.Magnitude | None = None
    mag_h: rules.Magnitude | None = None
    mag_k: rules.Magnitude | None = None
    spectral_type: rules.Label | None = None
    object_type: rules.Label | None = None
    hd: rules.Label | None = None
    hip: rules.Label | None = None
    tmass: rules.Label | None = None
    gaia: rules.Label | None = None
    notes: Text | None = None
    # the work package's code in this programme
    work_package: Code | None = None


class TargetPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Fields to change; a field given as null is cleared. The rules are TargetIn's."""

    name: rules.TargetName | msgspec.UnsetType = msgspec.UNSET
    ra: rules.RightAscension | msgspec.UnsetType = msgspec.UNSET
    dec: rules.Declination | msgspec.UnsetType = msgspec.UNSET
    epoch: rules.Epoch | msgspec.UnsetType = msgspec.UNSET
    pmra: rules.ProperMotion | msgspec.UnsetType | None = msgspec.UNSET
    pmdec: rules.ProperMotion | msgspec.UnsetType | None = msgspec.UNSET
    parallax: rules.Parallax | msgspec.UnsetType | None = msgspec.UNSET
    radial_velocity: rules.RadialVelocity | msgspec.UnsetType | None = msgspec.UNSET
    mag_v: rules.Magnitude | msgspec.UnsetType | None = msgspec.UNSET
    mag_r: rules.Magnitude | msgspec.UnsetType | None = msgspec.UNSET
    mag_i: rules.Magnitude | msgspec.UnsetType | None = msgspec.UNSET
    mag_j: rules.Magnitude | msgspec.UnsetType | None = msgspec.UNSET
    mag_h: rules.Magnitude | msgspec.UnsetType | None = msgspec.UNSET
    mag_k: rules.Magnitude | msgspec.UnsetType | None = msgspec.UNSET
    spectral_type: rules.Label | msgspec.UnsetType | None = msgspec.UNSET
    object_type: rules.Label | msgspec.UnsetType | None = msgspec.UNSET
    hd: rules.Label | msgspec.UnsetType | None = msgspec.UNSET
    hip: rules.Label | msgspec.UnsetType | None = msgspec.UNSET
    tmass: rules.Label | msgspec.UnsetType | None = msgspec.UNSET
    gaia: rules.Label | msgspec.UnsetType | None = msgspec.UNSET
    notes: Text | msgspec.UnsetType | None = msgspec.UNSET
    work_package: Code | msgspec.UnsetType | None = msgspec.UNSET


class TargetOut(TargetIn, kw_only=True, omit_defaults=False, forbid_unknown_fields=False):
    id: UUID
    created_at: datetime
    updated_at: datetime
    # not-observed, partial, done: over the target's observation requests
    progress: str = "not-observed"


class ImportReport(msgspec.Struct):
    import_id: UUID | None
    format: str
    imported: int
    dry_run: bool
    targets: list[UUID] = msgspec.field(default_factory=list)
    created_work_packages: list[str] = msgspec.field(default_factory=list)
    ignored_columns: list[str] = msgspec.field(default_factory=list)


class SetupIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Code
    mode: Mode
    # CHARA stations, e.g. ["E1", "W2", "W1", "S2", "S1", "E2"] or a 4T/5T subset
    configuration: list[str]
    # calibrators wanted per science visit
    calibrators_per_visit: Annotated[int, msgspec.Meta(ge=0, le=10)] = 1
    calibrator_notes: Text = ""
    instrument: Literal["SPICA"] = "SPICA"


class SetupOut(msgspec.Struct):
    id: UUID
    name: str
    instrument: str
    mode: str
    configuration: list[str]
    calibrators_per_visit: int
    calibrator_notes: str


class RequestIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    target_id: UUID
    setup: Code
    visits: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1
    priority: Priority = 3


class RequestPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    visits: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None
    priority: Priority | None = None


class Counts(msgspec.Struct):
    requested: int
    planned: int
    observed: int
    good: int
    state: str


class RequestOut(msgspec.Struct):
    id: UUID
    target_id: UUID
    target_name: str
    setup: str
    mode: str
    visits: int
    priority: int
    progress: Counts
    work_package: str | None = None


class WorkPackageProgress(msgspec.Struct):
    work_package: str | None
    progress: Counts


class ProgressOut(msgspec.Struct):
    programme: str
    progress: Counts
    work_packages: list[WorkPackageProgress]


class ProgrammePage(Page[ProgrammeOut]):
    """One page of programmes by code: pass ``next`` back as ``cursor`` for the next page."""

    items: list[ProgrammeOut]


class TargetPage(Page[TargetOut]):
    """One page of targets: pass ``next`` back as ``cursor`` (with the same filters and sort)."""

    items: list[TargetOut]


class RequestPage(Page[RequestOut]):
    items: list[RequestOut]
