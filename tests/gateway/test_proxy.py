"""Forwarding through the gateway to real upstreams: what reaches the service, what comes back."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from gateway_stack import FRONTEND, Stack
from gateway_support import assert_problem, header_map, raw_exchange
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from spicadb_kit.infra import free_port

SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}


def last(stack: Stack) -> dict[str, Any]:
    return stack.echo.received[-1]


async def test_a_ping_is_recorded_and_read_back_through_the_gateway(stack: Stack) -> None:
    ping = uuid.uuid4().hex
    async with stack.client() as client:
        created = await client.post(
            "/pings", json={"id": ping, "sequence": 7}, headers=stack.bearer("probe:write", "probe:read")
        )
        assert created.status_code == 201, created.text
        read = await client.get(f"/pings/{ping}", headers=stack.bearer("probe:read"))
    assert read.status_code == 200, read.text
    assert read.json()["id"] == ping
    assert read.json()["sequence"] == 7
    assert read.headers["content-type"] == "application/json"


async def test_body_path_and_query_string_reach_the_upstream_intact(stack: Stack) -> None:
    body = bytes(range(256)) * 1000  # binary, 256 kB: streamed, not buffered
    async with stack.client() as client:
        response = await client.put(
            "/echo/a%2Fb/c%20d?x=1&y=a%20b&y=2&empty=&flag",
            content=body,
            headers={**stack.bearer("probe:read"), "Content-Type": "application/octet-stream"},
        )
    assert response.status_code == 200, response.text
    received = response.json()
    assert received["method"] == "PUT"
    assert received["raw_path"] == "/echo/a%2Fb/c%20d"
    assert received["query_string"] == "x=1&y=a%20b&y=2&empty=&flag"
    assert received["size"] == len(body)
    assert received["sha256"] == __import__("hashlib").sha256(body).hexdigest()
    assert header_map(received)["content-type"] == ["application/octet-stream"]


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE", "GET", "HEAD"])
async def test_every_method_is_forwarded(stack: Stack, method: str) -> None:
    async with stack.client() as client:
        response = await client.request(
            method,
            "/echo/methods",
            content=b"{}" if method in ("POST", "PATCH") else None,
            headers=stack.bearer("probe:read"),
        )
    assert response.status_code == 200
    assert last(stack)["method"] == method
    if method == "HEAD":
        assert response.content == b""
        assert int(response.headers["content-length"]) > 0


async def test_upstream_errors_pass_through_unchanged(stack: Stack) -> None:
    async with stack.client() as client:
        teapot = await client.get("/echo/status/418", headers=stack.bearer("probe:read"))
        missing = await client.get("/pings/no-such-ping", headers=stack.bearer("probe:read"))
    assert teapot.status_code == 418
    assert teapot.json() == {"type": "about:blank", "title": "from upstream", "status": 418}
    assert teapot.headers["x-upstream"] == "echo"
    # the probe's own problem document, with the request id the gateway gave it
    body = assert_problem(missing, 404, "not-found")
    assert body["detail"] == "no ping no-such-ping"


async def test_unknown_paths_and_methods_are_problems_from_the_gateway(stack: Stack) -> None:
    async with stack.client() as client:
        unknown = await client.get("/nowhere/at/all", headers=stack.bearer("probe:read"))
        wrong_method = await client.delete("/pings/x", headers=stack.bearer("probe:read", "probe:write"))
    assert_problem(unknown, 404, "not-found")
    body = assert_problem(wrong_method, 405, "method-not-allowed")
    assert wrong_method.headers["allow"] == "GET, HEAD, POST"
    assert body["allowed"] == ["GET", "HEAD", "POST"]


async def test_dot_segments_cannot_climb_out_of_a_prefix(stack: Stack) -> None:
    assert stack.gateway is not None
    seen = len(stack.echo.seen)
    for path in ("/echo/public/../secret", "/echo/public/%2E%2E/secret", "/echo/public/./x"):
        # sent as raw bytes: HTTP clients normalise such paths before sending them
        status, _, payload = await raw_exchange(
            stack.gateway.port, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        )
        assert status == 400, (path, payload)
        assert json.loads(payload)["type"].endswith("/bad-path")
    assert len(stack.echo.seen) == seen


async def test_duplicate_slashes_are_judged_and_proxied_as_one(stack: Stack) -> None:
    """``/echo/public//private`` was judged by the anonymous /echo/public route while services collapse
    ``//``: the policy and the service must see one path."""
    assert stack.gateway is not None
    seen = len(stack.echo.seen)
    async with stack.client() as client:
        anonymous = await client.get("/echo/public//private")
        allowed = await client.get("/echo//public///private?x=1", headers=stack.bearer("probe:write"))
    assert_problem(anonymous, 401, "missing-token")
    assert len(stack.echo.seen) == seen + 1
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["path"] == "/echo/public/private"
    assert allowed.json()["raw_path"] == "/echo/public/private"
    assert allowed.json()["query_string"] == "x=1"


async def test_encoded_slashes_are_judged_as_slashes_and_control_characters_refused(stack: Stack) -> None:
    assert stack.gateway is not None
    seen = len(stack.echo.seen)
    for path, status, code in (
        ("/echo/public%2Fprivate", 401, "missing-token"),  # services decode it to a slash too
        ("/echo/public%2F/private", 401, "missing-token"),
        ("/echo/public/%00", 400, "bad-path"),
        ("/echo/public/a%0Ab", 400, "bad-path"),
    ):
        answer, _, payload = await raw_exchange(
            stack.gateway.port, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        )
        assert answer == status, (path, payload)
        assert json.loads(payload)["type"].endswith("/" + code)
    assert len(stack.echo.seen) == seen


async def test_a_refused_path_is_a_page_to_a_browser(stack: Stack) -> None:
    """A browser's visit to a path the gateway refuses (a NUL, a dot segment) cannot reach the console's
    pages: the gateway's own plain page names the problem; a POST or an API client keeps the problem."""
    assert stack.gateway is not None
    seen = len(stack.echo.seen)
    for path in ("/echo/public/a%00b", "/echo/public/../secret"):
        head = f"GET {path} HTTP/1.1\r\nHost: x\r\nAccept: text/html,*/*;q=0.8\r\n\r\n"
        status, headers, payload = await raw_exchange(stack.gateway.port, head.encode())
        assert status == 400, (path, payload)
        assert headers["content-type"] == "text/html; charset=utf-8"
        assert "default-src 'none'" in headers["content-security-policy"]
        page = payload.decode()
        assert "<h1>Bad Request</h1>" in page
        assert 'class="problem" role="alert"' in page
        assert "not accepted" in page
        assert "<script" not in page
        assert "style=" not in page
    head = "POST /echo/public/a%00b HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\nContent-Length: 0\r\n\r\n"
    status, headers, payload = await raw_exchange(stack.gateway.port, head.encode())
    assert status == 400
    assert json.loads(payload)["type"].endswith("/bad-path")
    assert len(stack.echo.seen) == seen


async def test_forwarded_headers_identity_and_hop_by_hop(stack: Stack) -> None:
    async with stack.client() as client:
        response = await client.get(
            "/echo/headers",
            headers={
                **stack.bearer("probe:read", subject="bob", client_id="drs"),
                "Connection": "keep-alive, X-Secret-Hop",
                "X-Secret-Hop": "must not pass",
                "Keep-Alive": "timeout=5",
                "Proxy-Authorization": "Basic eA==",
                "X-Forwarded-For": "6.6.6.6",
                "X-Auth-Request-User": "mallory",
                "Cookie": "spicadb_gateway=secret-session; theme=dark; spicadb_gateway_csrf=abc",
                "X-Custom": "kept",
            },
        )
    assert response.status_code == 200
    headers = header_map(response.json())
    for hop in ("connection", "x-secret-hop", "keep-alive", "proxy-authorization", "transfer-encoding"):
        assert hop not in headers, hop
    assert headers["x-forwarded-for"] == ["127.0.0.1"]  # the caller as seen, not what it claimed
    assert headers["x-forwarded-proto"] == ["http"]
    assert headers["x-forwarded-host"] == [stack.url.removeprefix("http://")]
    assert headers["host"] == [stack.url.removeprefix("http://")]  # links the service makes name the gateway
    assert headers["x-auth-request-user"] == ["bob"]
    assert headers["x-auth-request-client"] == ["drs"]
    assert headers["x-auth-request-scopes"] == ["probe:read"]
    assert headers["authorization"][0].startswith("Bearer ")  # services verify it themselves
    assert headers["cookie"] == ["theme=dark"]  # the gateway's own cookies stay here
    assert headers["x-custom"] == ["kept"]


async def test_request_id_is_propagated_or_made(stack: Stack) -> None:
    async with stack.client() as client:
        given = await client.get(
            "/echo/rid", headers={**stack.bearer("probe:read"), "X-Request-ID": "req-42.a"}
        )
        assert header_map(last(stack))["x-request-id"] == ["req-42.a"]
        made = await client.get("/echo/rid", headers=stack.bearer("probe:read"))
        upstream_saw = header_map(last(stack))["x-request-id"]
        refused = await client.get("/nowhere", headers={"X-Request-ID": "bad id\twith spaces"})
    assert given.headers["x-request-id"] == "req-42.a"
    # one id, the gateway's, on both sides (the echo tries to set its own: replaced)
    assert made.headers["x-request-id"] == upstream_saw[0]
    assert len(upstream_saw[0]) == 32
    assert refused.headers["x-request-id"] != "bad id\twith spaces"
    assert refused.json()["request_id"] == refused.headers["x-request-id"]


async def test_trace_context_is_propagated(stack: Stack) -> None:
    trace_id = uuid.uuid4().hex
    parent = uuid.uuid4().hex[:16]
    traceparent = f"00-{trace_id}-{parent}-01"
    async with stack.client() as client:
        await client.get("/echo/traced", headers={**stack.bearer("probe:read"), "traceparent": traceparent})
        untraced = header_map(last(stack))["traceparent"][0]
        assert untraced.split("-")[1] == trace_id

        exporter = InMemorySpanExporter()
        provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):
            provider = TracerProvider()
            trace.set_tracer_provider(provider)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        await client.get("/echo/traced", headers={**stack.bearer("probe:read"), "traceparent": traceparent})
    forwarded = header_map(last(stack))["traceparent"][0].split("-")
    assert forwarded[1] == trace_id  # the same trace...
    assert forwarded[2] != parent  # ...continued by the gateway's own span
    finished = exporter.get_finished_spans()
    # the gateway's SERVER span continues the caller's; its CLIENT span, the forwarding, is its child
    (received,) = [s for s in finished if s.kind == trace.SpanKind.SERVER and s.name.startswith("GET /echo")]
    assert received.parent is not None
    assert format(received.parent.span_id, "016x") == parent
    (span,) = [s for s in finished if s.name == "GET echo"]
    assert span.parent is not None
    assert span.parent.span_id == received.context.span_id
    assert format(span.context.span_id, "016x") == forwarded[2]
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 200


async def test_security_headers_on_every_answer(stack: Stack) -> None:
    async with stack.client() as client:
        answers = [
            await client.get("/echo/x", headers=stack.bearer("probe:read")),  # proxied
            await client.get("/echo/x"),  # refused by the gateway
            await client.get("/health/live"),  # the gateway's own route
            await client.get("/openapi.json"),
        ]
        html = await client.get("/auth")
        proxied_html = await client.get("/echo/html", headers=stack.bearer("probe:read"))
    for answer in [*answers, html, proxied_html]:
        for name, value in SECURITY.items():
            assert answer.headers.get(name) == value, (answer.request.url, name)
        assert "strict-transport-security" not in answer.headers  # not in the test environment
    assert html.headers["content-type"].startswith("text/html")
    csp = html.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert proxied_html.headers["content-security-policy"] == "frame-ancestors 'none'"


async def test_strict_transport_security_in_production(stack: Stack) -> None:
    gateway = await stack.start_gateway(environment="production", log_format="console")
    async with stack.client(gateway.url) as client:
        response = await client.get("/echo/public")
    assert response.status_code == 200
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_cors_preflight_for_an_allowed_and_a_refused_origin(stack: Stack) -> None:
    async with stack.client() as client:
        allowed = await client.options(
            "/pings/1",
            headers={
                "Origin": FRONTEND,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type, x-csrf-token",
            },
        )
        refused = await client.options(
            "/pings/1", headers={"Origin": "http://evil.test", "Access-Control-Request-Method": "POST"}
        )
        actual = await client.get("/pings/none", headers={**stack.bearer("probe:read"), "Origin": FRONTEND})
        foreign = await client.get(
            "/pings/none", headers={**stack.bearer("probe:read"), "Origin": "http://evil.test"}
        )
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == FRONTEND
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "x-csrf-token" in allowed.headers["access-control-allow-headers"]
    assert_problem(refused, 403, "cors-origin")
    assert "access-control-allow-origin" not in refused.headers
    assert actual.headers["access-control-allow-origin"] == FRONTEND
    assert "x-request-id" in actual.headers["access-control-expose-headers"]
    assert "access-control-allow-origin" not in foreign.headers


async def test_upstream_down_is_502_and_slow_upstream_is_504(stack: Stack) -> None:
    gateway = await stack.start_gateway(
        upstreams=f"probe={stack.probe.url},echo=http://127.0.0.1:{free_port()}", upstream_timeout=0.5
    )
    async with stack.client(gateway.url) as client:
        down = await client.get("/echo/anything", headers=stack.bearer("probe:read"))
        ready = await client.get("/health/ready", headers=stack.bearer("admin"))
    assert_problem(down, 502, "upstream-unreachable")
    # one upstream down: the gateway is degraded, still ready (it serves the others)
    assert ready.status_code == 200
    report = ready.json()
    assert report["degraded"] == ["echo"]
    assert report["upstreams"]["probe"]["reachable"] is True

    slow_gateway = await stack.start_gateway(upstream_timeout=0.5)
    async with stack.client(slow_gateway.url) as client:
        slow = await client.get("/echo/slow?seconds=2", headers=stack.bearer("probe:read"))
        after = await client.get("/echo/quick", headers=stack.bearer("probe:read"))
    assert_problem(slow, 504, "upstream-timeout")
    assert after.status_code == 200  # the pool recovered


async def test_large_answers_stream_back(stack: Stack) -> None:
    size = 20 * 1024 * 1024 + 7
    async with (
        stack.client() as client,
        client.stream("GET", f"/echo/download?bytes={size}", headers=stack.bearer("probe:read")) as response,
    ):
        assert response.status_code == 200
        total = 0
        async for chunk in response.aiter_raw():
            total += len(chunk)
    assert total == size


async def test_rate_limit_answers_429_with_retry_after(stack: Stack) -> None:
    gateway = await stack.start_gateway(rate_limit_rate=0.5, rate_limit_burst=3)
    hasty = stack.bearer("probe:read", client_id="hasty-robot")
    calm = stack.bearer("probe:read", client_id="calm-robot")
    async with stack.client(gateway.url) as client:
        statuses = [(await client.get("/echo/rl", headers=hasty)).status_code for _ in range(3)]
        limited = await client.get("/echo/rl", headers=hasty)
        other = await client.get("/echo/rl", headers=calm)
        # people signed in through one client each have their own bucket
        colleague = await client.get(
            "/echo/rl", headers=stack.bearer("probe:read", client_id="hasty-robot", subject="bob")
        )
        anonymous = [(await client.get("/echo/public")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200]
    body = assert_problem(limited, 429, "rate-limited")
    assert 1 <= int(limited.headers["retry-after"]) <= 2, body
    assert other.status_code == 200  # buckets are per client
    assert colleague.status_code == 200
    assert anonymous == [200, 200, 200, 429]  # anonymous callers: per address


async def test_a_forged_x_forwarded_for_does_not_choose_the_rate_limit_bucket(stack: Stack) -> None:
    """The gateway believes no X-Forwarded-For unless its peer is a configured proxy: every local client
    is 127.0.0.1, and used to pick its own bucket (and its address for the services) by writing one."""
    gateway = await stack.start_gateway(rate_limit_rate=0.1, rate_limit_burst=3)
    async with stack.client(gateway.url) as client:
        forged = [
            await client.get("/echo/public", headers={"X-Forwarded-For": f"10.9.8.{n}"}) for n in range(4)
        ]
        holder = await client.get("/echo/public", headers=stack.bearer("probe:read", subject="carol"))
    assert [r.status_code for r in forged] == [200, 200, 200, 429]  # one bucket: the peer's
    assert header_map(forged[0].json())["x-forwarded-for"] == ["127.0.0.1"]
    assert holder.status_code == 200  # a token's holder has a bucket of their own, on optional routes too


async def test_a_trusted_proxys_x_forwarded_for_names_the_client(stack: Stack) -> None:
    gateway = await stack.start_gateway(
        rate_limit_rate=0.1, rate_limit_burst=2, forwarded_allow_ips="10.0.0.0/8,127.0.0.1"
    )
    async with stack.client(gateway.url) as client:

        async def via(chain: str) -> Any:
            return await client.get("/echo/public", headers={"X-Forwarded-For": chain})

        first = [await via("203.0.113.7") for _ in range(3)]
        other = await via("203.0.113.8:4711")  # a port some proxies add is no part of the address
        # hops a client wrote before the proxies are never read: the right-most untrusted one counts
        spoofed = await via("198.51.100.1, 203.0.113.7, 10.1.2.3:80")
    assert [r.status_code for r in first] == [200, 200, 429]
    assert other.status_code == 200
    assert header_map(other.json())["x-forwarded-for"] == ["203.0.113.8"]
    assert spoofed.status_code == 429
