"""The raw sink of the OIFITS push benchmark (``oifits.py``), run by uvicorn in a process of its own: a
module of its own so that the sink starts without the bench's imports (astropy, the service)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


class Sink:
    """The raw baseline, run by uvicorn in a process of its own: reads a request body and hashes it (sha256
    and md5) as it arrives, nothing else; answers with the size and digests (any path, so health too)."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        sha256, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            sha256.update(chunk)
            md5.update(chunk)
            size += len(chunk)
            if not message.get("more_body", False):
                break
        body = json.dumps({"size": size, "sha256": sha256.hexdigest(), "md5": md5.hexdigest()}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def create_sink() -> Sink:
    return Sink()
