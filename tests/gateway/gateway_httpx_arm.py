"""The gateway with httpx in place of its own upstream client: the benchmark's baseline arm
(tests/bench/gateway.py), so that the claim that the hand-made client is cheaper stays measured.

Everything else is the real gateway (policy, token check, rate limit, body framing, forwarding): only
the client handed to its forwarder differs.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import httpx
from litestar import Litestar
from spicadb_gateway.app import create_app as create_gateway
from spicadb_gateway.config import GatewaySettings
from spicadb_gateway.policy import Upstream
from spicadb_gateway.upstream import UpstreamTimeout, UpstreamUnreachable


class HttpxResponse:
    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.headers = [(name.lower(), value) for name, value in response.headers.raw]

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_raw():
                yield chunk
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(str(exc)) from None
        except httpx.TransportError as exc:
            raise UpstreamUnreachable(str(exc)) from None

    async def aclose(self) -> None:
        await self._response.aclose()


class HttpxUpstreamClient:
    """What the forwarder needs of ``UpstreamClient``, on one ``httpx.AsyncClient``."""

    def __init__(self, settings: GatewaySettings) -> None:
        size = settings.upstream_pool_size
        self.client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
            timeout=httpx.Timeout(settings.upstream_timeout, connect=settings.upstream_connect_timeout),
        )
        for name in ("accept", "accept-encoding", "user-agent"):  # httpx's defaults: the caller's only
            del self.client.headers[name]

    async def send(
        self,
        upstream: Upstream,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | AsyncIterable[bytes],
        chunked: bool = False,
    ) -> HttpxResponse:
        # the headers carry the framing (Content-Length or Transfer-Encoding): httpx adds none of its own
        url = (
            f"{upstream.scheme.decode()}://{upstream.host.decode()}:{upstream.port}{target.decode('latin-1')}"
        )
        request = self.client.build_request(method.decode(), url, headers=headers, content=body)
        try:
            return HttpxResponse(await self.client.send(request, stream=True))
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(str(exc)) from None
        except httpx.TransportError as exc:
            raise UpstreamUnreachable(str(exc)) from None

    async def aclose(self) -> None:
        await self.client.aclose()


def create_app() -> Litestar:
    settings = GatewaySettings.from_env()
    app = create_gateway(settings)
    gateway = app.state.gateway
    forwarder = gateway.forwarder
    client = HttpxUpstreamClient(settings)

    async def forward(_: Any, *args: Any) -> None:
        await forwarder(client, *args)

    gateway.forwarder = forward
    return app
