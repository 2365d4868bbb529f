"""First-start secrets supplied by the operator instead of generated: a folder with one file per secret
(a Kubernetes Secret mounted as a volume, ``SPICADB_BOOTSTRAP_SECRETS``). With it, the first start
creates the same accounts and clients as always, with these secrets, and writes nothing to disk: every
replica reads the same folder, and the operator's copy is the only one.

Files: ``admin-password`` (the ``admin`` account) and ``<robot>-client-secret`` for each robot client
(``drs-client-secret``, ``chara-ingest-client-secret``, ``scheduler-client-secret``). Surrounding
whitespace (a trailing newline from ``kubectl create secret --from-file``) is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import msgspec

__all__ = [
    "ADMIN_PASSWORD_FILE",
    "MIN_CLIENT_SECRET",
    "MIN_PASSWORD",
    "SuppliedSecrets",
    "SuppliedSecretsError",
    "client_secret_file",
    "load_supplied",
]

ADMIN_PASSWORD_FILE = "admin-password"
# no weaker than what the first start generates (token_urlsafe(18): 24 characters, 32: 43)
MIN_PASSWORD = 16
MIN_CLIENT_SECRET = 32
# a mounted Secret's file is small; anything bigger is not a secret of ours
_MAX_BYTES = 4096


class SuppliedSecretsError(RuntimeError):
    """The folder of supplied secrets is missing a file, or holds one too short to be a secret."""


class SuppliedSecrets(msgspec.Struct, frozen=True):
    """The admin's password and each robot's client secret, as the operator supplied them."""

    source: str
    admin_password: str
    client_secrets: dict[str, str]


def client_secret_file(client_id: str) -> str:
    return f"{client_id}-client-secret"


def _read(folder: Path, name: str, minimum: int) -> str:
    path = folder / name
    try:
        raw = path.read_bytes()[: _MAX_BYTES + 1]
    except FileNotFoundError:
        raise SuppliedSecretsError(f"{path}: missing (SPICADB_BOOTSTRAP_SECRETS names {folder})") from None
    except OSError as exc:
        raise SuppliedSecretsError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        value = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise SuppliedSecretsError(f"{path}: not UTF-8 text") from None
    if len(raw) > _MAX_BYTES or any(c.isspace() for c in value):
        raise SuppliedSecretsError(f"{path}: not a secret (one word of at most {_MAX_BYTES} bytes)")
    if len(value) < minimum:
        raise SuppliedSecretsError(f"{path}: {len(value)} characters, at least {minimum} needed")
    return value


def load_supplied(folder: str | Path, robots: Iterable[str]) -> SuppliedSecrets:
    """The secrets in ``folder``: the admin's password and a client secret per robot, each checked."""
    path = Path(folder)
    if not path.is_dir():
        raise SuppliedSecretsError(f"SPICADB_BOOTSTRAP_SECRETS: {path} is not a folder")
    return SuppliedSecrets(
        source=str(path),
        admin_password=_read(path, ADMIN_PASSWORD_FILE, MIN_PASSWORD),
        client_secrets={r: _read(path, client_secret_file(r), MIN_CLIENT_SECRET) for r in robots},
    )
