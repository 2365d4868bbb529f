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
# a programme's code is a path segment at the gateway: not "admin" (/programmes/admin/ is the kit's
# operator routes, admin scope only, which would put the programme out of its members' reach)
ProgrammeCode = Annotated[
    str, msgspec.Meta(pattern=r"^(?!admin$)[A-Za-z0-9][A-Za-z0-9._-]{0,39}$", max_length=40)
]
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
    code: ProgrammeCode
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
    # the programme's request totals, when the listing is asked for them (with_progress)
    progress: Counts | None = None


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


# what a target list's columns bring besides the fields below (issue 14): typed values, by FIELD name
PropertyName = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
PropertyValue = Annotated[str, msgspec.Meta(max_length=4000)] | int | float | bool
Properties = Annotated[dict[PropertyName, PropertyValue], msgspec.Meta(max_length=500)]
Band = Annotated[str, msgspec.Meta(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_.]+$")]
Setup = Annotated[str, msgspec.Meta(max_length=200, pattern=rules.PRINTABLE)]
Count = Annotated[int, msgspec.Meta(ge=0, le=100000)]


class Photometry(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """A magnitude and its error in one band (either may be missing)."""

    mag: Annotated[float, msgspec.Meta(ge=-10.0, le=40.0)] | None = None
    error: Annotated[float, msgspec.Meta(ge=0.0, le=10.0)] | None = None


class Diameter(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """An angular diameter in mas: limb-darkened (LD) or uniform-disc (UD, in ``band``), from ``catalogue``
    (JSDC2, a surface-brightness relation SB...)."""

    kind: Literal["LD", "UD", "D"]
    catalogue: rules.Label | None = None
    band: Band | None = None
    value: Annotated[float, msgspec.Meta(ge=0.0, le=1.0e6)] | None = None
    error: Annotated[float, msgspec.Meta(ge=0.0, le=1.0e6)] | None = None


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
    # identifiers besides the four above
    gaia_dr2: rules.Label | None = None
    gaia_dr3: rules.Label | None = None
    chara_id: rules.Label | None = None
    # every band the list has, errors included (mag_v..mag_k are the filterable copies of V..K)
    magnitudes: dict[Band, Photometry] = msgspec.field(default_factory=dict)
    diameters: Annotated[list[Diameter], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)
    # effective temperature (K), surface gravity log g (cgs), metallicity [Fe/H] (dex)
    teff: Annotated[float, msgspec.Meta(ge=500.0, le=100000.0)] | None = None
    logg: Annotated[float, msgspec.Meta(ge=-2.0, le=10.0)] | None = None
    feh: Annotated[float, msgspec.Meta(ge=-10.0, le=3.0)] | None = None
    # the PI's priority of the target (smaller first), the type of its science case
    priority: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None
    science_case: Name | None = None
    # the requested setups as the list names them: SPICA mode(s), CHARA configuration(s)
    spica_setup: Setup | None = None
    chara_setup: Setup | None = None
    # the calibrators the PI names, as the list gives them ("HD 1234, HD 5678")
    calibrator_ids: Text | None = None
    observations_requested: Count | None = None
    # every other column of the list, by its FIELD name (see GET /programmes/{code}/columns)
    properties: Properties = msgspec.field(default_factory=dict)
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
    gaia_dr2: rules.Label | msgspec.UnsetType | None = msgspec.UNSET
    gaia_dr3: rules.Label | msgspec.UnsetType | None = msgspec.UNSET
    chara_id: rules.Label | msgspec.UnsetType | None = msgspec.UNSET
    magnitudes: dict[Band, Photometry] | msgspec.UnsetType = msgspec.UNSET
    diameters: Annotated[list[Diameter], msgspec.Meta(max_length=50)] | msgspec.UnsetType = msgspec.UNSET
    teff: Annotated[float, msgspec.Meta(ge=500.0, le=100000.0)] | msgspec.UnsetType | None = msgspec.UNSET
    logg: Annotated[float, msgspec.Meta(ge=-2.0, le=10.0)] | msgspec.UnsetType | None = msgspec.UNSET
    feh: Annotated[float, msgspec.Meta(ge=-10.0, le=3.0)] | msgspec.UnsetType | None = msgspec.UNSET
    priority: Annotated[int, msgspec.Meta(ge=0, le=100)] | msgspec.UnsetType | None = msgspec.UNSET
    science_case: Name | msgspec.UnsetType | None = msgspec.UNSET
    spica_setup: Setup | msgspec.UnsetType | None = msgspec.UNSET
    chara_setup: Setup | msgspec.UnsetType | None = msgspec.UNSET
    calibrator_ids: Text | msgspec.UnsetType | None = msgspec.UNSET
    observations_requested: Count | msgspec.UnsetType | None = msgspec.UNSET
    properties: Properties | msgspec.UnsetType = msgspec.UNSET
    work_package: Code | msgspec.UnsetType | None = msgspec.UNSET


class TargetOut(TargetIn, kw_only=True, omit_defaults=False, forbid_unknown_fields=False):
    id: UUID
    created_at: datetime
    updated_at: datetime
    # not-observed, partial, done: over the target's observation requests
    progress: str = "not-observed"


class ImportNotice(msgspec.Struct, omit_defaults=True):
    """Something read leniently, as TOPCAT and Aspro2 read it: a short or long row (``row``), the
    placeholders of a column read as null (``column``)."""

    message: str
    row: int | None = None
    column: str | None = None


class DuplicatePair(msgspec.Struct):
    """Two targets with the same name, or closer than the duplicate radius: ``row`` of the list and
    ``other_row`` of the list or ``other_target`` already in the programme, ``separation`` in arcsec
    (at J2000.0 after proper motion). ``outcome``: imported, skipped (duplicates=skip) or refused."""

    row: int
    name: str
    other_name: str
    other_row: int | None
    other_target: str | None
    same_name: bool
    separation: float
    outcome: Literal["imported", "skipped", "refused"]


class ImportReport(msgspec.Struct):
    import_id: UUID | None
    format: str
    imported: int
    dry_run: bool
    targets: list[UUID] = msgspec.field(default_factory=list)
    created_work_packages: list[str] = msgspec.field(default_factory=list)
    ignored_columns: list[str] = msgspec.field(default_factory=list)
    # the list's columns kept as properties (by FIELD name), see GET /programmes/{code}/columns
    properties: list[str] = msgspec.field(default_factory=list)
    warnings: list[ImportNotice] = msgspec.field(default_factory=list)
    duplicates: list[DuplicatePair] = msgspec.field(default_factory=list)
    skipped: int = 0


class TargetColumnOut(msgspec.Struct, omit_defaults=False):
    """A column of the programme's target lists, as its FIELD described it; ``maps_to``: the target field
    it fills (null: kept in ``properties`` under ``name``)."""

    name: str
    position: int
    datatype: str
    arraysize: str | None = None
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    xtype: str | None = None
    description: str | None = None
    maps_to: str | None = None


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
