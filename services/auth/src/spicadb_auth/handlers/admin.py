"""The admin API (scope ``admin``): clients, accounts, the scope catalogue, signing keys, audit.

A secret (a client secret, a generated password) is in the response that creates or rotates
it, and nowhere else, ever: reading a client or an account never shows one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from spicadb_contracts import bounds
from spicadb_kit.auth import requires
from spicadb_kit.pagination import DEFAULT_LIMIT, LINK_HEADER, CursorParameter, Limit, linked

from .. import scopes as catalogue
from ..keys import SigningKey
from ..models import Account, AuditRow, Client
from ..services.admin import AdminService, NewClient, NewUser
from ..storage.audit import AuditKey
from .problems import problems

# What travels in the auth events has the events' bounds (spicadb_contracts.bounds).
Names = Annotated[list[bounds.Identifier], msgspec.Meta(max_length=bounds.FEW_ITEMS)]


class ClientIn(msgspec.Struct, forbid_unknown_fields=True):
    client_id: bounds.Identifier
    scopes: Names
    grant_types: Annotated[list[bounds.Keyword], msgspec.Meta(max_length=bounds.FEW_ITEMS)] = msgspec.field(
        default_factory=lambda: ["client_credentials"]
    )
    redirect_uris: Annotated[list[bounds.Url], msgspec.Meta(max_length=bounds.REDIRECT_URIS)] = msgspec.field(
        default_factory=list
    )
    name: bounds.Name = ""
    # a public client (a browser or native application) has no secret and must use PKCE
    public: bool = False


class ClientOut(msgspec.Struct):
    client_id: str
    name: str
    public: bool
    scopes: list[str]
    grant_types: list[str]
    redirect_uris: list[str]
    disabled: bool
    created_at: str | None = None
    secret_rotated_at: str | None = None


class NewClientOut(ClientOut):
    # shown once, here: only its digest is kept
    client_secret: str | None = None


class SecretOut(msgspec.Struct):
    client_id: str
    client_secret: str


class UserIn(msgspec.Struct, forbid_unknown_fields=True):
    username: bounds.Identifier
    roles: Names = msgspec.field(default_factory=list)
    # omitted: one is generated and returned once (bounded: it is hashed with argon2 on every sign-in)
    password: Annotated[str, msgspec.Meta(max_length=1024)] | None = None
    name: bounds.Name = ""
    email: bounds.ShortText = ""


class UserOut(msgspec.Struct):
    username: str
    roles: list[str]
    scopes: list[str]
    name: str
    email: str
    origin: str
    disabled: bool
    created_at: str | None = None


class NewUserOut(UserOut):
    # the generated password, shown once (absent when the request chose one)
    password: str | None = None


class RolesIn(msgspec.Struct, forbid_unknown_fields=True):
    roles: Names


class KeyOut(msgspec.Struct):
    kid: str
    alg: str
    state: str
    published_at: str
    signs_from: str | None = None
    activated_at: str | None = None
    retired_at: str | None = None
    drop_after: str | None = None


class RotationOut(msgspec.Struct):
    key: KeyOut
    # False: a next key was already waiting to be promoted; this is it
    created: bool


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def client_out(client: Client) -> ClientOut:
    return ClientOut(
        client_id=client.client_id,
        name=client.name,
        public=client.public,
        scopes=list(client.scopes),
        grant_types=list(client.grant_types),
        redirect_uris=list(client.redirect_uris),
        disabled=client.disabled,
        created_at=_iso(client.created_at),
        secret_rotated_at=_iso(client.secret_rotated_at),
    )


def user_out(account: Account) -> UserOut:
    return UserOut(
        username=account.username,
        roles=list(account.roles),
        scopes=catalogue.ordered(account.scopes),
        name=account.name,
        email=account.email,
        origin=account.origin,
        disabled=account.disabled,
        created_at=_iso(account.created_at),
    )


def key_out(key: SigningKey, signs_from: datetime) -> KeyOut:
    return KeyOut(
        kid=key.kid,
        alg=key.alg,
        state=key.state,
        published_at=key.published_at.isoformat(),
        signs_from=signs_from.isoformat() if key.state == "next" else None,
        activated_at=_iso(key.activated_at),
        retired_at=_iso(key.retired_at),
        drop_after=_iso(key.drop_after),
    )


class AdminController(Controller):
    path = "/admin"
    guards = [requires("admin")]
    tags = ["admin"]

    @get("/scopes", operation_id="listScopes", responses=problems())
    async def scopes(self) -> catalogue.Catalogue:
        """The scope catalogue and what each role grants."""
        return catalogue.catalogue()

    # --- clients ---------------------------------------------------------------------------------

    @get("/clients", operation_id="listClients", responses=problems())
    async def list_clients(self, admin: NamedDependency[AdminService]) -> list[ClientOut]:
        return [client_out(c) for c in await admin.clients()]

    @get("/clients/{client_id:str}", operation_id="getClient", responses=problems(404))
    async def get_client(self, client_id: FromPath[str], admin: NamedDependency[AdminService]) -> ClientOut:
        return client_out(await admin.client(client_id))

    @post("/clients", operation_id="createClient", status_code=201, responses=problems(400, 409, 422))
    async def create_client(
        self,
        data: JSONBody[ClientIn],
        admin: NamedDependency[AdminService],
    ) -> NewClientOut:
        """Register a client; a confidential client's secret is in this response only."""
        new = NewClient(
            client_id=data.client_id,
            scopes=data.scopes,
            grant_types=data.grant_types,
            redirect_uris=data.redirect_uris,
            name=data.name,
            public=data.public,
        )
        client, secret = await admin.create_client(new)
        return NewClientOut(**msgspec.structs.asdict(client_out(client)), client_secret=secret)

    @post(
        "/clients/{client_id:str}/secret",
        operation_id="rotateClientSecret",
        status_code=200,
        responses=problems(404, 409),
    )
    async def rotate_secret(
        self,
        client_id: FromPath[str],
        admin: NamedDependency[AdminService],
    ) -> SecretOut:
        """A new secret, shown once; the old one stops working at once."""
        _, secret = await admin.rotate_client_secret(client_id)
        return SecretOut(client_id=client_id, client_secret=secret)

    @post(
        "/clients/{client_id:str}/disable",
        operation_id="disableClient",
        status_code=200,
        responses=problems(404, 409),
    )
    async def disable_client(
        self,
        client_id: FromPath[str],
        admin: NamedDependency[AdminService],
    ) -> ClientOut:
        """The client can no longer obtain tokens; its refresh and live access tokens are revoked.
        The clients people sign in through (the gateway's, the web frontend's) cannot be disabled
        (409)."""
        return client_out(await admin.disable_client(client_id))

    @post(
        "/clients/{client_id:str}/enable",
        operation_id="enableClient",
        status_code=200,
        responses=problems(404),
    )
    async def enable_client(
        self,
        client_id: FromPath[str],
        admin: NamedDependency[AdminService],
    ) -> ClientOut:
        """A disabled client may obtain tokens again (with its secret as it was; the tokens
        revoked when it was disabled stay revoked). Enabling an enabled client changes nothing."""
        return client_out(await admin.enable_client(client_id))

    # --- accounts ---------------------------------------------------------------------------------

    @get("/users", operation_id="listUsers", responses=problems())
    async def list_users(self, admin: NamedDependency[AdminService]) -> list[UserOut]:
        return [user_out(a) for a in await admin.users()]

    @get("/users/{username:str}", operation_id="getUser", responses=problems(404))
    async def get_user(self, username: FromPath[str], admin: NamedDependency[AdminService]) -> UserOut:
        return user_out(await admin.user(username))

    @post("/users", operation_id="createUser", status_code=201, responses=problems(400, 409, 422))
    async def create_user(
        self,
        data: JSONBody[UserIn],
        admin: NamedDependency[AdminService],
    ) -> NewUserOut:
        """Create a local account; a generated password is in this response only."""
        new = NewUser(
            username=data.username, roles=data.roles, password=data.password, name=data.name, email=data.email
        )
        account, password = await admin.create_user(new)
        return NewUserOut(**msgspec.structs.asdict(user_out(account)), password=password)

    @put("/users/{username:str}/roles", operation_id="setUserRoles", responses=problems(400, 404, 409, 422))
    async def set_roles(
        self,
        username: FromPath[str],
        data: JSONBody[RolesIn],
        admin: NamedDependency[AdminService],
    ) -> UserOut:
        """Replace the account's roles (tokens issued later carry the new scopes); the last active
        admin cannot lose the admin role (409)."""
        return user_out(await admin.set_roles(username, data.roles))

    @post(
        "/users/{username:str}/disable",
        operation_id="disableUser",
        status_code=200,
        responses=problems(404, 409),
    )
    async def disable_user(
        self,
        username: FromPath[str],
        admin: NamedDependency[AdminService],
    ) -> UserOut:
        """The person can no longer sign in; their sessions end and their tokens are revoked.
        Neither one's own account nor the last active admin can be disabled (409)."""
        return user_out(await admin.disable_user(username))

    @post(
        "/users/{username:str}/enable",
        operation_id="enableUser",
        status_code=200,
        responses=problems(404),
    )
    async def enable_user(
        self,
        username: FromPath[str],
        admin: NamedDependency[AdminService],
    ) -> UserOut:
        """A disabled person may sign in again (the sessions ended and the tokens revoked when the
        account was disabled stay so). Enabling an enabled account changes nothing."""
        return user_out(await admin.enable_user(username))

    # --- signing keys -----------------------------------------------------------------------------

    @get("/keys", operation_id="listKeys", responses=problems())
    async def list_keys(self, admin: NamedDependency[AdminService]) -> list[KeyOut]:
        return [key_out(k, admin.signs_from(k)) for k in await admin.keys()]

    @post("/keys/rotate", operation_id="rotateKeys", status_code=202, responses=problems())
    async def rotate_keys(
        self,
        admin: NamedDependency[AdminService],
    ) -> RotationOut:
        """Publish a next key now; it starts signing once every verifier can have seen it
        (``signs_from``), and the current key is then retired: the rotation is accepted, not
        done (202). When a next key is already waiting, that pending rotation is answered
        (``created`` false), also with 202."""
        key, created = await admin.rotate_keys()
        return RotationOut(key=key_out(key, admin.signs_from(key)), created=created)

    # --- audit --------------------------------------------------------------------------------------

    @get("/audit", operation_id="listAudit", responses=problems(400), response_headers=[LINK_HEADER])
    async def audit(
        self,
        request: Request[Any, Any, Any],
        admin: NamedDependency[AdminService],
        limit: Limit = DEFAULT_LIMIT,
        target_type: FromQuery[str | None] = None,
        target_id: FromQuery[str | None] = None,
        cursor: CursorParameter = None,
    ) -> Response[list[AuditRow]]:
        """The most recent changes first, as an array; the next page is in the ``Link`` header."""
        rows = await admin.audit(limit + 1, target_type, target_id, AuditKey.decode(cursor))
        return linked(request, rows, limit, lambda r: AuditKey(r.id))


ROUTES = [AdminController]
