"""People's passwords: argon2id through argon2-cffi's ``PasswordHasher`` (its defaults follow
RFC 9106's second recommendation). Hashing and verifying cost tens of milliseconds of CPU, so
they run in a worker thread, never on the event loop."""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        # verified when the account does not exist, so that its absence takes as long to learn
        self._decoy = self.hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await asyncio.to_thread(self._verify, password_hash, password)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return (
                bool(self.hasher.verify(password_hash or self._decoy, password)) and password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return bool(self.hasher.check_needs_rehash(password_hash))


def new_password() -> str:
    return secrets.token_urlsafe(18)
