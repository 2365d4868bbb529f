"""``Server-Timing: app;dur=<ms>`` on every answer: the time from the request's arrival to its answer's
start (the API calls a page waits for included), for browsers' developer tools and the benchmarks."""

from __future__ import annotations

import time

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send


def server_timing(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                spent = (time.perf_counter() - started) * 1000
                headers = [*message.get("headers", ()), (b"server-timing", f"app;dur={spent:.1f}".encode())]
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_timed)

    return middleware
