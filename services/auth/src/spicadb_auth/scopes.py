"""The scope catalogue and the mapping of roles to scopes (configuration in code, on purpose:
a change of who may do what is a reviewed commit).

Scopes are ``noun:verb`` for SPICA-DB and the four OpenID Connect scopes. A token carries the
intersection of what was requested, what the client is registered for and, for a person, what
their roles grant. ``admin`` grants every scope.

| role       | scopes                                                                          |
|------------|---------------------------------------------------------------------------------|
| admin      | every scope                                                                     |
| astronomer | programmes:read programmes:write nightlogs:read oifits:read tap:query          |
| operator   | programmes:read nightlogs:read nightlogs:write nightlogs:flag schedule:write oifits:read tap:query |
| reader     | programmes:read nightlogs:read oifits:read tap:query                            |

Every person also gets the OpenID Connect scopes (openid profile email offline_access).
``token:introspect`` is a right of resource servers (a confidential client registered with it
may introspect any token); admin clients may introspect too.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

INTROSPECT = "token:introspect"

OIDC_SCOPES: dict[str, str] = {
    "openid": "Sign in with OpenID Connect: an ID token and the userinfo endpoint.",
    "profile": "Your name and user name in the ID token and userinfo.",
    "email": "Your e-mail address in the ID token and userinfo.",
    "offline_access": "Stay signed in: refresh tokens.",
}

SPICADB_SCOPES: dict[str, str] = {
    "programmes:read": "Read programmes, proposals, work packages, targets and progress.",
    "programmes:write": "Create and edit programmes, proposals, work packages and targets.",
    "nightlogs:read": "Read nights, schedules, CHARA logs and observations.",
    "nightlogs:write": "Record nights, CHARA logs and observations (log ingestion).",
    "nightlogs:flag": "Set quality flags on observations.",
    "schedule:write": "Publish night schedules (the SPICA night scheduler).",
    "oifits:read": "Read and download OIFITS files and validation reports.",
    "oifits:push": "Push reduced OIFITS files (the data reduction software).",
    "tap:query": "Run TAP/ADQL queries on the catalogues.",
    "admin": "Administer SPICA-DB: accounts, clients, keys; implies every other scope.",
}

# rights of services rather than of people: registered on a confidential client, never in a role
# but admin's
SERVICE_SCOPES: dict[str, str] = {
    INTROSPECT: "Introspect any token at /oauth/introspect (RFC 7662): resource servers such as the gateway.",
}

CATALOGUE: dict[str, str] = {**SPICADB_SCOPES, **SERVICE_SCOPES, **OIDC_SCOPES}
ALL_SCOPES: tuple[str, ...] = tuple(CATALOGUE)

ROLES: dict[str, tuple[str, ...]] = {
    "admin": ALL_SCOPES,
    "astronomer": ("programmes:read", "programmes:write", "nightlogs:read", "oifits:read", "tap:query"),
    "operator": (
        "programmes:read",
        "nightlogs:read",
        "nightlogs:write",
        "nightlogs:flag",
        "schedule:write",
        "oifits:read",
        "tap:query",
    ),
    "reader": ("programmes:read", "nightlogs:read", "oifits:read", "tap:query"),
}


class ScopeInfo(msgspec.Struct, frozen=True):
    name: str
    description: str
    oidc: bool


class RoleInfo(msgspec.Struct, frozen=True):
    name: str
    scopes: list[str]


class Catalogue(msgspec.Struct, frozen=True):
    scopes: list[ScopeInfo]
    roles: list[RoleInfo]


def catalogue() -> Catalogue:
    return Catalogue(
        scopes=[ScopeInfo(name=n, description=d, oidc=n in OIDC_SCOPES) for n, d in CATALOGUE.items()],
        roles=[RoleInfo(name=r, scopes=list(s)) for r, s in ROLES.items()],
    )


def scopes_for_roles(roles: Iterable[str]) -> frozenset[str]:
    """What a person with these roles may obtain (OpenID Connect scopes included)."""
    granted: set[str] = set(OIDC_SCOPES)
    for role in roles:
        granted.update(ROLES.get(role, ()))
    return frozenset(granted)


def unknown_scopes(scopes: Iterable[str]) -> list[str]:
    return sorted(set(scopes) - set(CATALOGUE))


def unknown_roles(roles: Iterable[str]) -> list[str]:
    return sorted(set(roles) - set(ROLES))


def ordered(scopes: Iterable[str]) -> list[str]:
    """Scopes in catalogue order (stable token contents and responses)."""
    wanted = set(scopes)
    return [s for s in ALL_SCOPES if s in wanted]


def to_string(scopes: Iterable[str]) -> str:
    return " ".join(ordered(scopes))
