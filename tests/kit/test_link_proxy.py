"""The link proxy of the fault suite (spicadb_kit.testing.proxy) against an echo server on loopback: a
clean link passes every byte both ways; latency, a thin link and stalls hold bytes back (checked from
below only: a busy machine can make bytes later, never earlier); resets are decided by the seed; a cut
refuses connections until the link is restored, a partition holds every byte silently until then."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator

import pytest

from spicadb_kit.testing.proxy import LinkConditions, LinkProxy, through

pytestmark = pytest.mark.timeout(60)


@contextlib.asynccontextmanager
async def echo_server() -> AsyncIterator[tuple[int, list[bytes]]]:
    """An upstream that sends back what it reads, and records it."""
    seen: list[bytes] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                seen.append(data)
                writer.write(data)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], seen
    finally:
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def linked(seed: int = 0) -> AsyncIterator[tuple[LinkProxy, list[bytes]]]:
    async with echo_server() as (port, seen), LinkProxy("127.0.0.1", port, seed=seed) as proxy:
        yield proxy, seen


async def connect(proxy: LinkProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", proxy.port)


async def round_trip(proxy: LinkProxy, data: bytes) -> bytes:
    """Send ``data``, half-close, and read everything that comes back (b"" when the link drops it)."""
    reader, writer = await connect(proxy)
    try:
        writer.write(data)
        await writer.drain()
        writer.write_eof()
        return await reader.read()
    except ConnectionError:
        return b""
    finally:
        writer.close()


async def arrives_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        await asyncio.wait_for(reader.readexactly(1), seconds)
    except TimeoutError:
        return False
    return True


async def test_a_clean_link_passes_every_byte_both_ways_and_the_half_close() -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    async with linked() as (proxy, seen):
        assert await round_trip(proxy, data) == data
        assert b"".join(seen) == data
        assert proxy.stats.forwarded == 2 * len(data)
        assert proxy.stats.resets == 0


async def test_latency_holds_every_chunk_back_and_applies_to_open_connections() -> None:
    async with linked() as (proxy, _):
        reader, writer = await connect(proxy)
        writer.write(b"a")
        assert await reader.readexactly(1) == b"a"  # clean so far
        proxy.degrade(latency=0.4)  # the open connection feels it too
        writer.write(b"b")
        assert not await arrives_within(reader, 0.3)  # 0.8 s there and back
        assert await reader.readexactly(1) == b"b"
        proxy.heal()
        writer.write(b"c")
        assert await reader.readexactly(1) == b"c"
        writer.close()


async def test_a_thin_link_takes_at_least_the_time_its_bandwidth_allows() -> None:
    data = os.urandom(256 * 1024)
    async with linked() as (proxy, _):
        proxy.degrade(bandwidth=512 * 1024)  # 0.5 s to send it at least
        began = time.monotonic()
        assert await round_trip(proxy, data) == data
        assert time.monotonic() - began >= 0.45  # the echo overlaps the two directions


async def test_stalls_hold_a_direction_then_let_the_bytes_through_whole() -> None:
    async with linked() as (proxy, _):
        proxy.degrade(stall_rate=1.0, stall_seconds=0.5)
        reader, writer = await connect(proxy)
        writer.write(b"x")
        assert not await arrives_within(reader, 0.4)
        assert await reader.readexactly(1) == b"x"  # late, not lost
        assert proxy.stats.stalls >= 2
        writer.close()


async def test_a_reset_closes_both_ends_and_nothing_in_flight_passes() -> None:
    async with linked() as (proxy, seen):
        proxy.degrade(reset_rate=1.0)
        assert await round_trip(proxy, b"lost") == b""
        assert seen == []
        assert proxy.stats.resets == 1
        await asyncio.sleep(0.1)
        assert proxy.open_connections == 0


async def test_the_seed_decides_which_connections_are_reset() -> None:
    async def survivors(seed: int) -> list[bool]:
        async with linked(seed) as (proxy, _):
            proxy.degrade(reset_rate=0.3)
            return [await round_trip(proxy, b"%d" % i) == b"%d" % i for i in range(30)]

    first = await survivors(7)
    assert first == await survivors(7)
    assert any(first)
    assert not all(first)
    assert first != await survivors(8)


async def test_a_cut_resets_open_connections_refuses_new_ones_until_restored() -> None:
    async with linked() as (proxy, _):
        reader, writer = await connect(proxy)
        writer.write(b"a")
        assert await reader.readexactly(1) == b"a"
        proxy.cut()
        with contextlib.suppress(ConnectionError):
            assert await reader.read() == b""  # the open connection is gone
        assert await round_trip(proxy, b"b") == b""  # a new one is closed at once
        assert proxy.stats.refused == 1
        proxy.restore()
        assert await round_trip(proxy, b"c") == b"c"
        writer.close()


async def test_a_partition_holds_every_byte_silently_and_restore_lets_them_go_on() -> None:
    async with linked() as (proxy, seen):
        reader, writer = await connect(proxy)
        writer.write(b"a")
        assert await reader.readexactly(1) == b"a"
        proxy.partition()
        writer.write(b"b")
        late = asyncio.create_task(round_trip(proxy, b"new"))  # a connection opened meanwhile
        assert not await arrives_within(reader, 0.3)  # no answer, no close: a silent partition
        assert not late.done()
        assert seen == [b"a"]
        proxy.restore()
        assert await reader.readexactly(1) == b"b"  # late, not lost: TCP retransmits
        assert await late == b"new"
        assert proxy.stats.resets == 0
        writer.close()


async def test_an_upstream_that_is_down_closes_the_connection() -> None:
    async with echo_server() as (port, _):
        pass  # a port nobody listens on any more
    async with LinkProxy("127.0.0.1", port) as proxy:
        assert await round_trip(proxy, b"a") == b""
        assert proxy.stats.upstream_failures == 1


async def test_stop_ends_every_connection() -> None:
    async with echo_server() as (port, _):
        proxy = await LinkProxy("127.0.0.1", port).start()
        proxy.degrade(latency=5.0)
        reader, writer = await connect(proxy)
        writer.write(b"a")
        while not proxy.open_connections:  # noqa: ASYNC110 (accepted by the proxy's own task)
            await asyncio.sleep(0.01)
        await proxy.stop()
        with contextlib.suppress(ConnectionError):
            assert await reader.read() == b""
        writer.close()


def test_urls_through_the_proxy_keep_user_path_and_query() -> None:
    dsn = "postgresql://spicadb_oifits@127.0.0.1:5432/t_1?sslmode=disable"
    assert through(dsn, 40123) == "postgresql://spicadb_oifits@127.0.0.1:40123/t_1?sslmode=disable"
    assert through("nats://127.0.0.1:4222", 40123) == "nats://127.0.0.1:40123"


@pytest.mark.parametrize(
    "bad",
    [
        {"latency": -1.0},
        {"bandwidth": 0.0},
        {"stall_rate": 1.5},
        {"reset_rate": -0.1},
        {"stall_seconds": -1.0},
    ],
)
def test_conditions_out_of_range_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="0"):
        LinkConditions(**bad)
