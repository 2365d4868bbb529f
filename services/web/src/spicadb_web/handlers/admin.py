"""The administration pages (``caller.is_admin`` only; anyone else gets a 403 page and no link): the
clients (create, rotate a secret, disable, enable), the accounts and their roles (create, set roles,
disable, enable), the audit trail, through the auth service's admin API. A new secret (or a password the
API generated) is in the answer to the form that made it, once: its page's URL shows nothing on reload."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect

from spicadb_kit.openapi import form, takes

from ..api import ApiProblem
from ..rendering import HTML, href, page
from ..services.admin import (
    AUDIT_TARGETS,
    GRANT_TYPES,
    AdminConsole,
    ClientForm,
    ClientPage,
    ClientsPage,
    UserForm,
    UserPage,
    UsersPage,
)
from ..services.caller import Caller
from ..services.session import ApiSession, path
from .common import ANSWERS, WRITE_ANSWERS, ConsoleController, Cursor, Text, html_answer

ADMINS_ONLY = ApiProblem(
    403, "Administrators only", "These pages are for administrators (the admin role); ask one for a change."
)


def provide_admin(session: NamedDependency[ApiSession]) -> AdminConsole:
    """The admin API for an administrator; anyone else is refused here, before any call."""
    if not session.caller.is_admin:
        raise ADMINS_ONLY
    return AdminConsole(session)


def _string(description: str, max_length: int) -> Schema:
    return Schema(type=OpenAPIType.STRING, max_length=max_length, description=description)


def _repeated(description: str) -> Schema:
    return Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.STRING), description=description)


SENT_BY_SCRIPT = "sent by the console's script with the session's X-CSRF-Token header"
CLIENT_FORM = takes(
    {
        "application/x-www-form-urlencoded": form(
            {
                "client_id": _string("the client's id (lower-case letters, digits, . _ -)", 64),
                "name": _string("what the client is", 200),
                "grant_types": Schema(
                    type=OpenAPIType.ARRAY,
                    items=Schema(type=OpenAPIType.STRING, enum=list(GRANT_TYPES)),
                    description="grant types (the field repeated)",
                ),
                "scopes": _repeated("scopes (the field repeated)"),
                "redirect_uris": _string("redirect URIs, one a line", 20_000),
                "public": Schema(type=OpenAPIType.STRING, enum=["on"], description="a public client (PKCE)"),
            },
            required=("client_id",),
        )
    },
    "the new client form, " + SENT_BY_SCRIPT,
)
USER_FORM = takes(
    {
        "application/x-www-form-urlencoded": form(
            {
                "username": _string("the user name (lower-case letters, digits, . _ -)", 64),
                "name": _string("the person's name", 200),
                "email": _string("their e-mail address", 200),
                "roles": _repeated("roles (the field repeated)"),
                "password": _string("a password of 12 characters or more; empty: one is generated", 1024),
            },
            required=("username",),
        )
    },
    "the new account form, " + SENT_BY_SCRIPT,
)
ROLES_FORM = takes(
    {"application/x-www-form-urlencoded": form({"roles": _repeated("the roles (the field repeated)")})},
    "the roles form, " + SENT_BY_SCRIPT,
)

CREATED = {201: html_answer("Created: the new client's page, with its secret shown this once")}
SAVED = {303: ResponseSpec(None, description="Saved: to the page, which says so")}


def _no_store_redirect(to: str) -> Redirect:
    return Redirect(to, status_code=303, media_type="text/html", headers={"Cache-Control": "no-store"})


def _status(problem: ApiProblem) -> int:
    return problem.status if problem.status < 500 else 502


def _clients_page(caller: Caller, view: ClientsPage, status: int = 200) -> Response[str]:
    return page("admin_clients.html", status=status, caller=caller, view=view, grant_types=GRANT_TYPES,
                section="admin")  # fmt: skip


def _client_page(caller: Caller, view: ClientPage, status: int = 200) -> Response[str]:
    return page("admin_client.html", status=status, caller=caller, view=view, section="admin")


def _users_page(caller: Caller, view: UsersPage, status: int = 200) -> Response[str]:
    return page("admin_users.html", status=status, caller=caller, view=view, section="admin")


def _user_page(caller: Caller, view: UserPage, status: int = 200) -> Response[str]:
    return page("admin_user.html", status=status, caller=caller, view=view, section="admin")


def _client_path(client_id: str) -> str:
    return "/console" + path("admin", "clients", client_id)


def _user_path(username: str) -> str:
    return "/console" + path("admin", "users", username)


async def _switch_client(caller: Caller, console: AdminConsole, client_id: str, action: str) -> Response[Any]:
    try:
        await console.switch_client(client_id, action)
    except ApiProblem as problem:
        view = await console.client(client_id)
        view.refused = problem
        return _client_page(caller, view, status=_status(problem))
    return _no_store_redirect(href(_client_path(client_id), saved=action + "d"))


async def _switch_user(caller: Caller, console: AdminConsole, username: str, action: str) -> Response[Any]:
    try:
        await console.switch_user(username, action)
    except ApiProblem as problem:
        view = await console.user(username)
        view.refused = problem
        return _user_page(caller, view, status=_status(problem))
    return _no_store_redirect(href(_user_path(username), saved=action + "d"))


class AdminPages(ConsoleController):
    """Clients, accounts and roles, the audit trail."""

    dependencies = {"console": Provide(provide_admin, sync_to_thread=False)}

    @get("/console/admin", operation_id="consoleAdmin", media_type=HTML, responses=ANSWERS)
    async def index(self, caller: NamedDependency[Caller],
                    console: NamedDependency[AdminConsole]) -> Response[str]:  # fmt: skip
        """The administration pages."""
        return page("admin.html", caller=caller, section="admin")

    # --- clients ---------------------------------------------------------------------------------

    @get("/console/admin/clients", operation_id="consoleAdminClients", media_type=HTML, responses=ANSWERS)
    async def clients(self, caller: NamedDependency[Caller],
                      console: NamedDependency[AdminConsole]) -> Response[str]:  # fmt: skip
        """The OAuth clients, and the form that registers one."""
        return _clients_page(caller, await console.clients())

    @post(
        "/console/admin/clients",
        operation_id="consoleAdminCreateClient",
        media_type=HTML,
        opt=CLIENT_FORM,
        status_code=201,
        responses={
            **WRITE_ANSWERS,
            **CREATED,
            400: html_answer("The API refused the values: the form again"),
        },
    )
    async def create_client(self, request: Request[Any, Any, Any], caller: NamedDependency[Caller],
                            console: NamedDependency[AdminConsole]) -> Response[str]:  # fmt: skip
        """Register a client: its page with the secret (a confidential client's), shown this once;
        refused, the form again with the problem's title and each wrong field's message beside it."""
        sent = ClientForm.sent(await request.form())
        try:
            view = await console.create_client(sent)
        except ApiProblem as problem:
            listing = await console.clients()
            listing.form, listing.refused = sent, problem
            return _clients_page(caller, listing, status=_status(problem))
        return _client_page(caller, view, status=201)

    @get(
        "/console/admin/clients/{client_id:str}",
        operation_id="consoleAdminClient",
        media_type=HTML,
        responses=ANSWERS,
    )
    async def client(
        self,
        caller: NamedDependency[Caller],
        console: NamedDependency[AdminConsole],
        client_id: FromPath[str],
        saved: Annotated[str | None, QueryParameter(max_length=20, description="what was just saved")] = None,
    ) -> Response[str]:
        """A client: its grant types, scopes, redirect URIs, state; rotate its secret, disable, enable."""
        view = await console.client(client_id)
        view.saved = saved or ""
        return _client_page(caller, view)

    @post(
        "/console/admin/clients/{client_id:str}/secret",
        operation_id="consoleAdminRotateSecret",
        media_type=HTML,
        status_code=200,
        responses={
            **WRITE_ANSWERS,
            200: html_answer("The client's page with its new secret, shown this once"),
        },
    )
    async def rotate(self, caller: NamedDependency[Caller], console: NamedDependency[AdminConsole],
                     client_id: FromPath[str]) -> Response[str]:  # fmt: skip
        """A new secret for a confidential client (the old one stops working): shown on this answer only."""
        try:
            view = await console.rotate_secret(client_id)
        except ApiProblem as problem:
            view = await console.client(client_id)
            view.refused = problem
            return _client_page(caller, view, status=_status(problem))
        return _client_page(caller, view)

    @get(
        "/console/admin/clients/{client_id:str}/secret",
        operation_id="consoleAdminSecretGone",
        status_code=303,
        responses={
            **ANSWERS,
            303: ResponseSpec(None, description="To the client's page: a secret is shown once"),
        },
    )
    async def secret_gone(self, console: NamedDependency[AdminConsole], client_id: FromPath[str]) -> Redirect:
        """The address of a rotation's answer, opened again (a reload): the client's page, no secret."""
        return _no_store_redirect(_client_path(client_id))

    @post(
        "/console/admin/clients/{client_id:str}/disable",
        operation_id="consoleAdminDisableClient",
        status_code=303,
        responses={**WRITE_ANSWERS, **SAVED},
    )
    async def disable_client(self, caller: NamedDependency[Caller], console: NamedDependency[AdminConsole],
                             client_id: FromPath[str]) -> Response[Any]:  # fmt: skip
        """The client can no longer obtain tokens; the ones it holds are revoked."""
        return await _switch_client(caller, console, client_id, "disable")

    @post(
        "/console/admin/clients/{client_id:str}/enable",
        operation_id="consoleAdminEnableClient",
        status_code=303,
        responses={**WRITE_ANSWERS, **SAVED},
    )
    async def enable_client(self, caller: NamedDependency[Caller], console: NamedDependency[AdminConsole],
                            client_id: FromPath[str]) -> Response[Any]:  # fmt: skip
        """The client may obtain tokens again."""
        return await _switch_client(caller, console, client_id, "enable")

    # --- accounts --------------------------------------------------------------------------------

    @get("/console/admin/users", operation_id="consoleAdminUsers", media_type=HTML, responses=ANSWERS)
    async def users(self, caller: NamedDependency[Caller],
                    console: NamedDependency[AdminConsole]) -> Response[str]:  # fmt: skip
        """The accounts with their roles, and the form that creates one."""
        return _users_page(caller, await console.users())

    @post(
        "/console/admin/users",
        operation_id="consoleAdminCreateUser",
        media_type=HTML,
        opt=USER_FORM,
        status_code=201,
        responses={
            **WRITE_ANSWERS,
            201: html_answer("Created: the account's page (with the generated password, shown this once)"),
            400: html_answer("The API refused the values: the form again"),
        },
    )
    async def create_user(self, request: Request[Any, Any, Any], caller: NamedDependency[Caller],
                          console: NamedDependency[AdminConsole]) -> Response[str]:  # fmt: skip
        """Create a local account (the password typed, or generated by the API and shown this once)."""
        sent = UserForm.sent(await request.form())
        try:
            view = await console.create_user(sent)
        except ApiProblem as problem:
            listing = await console.users()
            sent.password = ""  # never written back into a page
            listing.form, listing.refused = sent, problem
            return _users_page(caller, listing, status=_status(problem))
        return _user_page(caller, view, status=201)

    @get(
        "/console/admin/users/{username:str}",
        operation_id="consoleAdminUser",
        media_type=HTML,
        responses=ANSWERS,
    )
    async def user(
        self,
        caller: NamedDependency[Caller],
        console: NamedDependency[AdminConsole],
        username: FromPath[str],
        saved: Annotated[str | None, QueryParameter(max_length=20, description="what was just saved")] = None,
    ) -> Response[str]:
        """An account: its roles (a form of checkboxes, one per role of the catalogue), the scopes they
        give, disable or enable it."""
        view = await console.user(username)
        view.saved = saved or ""
        return _user_page(caller, view)

    @post(
        "/console/admin/users/{username:str}/roles",
        operation_id="consoleAdminSetRoles",
        opt=ROLES_FORM,
        status_code=303,
        responses={**WRITE_ANSWERS, **SAVED, 400: html_answer("The API refused the roles: the form again")},
    )
    async def set_roles(self, request: Request[Any, Any, Any], caller: NamedDependency[Caller],
                        console: NamedDependency[AdminConsole], username: FromPath[str]) -> Response[Any]:  # fmt: skip
        """Replace the account's roles (its next tokens carry the new scopes)."""
        roles = [str(r) for r in (await request.form()).getall("roles", [])]
        try:
            await console.set_roles(username, roles)
        except ApiProblem as problem:
            view = await console.user(username)
            view.roles, view.refused = roles, problem
            return _user_page(caller, view, status=_status(problem))
        return _no_store_redirect(href(_user_path(username), saved="roles"))

    @post(
        "/console/admin/users/{username:str}/disable",
        operation_id="consoleAdminDisableUser",
        status_code=303,
        responses={**WRITE_ANSWERS, **SAVED},
    )
    async def disable_user(self, caller: NamedDependency[Caller], console: NamedDependency[AdminConsole],
                           username: FromPath[str]) -> Response[Any]:  # fmt: skip
        """The person can no longer sign in; their sessions end, their tokens are revoked."""
        return await _switch_user(caller, console, username, "disable")

    @post(
        "/console/admin/users/{username:str}/enable",
        operation_id="consoleAdminEnableUser",
        status_code=303,
        responses={**WRITE_ANSWERS, **SAVED},
    )
    async def enable_user(self, caller: NamedDependency[Caller], console: NamedDependency[AdminConsole],
                          username: FromPath[str]) -> Response[Any]:  # fmt: skip
        """The person may sign in again."""
        return await _switch_user(caller, console, username, "enable")

    # --- audit -----------------------------------------------------------------------------------

    @get("/console/admin/audit", operation_id="consoleAdminAudit", media_type=HTML, responses=ANSWERS)
    async def audit(
        self,
        caller: NamedDependency[Caller],
        console: NamedDependency[AdminConsole],
        target_type: Annotated[
            str | None, QueryParameter(max_length=20, description="client, user...")
        ] = None,
        target_id: Text = None,
        cursor: Cursor = None,
    ) -> Response[str]:
        """The audit trail, newest first: who changed what, before and after; filtered by what the change
        was about; keyset pages."""
        view = await console.audit(target_type or "", target_id or "", cursor)
        return page("admin_audit.html", caller=caller, view=view, targets=AUDIT_TARGETS, section="admin")
