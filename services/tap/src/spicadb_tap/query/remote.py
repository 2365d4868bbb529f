"""UPLOAD by URL (``name,http(s)://...``, TAPRegExt #upload-http and #upload-https): the service
fetches the VOTable itself, so the fetch is bounded and guarded against reaching inside the platform.

- Bounds: the whole fetch (resolution, redirects, body) within ``upload_fetch_timeout``; the body read
  as a stream and cut past ``upload_max_bytes``; at most :data:`MAX_REDIRECTS` redirects, http and
  https only, each hop checked like the first.
- Guard (SSRF): every address the host resolves to must be public (not loopback, private, link-local,
  multicast, reserved, unspecified, shared 100.64/10, nor an IPv6 form embedding one of those), unless
  the host or the address is in ``upload_allow_hosts``. The check happens where httpcore opens the TCP
  connection, and the connection goes to the address checked (never a second resolution a DNS answer
  could change in between); TLS still verifies the certificate against the URL's host name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from .uploads import UploadError

__all__ = ["MAX_REDIRECTS", "UrlPolicy", "fetch_upload", "is_url", "parse_allow_hosts"]

MAX_REDIRECTS = 3
SCHEMES = ("http", "https")
_REDIRECTS = {301, 302, 303, 307, 308}
# IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64 well-known prefix)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# not public although Python 3.11's is_global lets them pass: shared (CGNAT), IETF protocol assignments
_NOT_PUBLIC = (ipaddress.ip_network("100.64.0.0/10"), ipaddress.ip_network("192.0.0.0/24"))

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class UrlPolicy:
    """How an upload URL may be fetched (from the settings)."""

    timeout: float
    max_bytes: int
    hosts: frozenset[str] = frozenset()  # host names allowed whatever they resolve to (lower case)
    networks: tuple[Network, ...] = ()  # addresses allowed although not public


def parse_allow_hosts(value: str) -> tuple[frozenset[str], tuple[Network, ...]]:
    """``upload_allow_hosts``: comma-separated host names, addresses or CIDRs."""
    hosts: set[str] = set()
    networks: list[Network] = []
    for entry in (e.strip() for e in value.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            hosts.add(entry.lower().rstrip("."))
    return frozenset(hosts), tuple(networks)


def is_url(source: str) -> bool:
    return source.partition(":")[0].lower() in SCHEMES


def _embedded(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, compatible, 6to4, NAT64), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if int(address) >> 32 == 0 or address in _NAT64:  # ::a.b.c.d (compatible) or 64:ff9b::a.b.c.d
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: Address) -> bool:
    """Whether an address is on the public Internet (``is_global`` misses multicast in Python 3.11)."""
    embedded = _embedded(address)
    if embedded is not None and not is_public(embedded):
        return False
    return (
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not address.is_loopback
        and not address.is_link_local
        and not address.is_private
        and not address.is_unspecified
        and not any(address in network for network in _NOT_PUBLIC)
    )


class _Refused(Exception):
    """A host the guard refuses (raised inside httpcore, carried out unchanged by httpx)."""


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the guard: resolve once, check every address, connect to one."""

    def __init__(self, policy: UrlPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def _address(self, host: str, port: int) -> str:
        name = host.lower().rstrip(".")
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except OSError:
            raise _Refused(f"{host}: the name could not be resolved") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos]
        if not addresses:
            raise _Refused(f"{host}: the name could not be resolved")
        if name not in self._policy.hosts:
            for address in addresses:
                if not is_public(address) and not any(address in n for n in self._policy.networks):
                    raise _Refused(f"{host}: not a public address ({address})")
        return str(addresses[0])

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = await self._address(host, port)
        return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise _Refused("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over the guarded backend (httpx takes no backend of its own: its pool is
    replaced by one built the same way, with TLS verified against the URL's host)."""

    def __init__(self, policy: UrlPolicy) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(),
            max_connections=1,
            network_backend=_GuardedBackend(policy),
        )


async def fetch_upload(name: str, url: str, policy: UrlPolicy) -> bytes:
    """The body at ``url`` (redirects followed and checked), or :class:`UploadError` naming the upload
    and the host."""
    host = httpx.URL(url).host if _valid(url) else url
    try:
        async with asyncio.timeout(policy.timeout):
            return await _fetch(name, url, policy)
    except TimeoutError:
        raise UploadError(f"UPLOAD {name}: {host} did not answer within {policy.timeout:g} s") from None


def _valid(url: str) -> bool:
    try:
        return bool(httpx.URL(url).host)
    except httpx.InvalidURL:
        return False


def _checked(name: str, url: httpx.URL | str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise UploadError(f"UPLOAD {name}: {str(url)[:200]!r} is not a URL") from None
    if parsed.scheme not in SCHEMES or not parsed.host:
        raise UploadError(f"UPLOAD {name}: only http and https URLs are fetched ({str(url)[:200]!r})")
    return parsed


async def _fetch(name: str, url: str, policy: UrlPolicy) -> bytes:
    current = _checked(name, url)
    timeout = httpx.Timeout(policy.timeout)
    async with httpx.AsyncClient(
        transport=_GuardedTransport(policy), timeout=timeout, follow_redirects=False, trust_env=False
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            try:
                async with client.stream("GET", current) as response:
                    if response.status_code in _REDIRECTS and "location" in response.headers:
                        current = _checked(name, current.join(response.headers["location"]))
                        continue
                    if response.status_code != 200:
                        raise UploadError(f"UPLOAD {name}: {current.host} answered {response.status_code}")
                    return await _body(name, current.host, response, policy.max_bytes)
            except _Refused as exc:
                raise UploadError(f"UPLOAD {name}: refused to fetch from {exc}") from None
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
                raise UploadError(f"UPLOAD {name}: fetching from {current.host} failed ({reason})") from None
    raise UploadError(f"UPLOAD {name}: more than {MAX_REDIRECTS} redirects (last: {current.host})")


async def _body(name: str, host: str, response: httpx.Response, max_bytes: int) -> bytes:
    """The body, cut as soon as it passes ``max_bytes`` (a declared Content-Length too large: at once)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise UploadError(f"UPLOAD {name}: larger than {max_bytes} bytes (from {host})")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise UploadError(f"UPLOAD {name}: larger than {max_bytes} bytes (from {host})")
        chunks.append(chunk)
    return b"".join(chunks)
