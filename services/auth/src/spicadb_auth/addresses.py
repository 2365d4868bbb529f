"""The client address of a request, as the sign-in throttling keys on it.

``X-Forwarded-For`` is believed only when the peer on the socket is a configured proxy
(``SPICADB_FORWARDED_ALLOW_IPS``: addresses and networks, comma-separated; the gateway's
addresses in a deployment). Each proxy appends the address it saw, so the client is the
right-most hop that is not itself a trusted proxy: hops a client wrote before reaching the
first proxy are never read. Uvicorn applies the same rule before the app when it serves it; the
app applies it again itself (the result is the same) so that it holds however it is served.

IPv6 clients are keyed by their /64: one host usually holds a whole /64, and would otherwise
get a fresh throttling key per address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from spicadb_kit.settings import SettingsError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"
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


class TrustedProxies:
    def __init__(self, setting: str) -> None:
        entries = [e.strip() for e in setting.split(",") if e.strip()]
        self.any = "*" in entries
        self.networks: list[IPNetwork] = []
        for entry in entries:
            if entry == "*":
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError as exc:
                raise SettingsError(
                    f"SPICADB_FORWARDED_ALLOW_IPS: {entry!r} is no IP address or network"
                ) from exc

    def trusts(self, host: str | None) -> bool:
        if self.any:
            return True
        address = _address(host) if host else None
        return address is not None and any(address in network for network in self.networks)

    def client(self, peer: str | None, forwarded_for: Iterable[str]) -> str:
        """The client's address: the peer, or what the trusted proxies in front of it saw."""
        if not peer:
            return UNKNOWN
        if not self.trusts(peer):
            return peer
        hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()]
        for hop in reversed(hops):
            if not self.trusts(hop):
                address = _address(hop)
                return str(address) if address is not None else hop[:MAX_LITERAL]
        # every hop is a proxy (a request from the proxies' own network)
        first = _address(hops[0]) if hops else None
        return str(first) if first is not None else peer


def throttling_key(address: str) -> str:
    """What failures are counted under: the address, an IPv6 one as its /64."""
    parsed = _address(address)
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(parsed) if parsed is not None else address[:MAX_LITERAL]
