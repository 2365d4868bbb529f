"""JetStream's own stream snapshot and restore, driven from nats-py (which has no API for them).

A snapshot (``$JS.API.STREAM.SNAPSHOT.<stream>``) is the server's archive of the stream's messages *and*
its consumers with their delivery and acknowledgement state, so a restored durable resumes where it
stood, and the stream keeps its sequences (the relay's outbox rows name them).

The protocol, as the server speaks it (nats-server's ``jsStreamSnapshotRequest``/``streamSnapshot`` and
``jsStreamRestoreRequest``/``processStreamRestore``):

- snapshot: subscribe to an inbox, then ask with ``{"deliver_subject": inbox, "chunk_size": n}``; the
  answer holds the stream's config and state. The archive then arrives in chunks on the inbox; each chunk
  but the last carries a reply subject the client answers (empty) to open the server's flow-control
  window; an empty message ends it: status 204 (or none) when whole, 408/500 with the reason otherwise.
- restore: ask ``$JS.API.STREAM.RESTORE.<stream>`` with ``{"config", "state"}``; the answer names a
  ``deliver_subject`` to which every chunk is sent as a request (the server answers each, empty when
  taken, a JSON error when not); an empty request ends it and is answered with the stream's info or
  the error. The server gives up when no chunk comes for 5 s.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from nats.aio.client import Client

__all__ = ["CHUNK_BYTES", "SnapshotError", "restore_stream", "snapshot_stream"]

# the server's own default chunk; well under every max_payload
CHUNK_BYTES = 128 * 1024
API_TIMEOUT = 10.0
# the server waits up to 5 s for our flow-control answers; we wait as long for its next chunk
CHUNK_TIMEOUT = 10.0
# restoring the archive once it is all sent (the server reads it back into a stream)
FINISH_TIMEOUT = 120.0
STATUS = "Status"
DESCRIPTION = "Description"


class SnapshotError(RuntimeError):
    """JetStream refused a snapshot or a restore, or the transfer broke off."""


def _answer(data: bytes, what: str) -> dict[str, Any]:
    try:
        body: dict[str, Any] = json.loads(data)
    except ValueError as exc:
        raise SnapshotError(f"{what}: not a JetStream answer: {data[:200]!r}") from exc
    if error := body.get("error"):
        raise SnapshotError(f"{what}: {error.get('description', error)} (code {error.get('err_code')})")
    return body


async def snapshot_stream(nc: Client, stream: str, target: Path) -> tuple[dict[str, Any], str, int]:
    """Write the stream's snapshot (messages and consumers) to ``target``; returns the server's answer
    (the stream's ``config`` and ``state`` when the snapshot began), the archive's sha256 and size."""
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    digest = hashlib.sha256()
    size = 0
    try:
        request = {"deliver_subject": inbox, "no_consumers": False, "chunk_size": CHUNK_BYTES}
        reply = await nc.request(
            f"$JS.API.STREAM.SNAPSHOT.{stream}", json.dumps(request).encode(), timeout=API_TIMEOUT
        )
        answer = _answer(reply.data, f"snapshot of {stream}")
        with target.open("wb") as out:
            while True:
                try:
                    msg = await sub.next_msg(timeout=CHUNK_TIMEOUT)
                except TimeoutError as exc:
                    raise SnapshotError(f"snapshot of {stream}: no chunk for {CHUNK_TIMEOUT:g} s") from exc
                if not msg.data:  # the end marker
                    status = (msg.headers or {}).get(STATUS)
                    if status not in (None, "204"):
                        reason = (msg.headers or {}).get(DESCRIPTION, "")
                        raise SnapshotError(f"snapshot of {stream} broke off: {status} {reason}".strip())
                    break
                out.write(msg.data)
                digest.update(msg.data)
                size += len(msg.data)
                if msg.reply:  # flow control: the server sends more once we took this one
                    await nc.publish(msg.reply, b"")
    finally:
        await sub.unsubscribe()
    return answer, digest.hexdigest(), size


async def restore_stream(
    nc: Client, config: dict[str, Any], state: dict[str, Any], source: Path, *, replicas: int = 1
) -> dict[str, Any]:
    """Create the stream from its snapshot (it must not exist), with ``replicas`` copies; returns its
    info as the server restored it (config and state)."""
    name = config["name"]
    request = {"config": {**config, "num_replicas": replicas}, "state": state}
    reply = await nc.request(
        f"$JS.API.STREAM.RESTORE.{name}", json.dumps(request).encode(), timeout=API_TIMEOUT
    )
    deliver = _answer(reply.data, f"restore of {name}")["deliver_subject"]
    with source.open("rb") as archive:
        while chunk := archive.read(CHUNK_BYTES):
            taken = await nc.request(deliver, chunk, timeout=CHUNK_TIMEOUT)
            if taken.data:  # an empty answer takes the chunk; anything else says why not
                _answer(taken.data, f"restore of {name}")
                raise SnapshotError(f"restore of {name}: the server refused a chunk: {taken.data[:200]!r}")
    done = await nc.request(deliver, b"", timeout=FINISH_TIMEOUT)
    return _answer(done.data, f"restore of {name}")
