"""The gateway's readiness: anonymous callers (kubelet, `spicadb run`) learn ready or not, from a report
made at most every health_cache_seconds; internal URLs, pool figures and relay errors are for admins."""

from __future__ import annotations

import asyncio

from gateway_stack import Stack
from gateway_support import assert_problem


async def test_anonymous_readiness_says_ready_or_not_and_nothing_else(stack: Stack) -> None:
    async with stack.client() as client:
        ready = await client.get("/health/ready")
        reader = await client.get("/health/ready", headers=stack.bearer("probe:read"))
        admin = await client.get("/health/ready", headers=stack.bearer("admin"))
        forged = await client.get("/health/ready", headers={"Authorization": "Bearer forged"})
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}
    assert reader.json() == {"status": "ready"}  # details need the admin scope
    report = admin.json()
    assert report["status"] == "ready"
    assert report["upstreams"]["echo"]["url"] == stack.echo_server.url
    assert {"database", "nats", "upstream_pools", "degraded"} <= set(report)
    assert_problem(forged, 401, "invalid-token")


async def test_anonymous_readiness_probes_the_upstreams_once_per_period(stack: Stack) -> None:
    gateway = await stack.start_gateway(health_cache_seconds=600)
    before = stack.echo.health_probes
    async with stack.client(gateway.url) as client:
        answers = await asyncio.gather(*(client.get("/health/ready") for _ in range(20)))
        answers += [await client.get("/health/ready") for _ in range(5)]
        admin = await client.get("/health/ready", headers=stack.bearer("admin"))
    assert {a.status_code for a in answers} == {200}
    assert stack.echo.health_probes == before + 2  # one for all the anonymous calls, one for the admin
    assert admin.json()["upstreams"]["echo"]["reachable"] is True
