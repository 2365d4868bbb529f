"""Helpers for the few requests that handle a whole list at once (a 100,000-target list, a
10,000-line night log)."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["collector_paused"]

_paused = 0
_lock = threading.Lock()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a big list is read and written.

    Such a request makes about a million small objects, none in a reference cycle; as they pile up the
    collector walks them again and again (20-40 % of the request). Reference counting still frees them;
    the collector sees what is left once, afterwards. Re-entrant and thread-safe: on again when the
    last pause ends, and only if it was on before the first (whoever turned it off keeps it off)."""
    global _paused
    with _lock:
        ours = _paused > 0 or gc.isenabled()
        if ours:
            _paused += 1
            gc.disable()
    try:
        yield
    finally:
        if ours:
            with _lock:
                _paused -= 1
                if _paused == 0:
                    gc.enable()
