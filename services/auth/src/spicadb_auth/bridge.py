"""The bridge between authlib's synchronous authorization server and our asynchronous storage.

authlib's ``AuthorizationServer``, its grants and endpoints call their hooks synchronously
(``query_client``, ``query_authorization_code``, ``authenticate_refresh_token``, ``save_token``,
``revoke_token``, ...) in an order that depends on the grant and on the answers of earlier hooks.
We do not hand-roll that logic, so we run it as it is:

1. the OAuth service (services/oauth.py, on the event loop) opens **one database transaction**
   for the OAuth request and acquires its connection *before* anything else;
2. it hands authlib's processing to a **worker thread** (:func:`run_in_transaction`), with the
   request's state in a context variable (the thread receives a copy of the context);
3. a hook that needs the database calls :func:`call` with a coroutine: the coroutine is scheduled
   on the service's event loop with ``asyncio.run_coroutine_threadsafe(...)`` and the thread
   waits for its result; the loop stays free to serve other requests meanwhile;
4. when authlib returns a response (an OAuth error response included) the transaction commits;
   an unexpected exception rolls it back.

Why this rather than loading what authlib needs before handing over: what is needed depends on
authlib's own dispatch (which grant, which client authentication method, whether a refresh
token was already used, whether an authorization code is being replayed), so a preload would
re-implement that dispatch. The bridge keeps authlib in charge and gives us:

- atomicity: reading a refresh token ``FOR UPDATE``, storing its successor and marking it used,
  or revoking its whole family on reuse and writing the ``auth.token.revoked`` events to the
  outbox, commit together; two concurrent refreshes with one token serialise on the row lock;
- no blocking of the loop by CPU work: client secret checks, JWT signing (cryptography) and
  authlib itself run in the thread;
- no deadlock between threads and the pool: the connection is held before the thread starts,
  so a worker thread never waits for a pool slot;
- a connection used from one place at a time: coroutines run on the loop one after another
  (the thread waits for each), never concurrently, never from the thread;
- no use after release: if the HTTP request is cancelled, :func:`run_in_transaction` still
  waits for the thread to finish before the transaction ends, and a closed bridge refuses
  further calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg

from spicadb_kit.db import transaction

T = TypeVar("T")

# how long a worker thread waits for one storage call before giving up
CALL_TIMEOUT_SECONDS = 30.0


@dataclass
class OAuthScope:
    """The state of one OAuth request, seen from authlib's hooks in the worker thread."""

    loop: asyncio.AbstractEventLoop
    conn: asyncpg.Connection
    request_id: str | None = None
    closed: bool = False
    # what the hooks learnt on the way, for the handler (e.g. the revoked token ids)
    notes: dict[str, Any] = field(default_factory=dict)


_CURRENT: contextvars.ContextVar[OAuthScope | None] = contextvars.ContextVar("oauth_scope", default=None)


class BridgeClosed(RuntimeError):
    """A hook ran after its OAuth request ended."""


def current() -> OAuthScope:
    scope = _CURRENT.get()
    if scope is None:
        raise BridgeClosed("authlib hook called outside an OAuth request")
    return scope


def call(work: Callable[[asyncpg.Connection], Coroutine[Any, Any, T]]) -> T:
    """From the worker thread: run ``work(conn)`` on the event loop, inside the request's
    transaction, and wait for its result (its exception is raised here)."""
    scope = current()
    if scope.closed:
        raise BridgeClosed("the OAuth request is over")
    future = asyncio.run_coroutine_threadsafe(work(scope.conn), scope.loop)
    return future.result(timeout=CALL_TIMEOUT_SECONDS)


async def run_in_thread(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a worker thread with a copy of the current context; if the caller is
    cancelled, wait for the thread anyway so that it never outlives what it uses."""
    loop = asyncio.get_running_loop()
    ctx = contextvars.copy_context()
    future: Awaitable[T] = loop.run_in_executor(None, ctx.run, fn, *args)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await future
        raise


async def run_in_transaction(
    pool: asyncpg.Pool, fn: Callable[..., T], *args: Any, request_id: str | None = None
) -> tuple[T, OAuthScope]:
    """Run authlib's ``fn(*args)`` in a worker thread, its storage hooks in one transaction."""
    async with transaction(pool) as conn:
        scope = OAuthScope(loop=asyncio.get_running_loop(), conn=conn, request_id=request_id)
        token = _CURRENT.set(scope)
        try:
            result = await run_in_thread(fn, *args)
        finally:
            scope.closed = True
            _CURRENT.reset(token)
    return result, scope
