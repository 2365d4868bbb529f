"""Data rights, as every service other than programmes sees them.

The programmes service owns membership and proprietary periods and announces them
(``programmes.programme.created``, ``...membership_changed``, ``...proprietary_changed``,
``...changed``), each event with the whole current state. A service that shows observations, files
or granules opts into this component: ``kit_components=(rights.COMPONENT,)`` gives it the table
``programme_rights`` in its own schema, ``rights.consumer(decl)`` keeps it, and :func:`visible_sql`
is the one rule of visibility:

    data of a programme are visible to its members always, to everyone once released (the end of
    the observation plus the programme's proprietary period), and to admins and trusted robots;
    data of no programme to everyone once released too, after a default period
    (``SPICADB_UNASSIGNED_PROPRIETARY_MONTHS``, 12 by default, as ESO's archive and JMMC's OiDB);
    calibrators to everyone once observed; data naming a programme this copy has not heard of yet
    only to admins and trusted robots.

:func:`release_sql` (the SQL function ``rights_release`` for views) gives the matching release date.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from typing import Annotated, Any

import asyncpg
import msgspec

from spicadb_contracts.programmes import (
    MembershipChanged,
    ProgrammeChanged,
    ProgrammeCreated,
    ProprietaryPeriodChanged,
)

from ..auth import Principal, bearer_token
from ..context import ServiceContext
from ..events import Envelope, EventConsumer
from ..settings import BaseSettings
from ..spec import ConsumerDecl

__all__ = [
    "COMPONENT",
    "PUBLISHED_SEES_ALL",
    "PUBLISHED_VIEWER",
    "SEES_ALL_SETTING",
    "STREAM",
    "SUBJECTS",
    "VIEWER_SETTING",
    "RightsSettings",
    "Viewer",
    "add_months",
    "apply_policy",
    "consumer",
    "consumer_decl",
    "programme",
    "published_visible_joined_sql",
    "published_visible_sql",
    "release_sql",
    "request_principal",
    "request_viewer",
    "set_published_viewer",
    "set_unassigned_months",
    "visible_joined_sql",
    "visible_sql",
]

COMPONENT = ("rights", "spicadb_kit.rights.migrations")
STREAM = "SPICADB_PROGRAMMES"
SUBJECTS = tuple(
    e.subject() for e in (ProgrammeCreated, ProgrammeChanged, MembershipChanged, ProprietaryPeriodChanged)
)


def consumer_decl(service: str) -> ConsumerDecl:
    """The durable a service keeps its copy with (from the start of the stream: a new service
    backfills every programme)."""
    return ConsumerDecl(
        durable=f"{service}_programme_rights",
        stream=STREAM,
        filter_subjects=SUBJECTS,
        max_deliver=10,
        backoff_seconds=(0.5, 2.0, 10.0),
    )


async def _created(conn: asyncpg.Connection, _: Envelope, e: ProgrammeCreated) -> None:
    await conn.execute(
        "INSERT INTO programme_rights (programme_id, code, title, pi, public, proprietary_months, members)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (programme_id) DO UPDATE SET code = EXCLUDED.code,"
        " title = EXCLUDED.title, pi = EXCLUDED.pi, public = EXCLUDED.public,"
        " proprietary_months = EXCLUDED.proprietary_months, members = EXCLUDED.members, updated_at = now()",
        e.programme_id,
        e.code,
        e.title,
        e.pi,
        e.public,
        e.proprietary_months,
        sorted(m.username for m in e.members),
    )


async def _changed(conn: asyncpg.Connection, _: Envelope, e: ProgrammeChanged) -> None:
    await conn.execute(
        "UPDATE programme_rights SET code = $2, title = $3, pi = $4, public = $5, updated_at = now()"
        " WHERE programme_id = $1",
        e.programme_id,
        e.code,
        e.title,
        e.pi,
        e.public,
    )


async def _members(conn: asyncpg.Connection, _: Envelope, e: MembershipChanged) -> None:
    await conn.execute(
        "UPDATE programme_rights SET members = $2, updated_at = now() WHERE programme_id = $1",
        e.programme_id,
        sorted(m.username for m in e.members),
    )


async def _period(conn: asyncpg.Connection, _: Envelope, e: ProprietaryPeriodChanged) -> None:
    await conn.execute(
        "UPDATE programme_rights SET proprietary_months = $2, updated_at = now() WHERE programme_id = $1",
        e.programme_id,
        e.proprietary_months,
    )


def consumer(decl: ConsumerDecl) -> EventConsumer:
    """The handlers that keep ``programme_rights``, on the service's durable ``decl``."""
    rights = EventConsumer(decl)
    rights.on(ProgrammeCreated)(_created)
    rights.on(ProgrammeChanged)(_changed)
    rights.on(MembershipChanged)(_members)
    rights.on(ProprietaryPeriodChanged)(_period)
    return rights


class Viewer(msgspec.Struct, frozen=True):
    """Who looks at data: a user name (None: anonymous) and whether they see everything."""

    username: str | None
    sees_all: bool = False

    @classmethod
    def of(
        cls,
        principal: Principal | None,
        trusted_clients: frozenset[str] = frozenset(),
        staff_scopes: frozenset[str] = frozenset(),
    ) -> Viewer:
        """``staff_scopes``: scopes whose holders work on every programme's data (the night
        astronomers who flag observations must see them to judge them)."""
        if principal is None:
            return cls(None)
        robot = principal.subject == principal.client_id and principal.client_id in trusted_clients
        staff = "admin" in principal.scopes or bool(staff_scopes & principal.scopes)
        return cls(principal.subject, staff or robot)


async def request_principal(request: Any, context: ServiceContext[Any, Any]) -> Principal | None:
    """Who sends a request on a route that also answers without a token: the principal of the token
    sent (verified: a bad one is a 401), None when none is sent."""
    principal = request.scope.get("user")
    if isinstance(principal, Principal):
        return principal
    header = request.headers.get("authorization")
    return await context.verifier.verify(bearer_token(header)) if header else None


async def request_viewer(
    request: Any, context: ServiceContext[Any, Any], staff_scopes: frozenset[str] = frozenset()
) -> Viewer:
    """The viewer of a request. Routes that answer without a token (VO tools, downloads) still verify one
    when it is sent, so that a member sees their proprietary data there too."""
    principal = await request_principal(request, context)
    return Viewer.of(principal, context.settings.trusted(), staff_scopes)


class RightsSettings(BaseSettings, frozen=True):  # type: ignore[misc, call-arg]  # mypy: namespace package
    """What the rule reads from the environment (``SPICADB_UNASSIGNED_PROPRIETARY_MONTHS``)."""

    # the proprietary period of data of no programme, from the end of their observation: ESO's
    # standard period (one year) and what JMMC's OiDB shows for such data
    unassigned_proprietary_months: Annotated[int, msgspec.Meta(ge=0, le=1200)] = 12


async def apply_policy(context: ServiceContext[Any, Any]) -> None:
    """A startup hook of every service with this component: the rule follows the setting."""
    months = RightsSettings.from_env().unassigned_proprietary_months
    async with context.pool.acquire() as conn:
        await set_unassigned_months(conn, months)


async def set_unassigned_months(conn: asyncpg.Connection, months: int) -> None:
    """Set the proprietary period of data of no programme (only when it changes, so replicas starting
    together do not rewrite it)."""
    await conn.execute(
        "UPDATE rights_policy SET unassigned_proprietary_months = $1, updated_at = now()"
        " WHERE unassigned_proprietary_months <> $1",
        months,
    )


def visible_sql(
    programme: str, end: str, viewer: str, sees_all: str, *, calibrator: str | None = None
) -> str:
    """A condition on a row of data: ``programme`` is its programme code column, ``end`` the end of
    its observation (timestamptz), ``viewer`` and ``sees_all`` the placeholders of the viewer's user
    name (text, NULL when anonymous) and of Viewer.sees_all (boolean); ``calibrator`` a condition
    saying the row is a calibrator's (released when observed). Written out rather than calling
    ``rights_release`` so that the planner sees it (it filters cone searches of a million rows); the
    kit's tests hold the two to the same answers."""
    calibrators = f" OR (({calibrator}) AND {end} <= now())" if calibrator else ""
    return (
        f"({sees_all}{calibrators}"
        f" OR ({programme} IS NULL AND {end} + make_interval(months =>"
        " (SELECT p.unassigned_proprietary_months FROM rights_policy p)) <= now())"
        f" OR EXISTS (SELECT 1 FROM programme_rights r WHERE r.code = {programme}"
        f" AND ({end} + make_interval(months => r.proprietary_months) <= now()"
        f" OR {viewer} = ANY(r.members))))"
    )


def visible_joined_sql(
    programme: str, end: str, rights: str, viewer: str, sees_all: str, *, calibrator: str | None = None
) -> str:
    """:func:`visible_sql` for a query that already joins the row's programme: ``rights`` is the alias of
    ``programme_rights`` LEFT JOINed ``ON rights.code = <programme>`` (code is unique: one row or none).
    The same answers (a programme unknown to this copy joins nothing: hidden but to ``sees_all``), read
    from the joined row instead of an EXISTS the planner runs as a subquery per row under the OR (reading
    100,000 rows of ivoa.obscore: most of their time); the kit's tests hold the two to the same answers."""
    calibrators = f" OR (({calibrator}) AND {end} <= now())" if calibrator else ""
    return (
        f"({sees_all}{calibrators}"
        f" OR ({programme} IS NULL AND {end} + make_interval(months =>"
        " (SELECT p.unassigned_proprietary_months FROM rights_policy p)) <= now())"
        f" OR ({rights}.code IS NOT NULL"
        f" AND ({end} + make_interval(months => {rights}.proprietary_months) <= now()"
        f" OR {viewer} = ANY({rights}.members))))"
    )


def release_sql(programme: str, end: str, *, calibrator: str | None = None) -> str:
    """The release date of a row of data (NULL while its programme is unknown to this copy): the SQL
    function ``rights_release`` (which views call) written out, several times faster per row in the
    select lists of large VO answers; the kit's tests hold the two to the same answers."""
    calibrators = f"WHEN {calibrator} THEN {end} " if calibrator else ""
    return (
        f"(CASE {calibrators}WHEN {programme} IS NULL THEN {end} + make_interval(months =>"
        " (SELECT p.unassigned_proprietary_months FROM rights_policy p))"
        f" ELSE (SELECT {end} + make_interval(months => r.proprietary_months) FROM programme_rights r"
        f" WHERE r.code = {programme}) END)"
    )


# The viewer of a published view's reader (the TAP service), set for one transaction: the views of
# data with rights filter their rows by these (spicadb_kit.published). An unset viewer is anonymous.
VIEWER_SETTING = "spicadb.viewer"
SEES_ALL_SETTING = "spicadb.sees_all"
PUBLISHED_VIEWER = f"nullif(current_setting('{VIEWER_SETTING}', true), '')"
PUBLISHED_SEES_ALL = f"(coalesce(current_setting('{SEES_ALL_SETTING}', true), '') = 'on')"


def published_visible_sql(programme: str, end: str, *, calibrator: str | None = None) -> str:
    """:func:`visible_sql` for a published view: the viewer is the one its reader set for the transaction
    (:func:`set_published_viewer`). Written out in the owners' view definitions (a view binds its tables
    when created, so the rule reads the owner's ``programme_rights`` whoever selects), as such or, in a
    view joining the programme, as :func:`published_visible_joined_sql`; their tests hold each view to
    this text's answers."""
    return visible_sql(programme, end, PUBLISHED_VIEWER, PUBLISHED_SEES_ALL, calibrator=calibrator)


def published_visible_joined_sql(
    programme: str, end: str, rights: str, *, calibrator: str | None = None
) -> str:
    """:func:`published_visible_sql` for a view that LEFT JOINs the row's programme as ``rights``
    (``LEFT JOIN programme_rights <rights> ON <rights>.code = <programme>``): :func:`visible_joined_sql`
    with the reader's viewer. The owners' views write this one out; their tests hold each view to
    :func:`published_visible_sql`'s answers."""
    return visible_joined_sql(
        programme, end, rights, PUBLISHED_VIEWER, PUBLISHED_SEES_ALL, calibrator=calibrator
    )


async def set_published_viewer(conn: asyncpg.Connection, viewer: Viewer) -> None:
    """Who reads the published views in the current transaction (inside one: the setting ends with it)."""
    await conn.execute(
        "SELECT set_config($1, $2, true), set_config($3, $4, true)",
        VIEWER_SETTING,
        viewer.username or "",
        SEES_ALL_SETTING,
        "on" if viewer.sees_all else "off",
    )


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` later (the last day of a shorter month)."""
    month = moment.month - 1 + months
    year = moment.year + month // 12
    month = month % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


async def programme(conn: asyncpg.Connection, code: str) -> dict[str, Any] | None:
    """The rights row of one programme (its proprietary period and members), None for a programme the
    component has not heard of."""
    row = await conn.fetchrow("SELECT * FROM programme_rights WHERE code = $1", code)
    return None if row is None else dict(row)
