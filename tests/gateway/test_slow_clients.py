"""Slow and greedy clients, on real sockets, against the gateway served as `spicadb serve` serves every
service (the kit's server_config): a request head must come in time, a body must keep coming, one
address holds a bounded number of connections. Short limits are configured here; the only timing bound
asserted is a generous one."""

from __future__ import annotations

import asyncio
import contextlib

from gateway_stack import Stack
from harness import eventually

from spicadb_kit.runtime.serve import HttpLimits

BOUND = 30.0  # seconds: far above the configured limits, only there so that a failure does not hang


async def closed_while_trickling(port: int, head: bytes, trickle: bytes) -> bytes:
    """Send ``head``, then ``trickle`` a byte at a time every 0.2 s until the server closes the
    connection; returns what the server answered (b"" when it only closed)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answer = b""
    try:
        writer.write(head)
        async with asyncio.timeout(BOUND):
            for n in range(10_000):
                with contextlib.suppress(TimeoutError):
                    data = await asyncio.wait_for(reader.read(65536), 0.2)
                    if not data:
                        return answer
                    answer += data
                try:
                    writer.write(trickle[n % len(trickle) : n % len(trickle) + 1])
                    await writer.drain()
                except (ConnectionResetError, BrokenPipeError):
                    return answer
    except ConnectionResetError:
        return answer
    finally:
        writer.close()
    raise AssertionError("unreachable")


async def test_a_slow_request_head_is_cut_off(stack: Stack) -> None:
    gateway = await stack.start_gateway(limits=HttpLimits(http_header_timeout=1.0))
    answer = await closed_while_trickling(
        gateway.port, b"GET /echo/public HTTP/1.1\r\n", b"X-Slow: aaaaaaaaa"
    )
    assert answer.startswith(b"HTTP/1.1 408"), answer


async def test_a_connection_that_never_sends_a_request_is_closed(stack: Stack) -> None:
    gateway = await stack.start_gateway(limits=HttpLimits(http_header_timeout=1.0))
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    try:
        async with asyncio.timeout(BOUND):
            answer = await reader.read()  # until the server closes
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer


async def test_a_slow_head_after_a_kept_alive_request_is_cut_off(stack: Stack) -> None:
    gateway = await stack.start_gateway(limits=HttpLimits(http_header_timeout=1.0))
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    slow = b"GET /echo/public HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10_000
    answer = b""
    try:
        writer.write(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        length = next(
            int(line[15:]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
        await reader.readexactly(length)
        async with asyncio.timeout(BOUND):
            for byte in slow:  # the next request, a byte every 0.2 s
                writer.write(bytes([byte]))
                await writer.drain()
                with contextlib.suppress(TimeoutError):
                    data = await asyncio.wait_for(reader.read(65536), 0.2)
                    if not data:
                        break
                    answer += data
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer


async def test_a_slow_body_is_cut_off_and_releases_the_upstream(stack: Stack) -> None:
    """A push trickling in holds the gateway's upstream connection while it lasts: it must not last."""
    gateway = await stack.start_gateway(
        limits=HttpLimits(http_header_timeout=2.0, http_body_timeout=1.0, http_body_min_rate=1000)
    )
    token = stack.tokens.mint("probe:write")
    head = (
        f"POST /echo/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Length: {10 * 1024 * 1024}\r\n\r\n"
    ).encode()
    cut = len(stack.echo.cut_off)
    answer = await closed_while_trickling(gateway.port, head + b"x" * (2 * 1024 * 1024), b"y")
    assert not answer.startswith(b"HTTP/1.1 2"), answer

    async def upstream_released() -> bool:
        return len(stack.echo.cut_off) > cut  # the upstream saw its client leave

    await eventually(upstream_released, timeout=BOUND)


async def test_connections_per_client_address_are_capped(stack: Stack) -> None:
    gateway = await stack.start_gateway(
        limits=HttpLimits(http_header_timeout=60.0, http_max_connections_per_client=3)
    )
    held = [await asyncio.open_connection("127.0.0.1", gateway.port) for _ in range(3)]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        async with asyncio.timeout(BOUND):
            refused = await reader.read()
        writer.close()
        assert refused.startswith(b"HTTP/1.1 503"), refused
        # one of them leaves: a new one is served
        held.pop()[1].close()

        async def served() -> bool:
            r, w = await asyncio.open_connection("127.0.0.1", gateway.port)
            try:
                w.write(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
                return (await r.readline()).startswith(b"HTTP/1.1 200")
            finally:
                w.close()

        await eventually(served, timeout=BOUND)
    finally:
        for _, w in held:
            w.close()
