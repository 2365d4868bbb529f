"""Request bodies: per-route size limits (413 before the service sees anything) and streaming (a large
upload crosses the gateway without being held in its memory)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psutil
import pytest
from gateway_stack import Stack, role_dsn
from gateway_support import (
    MEDIUM_LIMIT,
    SMALL_LIMIT,
    ServerProcess,
    chunked,
    chunks,
    raw_exchange,
    sha256_of,
)
from harness import eventually
from spicadb_gateway.spec import SPEC as GATEWAY_SPEC

MB = 1024 * 1024


def head(stack: Stack, path: str, framing: str) -> bytes:
    token = stack.tokens.mint("probe:write")
    host = stack.url.removeprefix("http://")
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/octet-stream\r\n{framing}\r\n\r\n"
    ).encode()


def port(stack: Stack) -> int:
    assert stack.gateway is not None
    return stack.gateway.port


async def test_content_length_over_the_limit_is_413_up_front(stack: Stack) -> None:
    seen = len(stack.echo.seen)
    # 10 GB announced, nothing sent: the answer comes from the header alone
    status, headers, payload = await raw_exchange(
        port(stack), head(stack, "/echo/small", f"Content-Length: {10 * 1024**3}")
    )
    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(payload)
    assert problem["limit"] == SMALL_LIMIT
    assert problem["type"].endswith("/body-too-large")
    # a real body just over the limit
    body = b"y" * (SMALL_LIMIT + 1)
    status, _, _ = await raw_exchange(
        port(stack), head(stack, "/echo/small", f"Content-Length: {len(body)}"), iter([body])
    )
    assert status == 413
    assert len(stack.echo.seen) == seen, "the upstream must receive nothing"


async def test_an_oversized_chunked_body_is_413_and_the_upstream_receives_nothing(stack: Stack) -> None:
    seen = len(stack.echo.seen)
    parts = chunks(SMALL_LIMIT * 3, 16 * 1024)
    status, _headers, payload = await raw_exchange(
        port(stack), head(stack, "/echo/small", "Transfer-Encoding: chunked"), chunked(parts)
    )
    assert status == 413, payload
    assert json.loads(payload)["type"].endswith("/body-too-large")
    assert len(stack.echo.seen) == seen


async def test_a_chunked_body_under_the_limit_passes_with_a_length(stack: Stack) -> None:
    async def body() -> AsyncIterator[bytes]:
        for part in chunks(SMALL_LIMIT - 10, 4096):
            yield part

    async with stack.client() as client:
        response = await client.post("/echo/small", content=body(), headers=stack.bearer("probe:write"))
    assert response.status_code == 200, response.text
    received = response.json()
    assert received["size"] == SMALL_LIMIT - 10
    assert received["sha256"] == sha256_of(SMALL_LIMIT - 10, 4096)
    names = {name for name, _ in received["headers"]}
    assert "transfer-encoding" not in names  # held whole (it was small): sent with its length


async def test_a_body_growing_past_the_limit_mid_stream_is_cut_off(stack: Stack) -> None:
    # past the 1 MiB the gateway holds, the body is already flowing to the service when it crosses
    # the limit: the gateway aborts the upstream request (the service never gets a complete body)
    status, _, payload = await raw_exchange(
        port(stack),
        head(stack, "/echo/medium", "Transfer-Encoding: chunked"),
        chunked(chunks(3 * MEDIUM_LIMIT, 64 * 1024)),
    )
    assert status == 413, payload

    # the upstream saw the request begin, then lose its client before the body was whole
    async def cut_off() -> bool:
        return "/echo/medium" in stack.echo.cut_off

    await eventually(cut_off, timeout=10)
    assert not [r for r in stack.echo.received if r["path"] == "/echo/medium"]


@pytest.fixture
async def gateway_process(stack: Stack, tmp_path: Path) -> AsyncIterator[ServerProcess]:
    """The gateway as a process of its own, so its memory can be watched."""
    settings = stack.settings()
    process = ServerProcess(
        "spicadb_gateway.app:create_app",
        {
            "SPICADB_ENVIRONMENT": "test",
            "SPICADB_DATABASE_URL": role_dsn(stack.admin_dsn, GATEWAY_SPEC.role),
            "SPICADB_NATS_URL": stack.nats_url,
            "SPICADB_TOKEN_ISSUER": stack.tokens.issuer,
            "SPICADB_TOKEN_AUDIENCE": stack.tokens.audience,
            "SPICADB_JWKS_URL": settings.jwks_url,
            "SPICADB_UPSTREAMS": settings.upstreams,
            "SPICADB_SERVICES": "gateway_support:ROUTED_PROBE,gateway_support:ECHO_SPEC",
        },
        tmp_path / "gateway.log",
    ).start()
    await asyncio.to_thread(process.wait_ready)
    yield process
    process.stop()


async def test_a_50_mb_upload_streams_through_without_being_held(
    stack: Stack, gateway_process: ServerProcess
) -> None:
    total = 50 * MB
    memory = psutil.Process(gateway_process.pid)
    headers = {**stack.bearer("probe:write"), "Content-Type": "application/octet-stream"}

    async def body(size: int) -> AsyncIterator[bytes]:
        for part in chunks(size):
            yield part

    async with httpx.AsyncClient(base_url=gateway_process.url, timeout=60) as client:
        warm = await client.post("/echo/upload", content=body(4 * MB), headers=headers)  # code paths loaded
        assert warm.status_code == 200
        baseline = peak = memory.memory_info().rss
        done = asyncio.Event()

        async def watch() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, memory.memory_info().rss)
                await asyncio.sleep(0.005)

        watcher = asyncio.create_task(watch())
        response = await client.post("/echo/upload", content=body(total), headers=headers)
        done.set()
        await watcher
    assert response.status_code == 200, response.text
    received = response.json()
    assert received["size"] == total
    assert received["sha256"] == sha256_of(total)
    growth = (peak - baseline) / MB
    assert growth < 16, f"the gateway grew by {growth:.1f} MB while passing a 50 MB body"


async def test_a_push_over_the_services_own_limit_is_413_from_its_content_length(stack: Stack) -> None:
    """The gateway's limit of a route is its service's: an oifits push announcing 3 GB (the service takes
    2 GiB) is refused from the header, before any of the body is read, not after 3 GB arrived."""
    from spicadb_oifits.config import OifitsSettings
    from spicadb_oifits.spec import SPEC as OIFITS_SPEC

    gateway = await stack.start_gateway(specs=[OIFITS_SPEC], upstreams=f"oifits={stack.echo_server.url}")
    seen = len(stack.echo.seen)
    token = stack.tokens.mint("oifits:push")
    announced = 3 * 10**9
    status, _, payload = await asyncio.wait_for(
        raw_exchange(
            gateway.port,
            f"POST /oifits/files?filename=a.fits HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Length: {announced}\r\n\r\n".encode(),
            iter([b"SIMPLE  =                    T" * 100]),
        ),
        timeout=60,
    )
    assert status == 413, payload
    assert json.loads(payload)["limit"] == OifitsSettings().max_file_bytes
    assert len(stack.echo.seen) == seen
