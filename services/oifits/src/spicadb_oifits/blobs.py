"""Where the bytes live: a small content-addressed store behind an interface, so that a deployment can put
files on an object store without the push or download code knowing.

An upload is written to an *incoming* part while it streams, hashed (sha256 and md5) on the way; only
:meth:`BlobStore.keep` makes it an object, by an atomic rename to its sha256 name. A part that is not kept
(refused, cut off, too large) is deleted when its context ends, so nothing half-stored ever becomes visible.
A filesystem out of room (ENOSPC, or the writer's quota) is :class:`StoreFull`, raised after whatever this
write left half-written is removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Protocol

# hashing and writing happen in a worker thread per buffer of this size, not per network chunk
FLUSH_BYTES = 4 * 1024 * 1024
# reading back for downloads
READ_BYTES = 1024 * 1024


class TooLarge(Exception):
    """The upload grew past the limit."""


class StoreFull(Exception):
    """The filesystem under the store has no room left for these bytes (nothing of them is kept)."""


# what a write answers when the disk (or the writer's quota) is full
FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


@contextlib.contextmanager
def _room() -> Iterator[None]:
    """A full filesystem as :class:`StoreFull`; other errors as they are."""
    try:
        yield
    except OSError as exc:
        if exc.errno in FULL:
            raise StoreFull(f"no space left in the file store: {exc.strerror}") from exc
        raise


class Part:
    """An upload being received: bytes go to a file in the incoming folder, counted and hashed."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._buffer: list[bytes] = []
        self._buffered = 0
        with _room():
            self._file = path.open("wb")

    async def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise TooLarge(f"the file is larger than {self.limit} bytes")
        self._buffer.append(chunk)
        self._buffered += len(chunk)
        if self._buffered >= FLUSH_BYTES:
            await self.flush()

    async def flush(self) -> None:
        if self._buffer:
            data = b"".join(self._buffer)
            self._buffer, self._buffered = [], 0
            # hashlib releases the GIL on large buffers: the event loop keeps serving other requests
            with _room():
                await asyncio.to_thread(self._absorb, data)

    def _absorb(self, data: bytes) -> None:
        self._sha256.update(data)
        self._md5.update(data)
        self._file.write(data)

    async def finish(self) -> None:
        await self.flush()
        with _room():
            await asyncio.to_thread(self._close)

    def _close(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()

    def discard(self) -> None:
        try:
            if not self._file.closed:
                self._file.close()  # flushes what a failed write left buffered: may fail again (full)
        except OSError:
            pass
        finally:
            self.path.unlink(missing_ok=True)


class BlobStore(Protocol):
    """Content-addressed bytes: a key is the sha256 of the content."""

    def receiving(self, limit: int) -> contextlib.AbstractAsyncContextManager[Part]: ...

    async def keep(self, part: Part) -> bool:
        """Make the part the object of its sha256; False when that object was already there."""
        ...

    async def put(self, data: bytes) -> tuple[str, bool]:
        """Store small bytes (plots): (key, created)."""
        ...

    async def remove(self, key: str) -> None: ...

    def size(self, key: str) -> int | None: ...

    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes [start, end) of an object, in chunks."""
        ...

    async def read_all(self, key: str) -> bytes: ...


class LocalBlobStore:
    """Objects under ``root/objects/ab/cd/<sha256>``, incoming parts under ``root/incoming``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.incoming = root / "incoming"

    def open(self, stale_after: float = 24 * 3600.0) -> LocalBlobStore:
        """Create the folders; remove parts a crashed process left behind (older than ``stale_after`` s)."""
        self.objects.mkdir(parents=True, exist_ok=True)
        self.incoming.mkdir(parents=True, exist_ok=True)
        cutoff = time.time() - stale_after
        for left in self.incoming.iterdir():
            with contextlib.suppress(OSError):
                if left.stat().st_mtime < cutoff:
                    left.unlink()
        return self

    def path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"not a sha256 key: {key!r}")
        return self.objects / key[:2] / key[2:4] / key

    @contextlib.asynccontextmanager
    async def receiving(self, limit: int) -> AsyncIterator[Part]:
        part = Part(self.incoming / f"{uuid.uuid4().hex}.part", limit)
        try:
            yield part
        finally:
            part.discard()  # a kept part was renamed away: nothing left to remove

    async def keep(self, part: Part) -> bool:
        with _room():
            return await asyncio.to_thread(self._promote, part.path, part.sha256)

    def _promote(self, source: Path, key: str) -> bool:
        target = self.path(key)
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)  # atomic: the object appears whole or not at all
        return True

    async def put(self, data: bytes) -> tuple[str, bool]:
        key = hashlib.sha256(data).hexdigest()
        with _room():
            return key, await asyncio.to_thread(self._write_small, key, data)

    def _write_small(self, key: str, data: bytes) -> bool:
        target = self.path(key)
        if target.exists():
            return False
        staging = self.incoming / f"{uuid.uuid4().hex}.part"
        try:
            staging.write_bytes(data)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging, target)
        except BaseException:
            staging.unlink(missing_ok=True)  # a write cut short by a full disk leaves no part behind
            raise
        return True

    async def remove(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, True)

    def size(self, key: str) -> int | None:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            return None

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(self.path(key).open, "rb")
        try:
            await asyncio.to_thread(handle.seek, start)
            left = (end - start) if end is not None else None
            while left is None or left > 0:
                want = READ_BYTES if left is None else min(READ_BYTES, left)
                chunk = await asyncio.to_thread(handle.read, want)
                if not chunk:
                    break
                if left is not None:
                    left -= len(chunk)
                yield chunk
        finally:
            handle.close()

    async def read_all(self, key: str) -> bytes:
        return await asyncio.to_thread(self.path(key).read_bytes)

    def free_bytes(self) -> int:
        """What the store's filesystem still takes from this process (its quota and reserve counted)."""
        stats = os.statvfs(self.root)
        return stats.f_bavail * stats.f_frsize

    def listing(self) -> Iterator[str]:
        """Every object key (for operators and tests: what is stored)."""
        for path in self.objects.glob("*/*/*"):
            yield path.name
