"""First start: an admin account, the robot clients, the frontend's and the gateway's public clients, with
their credentials written to ``<SPICADB_DATA>/credentials.json`` (mode 0600) in the shape of the
runtime contract. Runs only while no client exists (an advisory lock keeps two replicas from
both doing it); a second start changes nothing and leaves the file alone.

The file is written before the transaction commits (under a temporary name, 0600 from its
creation) and renamed after: a crash in between leaves either no account or a readable file,
never accounts whose secrets are lost.

With ``SPICADB_BOOTSTRAP_SECRETS`` (a deployment's Kubernetes Secret, mounted) the admin's password and
the robots' secrets are the operator's (supplied.py), and nothing is written: the operator holds them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import asyncpg

from spicadb_kit.db import transaction
from spicadb_kit.events import Outbox
from spicadb_kit.logs import get_logger

from .. import scopes as catalogue
from ..config import AuthSettings
from ..passwords import Passwords, new_password
from ..storage import AccountStore, ClientStore
from .admin import BOOTSTRAP, FRONTEND_CLIENT_ID, GATEWAY_CLIENT_ID, Changes, NewClient, NewUser
from .supplied import SuppliedSecrets, load_supplied

log = get_logger(__name__)

# robot clients (client_credentials): key in credentials.json -> scopes, as the runtime contract has them
ROBOTS: dict[str, str] = {
    "drs": "oifits:push oifits:read",
    "chara-ingest": "nightlogs:write nightlogs:read",
    "scheduler": "schedule:write nightlogs:read programmes:read",
}
FRONTEND_SCOPE = " ".join([*catalogue.OIDC_SCOPES, *catalogue.SPICADB_SCOPES])


def credentials_path(data: str) -> Path:
    return Path(data) / "credentials.json"


def _write_private(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(document, out, indent=2)
        out.write("\n")


async def _create_first(
    conn: asyncpg.Connection,
    outbox: Outbox,
    passwords: Passwords,
    settings: AuthSettings,
    supplied: SuppliedSecrets | None,
) -> dict[str, Any] | None:
    """In the caller's transaction, under the bootstrap lock: the first accounts and clients, with the
    supplied secrets or new ones; their credentials document, or None when a client exists already."""
    client_store = ClientStore(conn)
    await client_store.lock_bootstrap()
    if await client_store.count() > 0:
        return None
    changes = Changes(conn, outbox, BOOTSTRAP)
    users: dict[str, Any] = {}
    if await AccountStore(conn).exists("admin"):
        log.warning("bootstrap: an admin account exists already; its password is unchanged")
    else:
        password = supplied.admin_password if supplied else new_password()
        await changes.create_user(
            NewUser("admin", ["admin"], name="SPICA-DB administrator"),
            await passwords.hash(password),
        )
        users["admin"] = {"username": "admin", "password": password, "roles": ["admin"]}
    clients: dict[str, Any] = {}
    for client_id, scope in ROBOTS.items():
        _, secret = await changes.create_client(
            NewClient(
                client_id=client_id,
                scopes=scope.split(),
                grant_types=["client_credentials"],
                name=client_id,
            ),
            secret=supplied.client_secrets[client_id] if supplied else None,
        )
        clients[client_id] = {"client_id": client_id, "client_secret": secret, "scope": scope}
    browsers = (
        ("frontend", FRONTEND_CLIENT_ID, settings.frontend_redirect_uri, "SPICA-DB web frontend"),
        ("gateway", GATEWAY_CLIENT_ID, settings.gateway_callback, "SPICA-DB gateway (browser sessions)"),
    )
    for key, client_id, redirect_uri, name in browsers:  # public clients: code + PKCE, no secret
        await changes.create_client(
            NewClient(
                client_id=client_id,
                scopes=FRONTEND_SCOPE.split(),
                grant_types=["authorization_code", "refresh_token"],
                redirect_uris=[redirect_uri],
                name=name,
                public=True,
            )
        )
        clients[key] = {"client_id": client_id, "redirect_uri": redirect_uri, "scope": FRONTEND_SCOPE}
    return {"issuer": settings.issuer, "users": users, "clients": clients}


async def _bootstrap_supplied(
    pool: asyncpg.Pool, outbox: Outbox, passwords: Passwords, settings: AuthSettings
) -> None:
    """The first accounts with the operator's secrets; nothing written to disk. The folder is checked
    on every start, so a broken Secret shows at once rather than on the first start of a new database."""
    supplied = load_supplied(settings.bootstrap_secrets, ROBOTS)
    async with transaction(pool) as conn:
        created = await _create_first(conn, outbox, passwords, settings, supplied)
    if created is not None:
        log.info(
            "first start: accounts and clients created with the supplied secrets",
            source=supplied.source,
            users=sorted(created["users"]),
            clients=sorted(created["clients"]),
        )


async def bootstrap(
    pool: asyncpg.Pool, outbox: Outbox, passwords: Passwords, settings: AuthSettings
) -> Path | None:
    """Create the first accounts and clients; the path of the credentials file, or None when
    there was nothing to do or the secrets were supplied (SPICADB_BOOTSTRAP_SECRETS)."""
    if not settings.bootstrap:
        return None
    if settings.bootstrap_secrets:
        await _bootstrap_supplied(pool, outbox, passwords, settings)
        return None
    final = credentials_path(settings.data).absolute()
    pending = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    try:
        async with transaction(pool) as conn:
            document = await _create_first(conn, outbox, passwords, settings, None)
            if document is None:
                return None
            _write_private(pending, document)
    except BaseException:
        pending.unlink(missing_ok=True)
        raise
    # committed: the secrets in the file are the ones in the database
    os.replace(pending, final)
    log.info(
        "first start: credentials written (mode 0600)",
        path=str(final),
        get_a_token=(
            f'curl -s -u "drs:$(jq -r .clients.drs.client_secret {final})"'
            f" -d grant_type=client_credentials {settings.url('/oauth/token')}"
        ),
    )
    return final
