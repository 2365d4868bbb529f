"""The administration pages' data, read and written through the auth service's admin API (scope
``admin``) with the administrator's token: clients, accounts and their roles, the audit trail. A secret
(a new client's, a rotated one, a generated password) comes back in the answer of the call that made it
and goes into that one answer page, nowhere else: never stored, never logged, never in a link."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..api import ApiProblem
from .session import ApiSession, path

# the grant types the auth service registers (spicadb_auth.models.GRANT_TYPES; a test keeps them equal)
GRANT_TYPES = ("authorization_code", "client_credentials", "refresh_token")
# what the audit trail's changes are about (its target_type filter)
AUDIT_TARGETS = ("client", "user", "signing_key")
# a list's index in a refused field's name
_INDEX = re.compile(r"\[\d+\]$")


def wrong_fields(problem: ApiProblem | None) -> dict[str, str]:
    """The refused fields by the form's names (``body.redirect_uris[1]`` -> ``redirect_uris``), each
    with the API's message, to show beside its input."""
    wrong: dict[str, str] = {}
    for error in problem.errors if problem else ():
        name = _INDEX.sub("", str(error.get("field") or "").removeprefix("body."))
        message = str(error.get("message") or error.get("detail") or "")
        if name:
            wrong[name] = f"{wrong[name]}; {message}" if name in wrong else message
    return wrong


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass
class ClientForm:
    """The new client as typed (kept when refused)."""

    client_id: str = ""
    name: str = ""
    grant_types: list[str] = field(default_factory=lambda: ["client_credentials"])
    scopes: list[str] = field(default_factory=list)
    redirect_uris: str = ""  # one a line
    public: bool = False

    @classmethod
    def sent(cls, form: Any) -> ClientForm:
        return cls(
            client_id=str(form.get("client_id") or "").strip(),
            name=str(form.get("name") or "").strip(),
            grant_types=[str(g) for g in form.getall("grant_types", [])],
            scopes=[str(s) for s in form.getall("scopes", [])],
            redirect_uris=str(form.get("redirect_uris") or ""),
            public=form.get("public") == "on",
        )

    def body(self) -> dict[str, Any]:
        """As the API's createClient takes it."""
        return {
            "client_id": self.client_id,
            "name": self.name,
            "grant_types": self.grant_types,
            "scopes": self.scopes,
            "redirect_uris": _lines(self.redirect_uris),
            "public": self.public,
        }


@dataclass
class UserForm:
    """The new account as typed (the password never sent back into a page)."""

    username: str = ""
    name: str = ""
    email: str = ""
    roles: list[str] = field(default_factory=list)
    password: str = ""

    @classmethod
    def sent(cls, form: Any) -> UserForm:
        return cls(
            username=str(form.get("username") or "").strip(),
            name=str(form.get("name") or "").strip(),
            email=str(form.get("email") or "").strip(),
            roles=[str(r) for r in form.getall("roles", [])],
            password=str(form.get("password") or ""),
        )

    def body(self) -> dict[str, Any]:
        """As the API's createUser takes it; no password: the API generates one, shown once."""
        body: dict[str, Any] = {"username": self.username, "name": self.name, "email": self.email,
                                "roles": self.roles}  # fmt: skip
        if self.password:
            body["password"] = self.password
        return body


@dataclass
class Catalogue:
    """The scopes and the roles (what each grants), as /admin/scopes gives them."""

    scopes: list[dict[str, Any]]
    roles: list[dict[str, Any]]

    @property
    def scope_names(self) -> list[str]:
        return [str(s["name"]) for s in self.scopes]

    @property
    def role_names(self) -> list[str]:
        return [str(r["name"]) for r in self.roles]


@dataclass
class ClientsPage:
    clients: list[dict[str, Any]]
    catalogue: Catalogue
    form: ClientForm = field(default_factory=ClientForm)
    refused: ApiProblem | None = None

    @property
    def wrong(self) -> dict[str, str]:
        return wrong_fields(self.refused)


@dataclass
class ClientPage:
    client: dict[str, Any]
    # the secret just made (the answer to a creation or a rotation): shown on this one page
    secret: str | None = None
    saved: str = ""
    refused: ApiProblem | None = None


@dataclass
class UsersPage:
    users: list[dict[str, Any]]
    catalogue: Catalogue
    form: UserForm = field(default_factory=UserForm)
    refused: ApiProblem | None = None

    @property
    def wrong(self) -> dict[str, str]:
        return wrong_fields(self.refused)


@dataclass
class UserPage:
    user: dict[str, Any]
    catalogue: Catalogue
    # the roles as typed when refused (else the account's)
    roles: list[str] | None = None
    # the password the API generated at creation: shown on this one page
    password: str | None = None
    saved: str = ""
    refused: ApiProblem | None = None

    @property
    def checked(self) -> list[str]:
        return list(self.user.get("roles") or []) if self.roles is None else self.roles

    @property
    def wrong(self) -> dict[str, str]:
        return wrong_fields(self.refused)


@dataclass(frozen=True)
class Change:
    """One field of an audited value, before and after."""

    name: str
    before: str
    after: str


@dataclass
class AuditEntry:
    row: dict[str, Any]
    changes: list[Change]


@dataclass
class AuditPage:
    entries: list[AuditEntry]
    target_type: str
    target_id: str
    next: str | None


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(str(v) for v in value) or "(none)"
    return str(value)


def changes(before: Any, after: Any) -> list[Change]:
    """What an audited change changed: every field of a creation, the differing ones of an update."""
    old = before if isinstance(before, Mapping) else {}
    new = after if isinstance(after, Mapping) else {}
    names = list(dict.fromkeys([*new, *old]))
    return [
        Change(name, _shown(old.get(name)), _shown(new.get(name)))
        for name in names
        if _shown(old.get(name)) != _shown(new.get(name))
    ]


class AdminConsole:
    """The admin API as one administrator calls it."""

    def __init__(self, session: ApiSession) -> None:
        self.session = session

    async def catalogue(self) -> Catalogue:
        found = await self.session.get("/admin/scopes")
        return Catalogue(scopes=list(found.get("scopes") or []), roles=list(found.get("roles") or []))

    # --- clients ---------------------------------------------------------------------------------

    async def clients(self) -> ClientsPage:
        listed, catalogue = await asyncio.gather(self.session.get("/admin/clients"), self.catalogue())
        return ClientsPage(clients=list(listed), catalogue=catalogue)

    async def client(self, client_id: str) -> ClientPage:
        return ClientPage(client=await self.session.get(path("admin", "clients", client_id)))

    async def create_client(self, form: ClientForm) -> ClientPage:
        """The new client, with its secret (a confidential one's) for its one page."""
        created = dict(await self.session.post("/admin/clients", form.body()))
        secret = created.pop("client_secret", None)
        return ClientPage(client=created, secret=secret, saved="created")

    async def rotate_secret(self, client_id: str) -> ClientPage:
        rotated = await self.session.post(path("admin", "clients", client_id, "secret"), {})
        page = await self.client(client_id)
        page.secret, page.saved = str(rotated["client_secret"]), "rotated"
        return page

    async def switch_client(self, client_id: str, action: str) -> None:
        """``disable`` or ``enable`` the client."""
        await self.session.post(path("admin", "clients", client_id, action), {})

    # --- accounts --------------------------------------------------------------------------------

    async def users(self) -> UsersPage:
        listed, catalogue = await asyncio.gather(self.session.get("/admin/users"), self.catalogue())
        return UsersPage(users=list(listed), catalogue=catalogue)

    async def user(self, username: str) -> UserPage:
        found, catalogue = await asyncio.gather(
            self.session.get(path("admin", "users", username)), self.catalogue()
        )
        return UserPage(user=found, catalogue=catalogue)

    async def create_user(self, form: UserForm) -> UserPage:
        """The new account, with the password the API generated (when none was typed) for its one page."""
        created = dict(await self.session.post("/admin/users", form.body()))
        password = created.pop("password", None)
        return UserPage(user=created, catalogue=await self.catalogue(), password=password, saved="created")

    async def set_roles(self, username: str, roles: Sequence[str]) -> None:
        await self.session.put(path("admin", "users", username, "roles"), {"roles": list(roles)})

    async def switch_user(self, username: str, action: str) -> None:
        """``disable`` or ``enable`` the account."""
        await self.session.post(path("admin", "users", username, action), {})

    # --- audit -----------------------------------------------------------------------------------

    async def audit(self, target_type: str, target_id: str, cursor: str | None) -> AuditPage:
        """A page of the audit trail, newest first (a cursor no page gave is the API's 400)."""
        params: list[tuple[str, str | int]] = [("limit", self.session.page_size)]
        if target_type:
            params.append(("target_type", target_type))
        if target_id:
            params.append(("target_id", target_id))
        if cursor:
            params.append(("cursor", cursor))
        rows, following = await self.session.get_linked("/admin/audit", params)
        entries = [AuditEntry(row, changes(row.get("before"), row.get("after"))) for row in rows]
        return AuditPage(entries, target_type, target_id, following)
