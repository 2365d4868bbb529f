"""A request head longer than the HTTP server reads (a URL of more than 64 KiB, which the HTTP parser
refuses) is answered with a problem document, as every other refusal, on real sockets against the gateway
served as `spicadb serve` serves every service (the kit's server_config); a body after a short head, however
large the read that brings it, is no head."""

from __future__ import annotations

import asyncio
import json

from gateway_stack import Stack

from spicadb_kit.problems import BAD_REQUEST

BOUND = 30.0  # seconds: only there so that a failure does not hang


async def exchange(port: int, request: bytes) -> tuple[bytes, bytes]:
    """Send ``request`` in one write; the answer's head and body (read until the server closes or the
    body's Content-Length is in)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(BOUND):
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            return head, await reader.readexactly(length)
    finally:
        writer.close()


def header(head: bytes, name: bytes) -> bytes:
    return next(
        line.split(b":", 1)[1].strip() for line in head.split(b"\r\n") if line.lower().startswith(name + b":")
    )


async def test_a_request_line_longer_than_the_server_reads_is_a_problem(stack: Stack) -> None:
    long_query = b"q=" + b"a" * 100_000
    head, body = await exchange(
        stack.gateway.port, b"GET /echo/public?" + long_query + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    assert head.startswith(b"HTTP/1.1 400"), head
    assert header(head, b"content-type").startswith(b"application/problem+json"), head
    problem = json.loads(body)
    assert problem["type"] == BAD_REQUEST.uri
    assert problem["status"] == 400
    assert "64 KiB" in problem["detail"]


async def test_a_long_head_after_a_kept_alive_request_is_a_problem(stack: Stack) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", stack.gateway.port)
    try:
        writer.write(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        async with asyncio.timeout(BOUND):
            first = await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(int(header(first, b"content-length")))
            writer.write(b"GET /echo/public?q=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            second = await reader.readuntil(b"\r\n\r\n")
    finally:
        writer.close()
    assert first.startswith(b"HTTP/1.1 200"), first
    assert second.startswith(b"HTTP/1.1 400"), second
    assert header(second, b"content-type").startswith(b"application/problem+json"), second


async def test_a_large_body_in_the_same_read_as_its_head_is_no_head(stack: Stack) -> None:
    body = b"b" * 200_000
    request = (
        b"POST /echo/public HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    head, _ = await exchange(stack.gateway.port, request)
    assert head.startswith(b"HTTP/1.1 200"), head
