"""The client address of a request, as the sign-in throttling keys on it.

``X-Forwarded-For`` is believed only when the peer on the socket is a configured proxy
(``SPICADB_FORWARDED_ALLOW_IPS``: addresses and networks, comma-separated; the gateway's
addresses in a deployment). Each proxy appends the address it saw, so the client is the
right-most hop that is not itself a trusted proxy: hops a client wrote before reaching the
first proxy are never read (``spicadb_kit.runtime.serve.TrustedProxies``). The app applies the
rule itself, so that it holds however it is served.

Failures are counted under the address without a port, an IPv6 one as its /64: one host
usually holds a whole /64, and would otherwise get a fresh throttling key per address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from spicadb_kit.runtime.serve import TrustedProxies

# a hop that is no address is kept as written, shortened (it only ever comes from a trusted proxy)
MAX_LITERAL = 64


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    host = text.strip()
    if host.startswith("[") and "]" in host:  # [v6]:port
        host = host[1 : host.index("]")]
    elif host.count(":") == 1:  # v4:port
        host = host.split(":", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def client_address(proxies: TrustedProxies, peer: str | None, forwarded_for: Iterable[str]) -> str:
    """The client's address: the peer, or what the trusted proxies in front of it saw (the kit's
    rule, the one every service's server and the gateway apply)."""
    values = list(forwarded_for)
    return proxies.client(peer, ",".join(values).encode("latin-1") if values else None)


def throttling_key(address: str) -> str:
    """What failures are counted under: the address, an IPv6 one as its /64."""
    parsed = _address(address)
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(parsed) if parsed is not None else address[:MAX_LITERAL]
