"""Connections to the upstream services: a lean HTTP/1.1 client made for this proxy.

Why not httpx or httpcore: the proxy already holds the request as bytes headers and an ASGI body stream,
and needs nothing of a general client (URL model, cookies, redirects, auth, HTTP/2). httpcore's pool
also re-examines every pooled connection (a socket poll each) for each request, which at a few dozen
connections costs more than the whole rest of the proxy; the gateway benchmark keeps an httpx arm
(tests/bench/gateway.py) so that this stays measured. This client is an asyncio Protocol per
connection whose answers httptools parses (``connection``), a LIFO stack of idle keep-alive
connections per upstream (``pool``), and the request itself (``client``).

Bodies stream both ways with back-pressure: the request body is written chunk by chunk as it is read
from the ASGI ``receive`` (waiting while the socket's buffer is full), the answer's body is handed out
as it arrives.
"""

from .client import IDEMPOTENT, UpstreamClient, UpstreamResponse
from .connection import HIGH_WATER, MAX_HEAD
from .errors import UpstreamTimeout, UpstreamUnreachable
from .pool import KEEPALIVE_SECONDS

__all__ = [
    "HIGH_WATER",
    "IDEMPOTENT",
    "KEEPALIVE_SECONDS",
    "MAX_HEAD",
    "UpstreamClient",
    "UpstreamResponse",
    "UpstreamTimeout",
    "UpstreamUnreachable",
]
