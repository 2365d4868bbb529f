"""How a request to an upstream can fail: the two the gateway answers with (502, 504), and the two the
client handles itself."""

from __future__ import annotations


class UpstreamUnreachable(Exception):
    """No connection could be made, the upstream closed it without answering, or its answer was not
    HTTP/1.1 the parser accepts (bad framing, cut short) (502)."""


class UpstreamTimeout(Exception):
    """The upstream did not connect, accept the body or answer in time (504)."""


class Closed(Exception):
    """The connection ended before any byte of the answer (a retry, or UpstreamUnreachable)."""


class Malformed(Exception):
    """The answer broke HTTP/1.1 or ended before its end (becomes UpstreamUnreachable, never a retry)."""
