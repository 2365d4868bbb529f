"""A catalogue file's rows, converted a batch at a time, handed to the import's COPY while the next batches
are read: by a child process (the parse and the conversion are pure Python: in a thread they share the
interpreter's lock with the COPY's encoding, in a process of their own they take the second core), or by
a thread when a process cannot be started.

The child is forked (it inherits the loaded modules: no second import of astropy), reads and converts,
and puts each batch on a queue of a few batches, so memory stays flat; it is ended by its handle when the
import stops early (a bad row, an error, an interrupt).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import queue as queues
from collections.abc import Iterator
from itertools import islice
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from .columns import BadRow, CatalogueError, RowMapper, map_columns
from .votable import VOTableError, read_votable

__all__ = ["Batch", "Batches", "batches", "read_batches"]

# (values for COPY, bad rows, rows read)
Batch = tuple[list[tuple[Any, ...]], list[BadRow], int]
# batches the child may read ahead of the COPY
_AHEAD = 3
_DONE = "done"
_FAILED = "failed"


def read_batches(
    rows: Iterator[list[str | None]], mapper: RowMapper, tail: tuple[str, int], size: int
) -> Iterator[Batch]:
    """The batches of ``size`` rows of a file's rows, converted (rows numbered from 1)."""
    first = 1
    while True:
        cells = list(islice(rows, size))
        if not cells:
            return
        values, bad = mapper.batch(cells, first, tail)
        first += len(cells)
        yield values, bad, len(cells)


def _produce(path: Path, tail: tuple[str, int], size: int, out: Any) -> None:
    """The child: read, convert, put each batch, then "done" (or "failed" with the message)."""
    try:
        header, rows = read_votable(path)
        for batch in read_batches(rows, map_columns(header), tail, size):
            out.put(batch)
        out.put(_DONE)
    except (VOTableError, CatalogueError, OSError) as exc:
        out.put((_FAILED, str(exc)))
    except BaseException as exc:  # anything else still ends the import with its reason
        out.put((_FAILED, f"{type(exc).__name__}: {exc}"))


class Batches:
    """The batches of one import; ``await next()`` gives each, then None."""

    def __init__(self, path: Path, tail: tuple[str, int], size: int) -> None:
        self._path, self._tail, self._size = path, tail, size
        self._process: BaseProcess | None = None
        self._queue: Any = None
        self._thread_batches: Iterator[Batch] | None = None
        self._pending: asyncio.Future[Any] | None = None

    def start(self) -> None:
        try:
            context = multiprocessing.get_context("fork")
            self._queue = context.Queue(maxsize=_AHEAD)
            self._process = context.Process(
                target=_produce, args=(self._path, self._tail, self._size, self._queue), daemon=True
            )
            self._process.start()
        except (OSError, ValueError):  # no fork here: the same work in a thread
            self._process = None
            header, rows = read_votable(self._path)
            self._thread_batches = read_batches(rows, map_columns(header), self._tail, self._size)

    async def next(self) -> Batch | None:
        if self._process is None:
            return await self._next_from_thread()
        while True:
            try:
                item = await asyncio.to_thread(self._queue.get, True, 1.0)
            except queues.Empty:
                if not self._process.is_alive():
                    raise CatalogueError("the catalogue's reader stopped without a word") from None
                continue
            if item == _DONE:
                return None
            if isinstance(item, tuple) and len(item) == 2 and item[0] == _FAILED:
                raise CatalogueError(item[1])
            return item  # type: ignore[no-any-return]

    async def _next_from_thread(self) -> Batch | None:
        assert self._thread_batches is not None
        if self._pending is None:
            self._pending = asyncio.ensure_future(asyncio.to_thread(next, self._thread_batches, None))
        try:
            batch = await self._pending
        except VOTableError as exc:
            self._pending = None
            raise CatalogueError(str(exc)) from None
        # read the next batch while this one is COPYed
        self._pending = (
            asyncio.ensure_future(asyncio.to_thread(next, self._thread_batches, None)) if batch else None
        )
        return batch  # type: ignore[no-any-return]

    async def close(self) -> None:
        """Stop reading (the child ended by its handle when it has not finished)."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.terminate()
            await asyncio.to_thread(self._process.join, 5.0)
            self._queue.close()
            self._queue.cancel_join_thread()
        elif self._thread_batches is not None:
            if self._pending is not None:  # the thread must let go of the generator before it closes
                with contextlib.suppress(Exception):
                    await self._pending
            self._thread_batches.close()  # type: ignore[attr-defined]


def batches(path: Path, tail: tuple[str, int], size: int) -> Batches:
    """The batches of one import, their reading started."""
    reader = Batches(path, tail, size)
    reader.start()
    return reader
