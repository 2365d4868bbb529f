"""The gateway's readiness: anonymous callers (kubelet, `spicadb run`) learn ready or not, from a report
made at most every health_cache_seconds; internal URLs, pool figures and relay errors are for admins."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from gateway_stack import Stack
from gateway_support import assert_problem
from harness import eventually

from spicadb_contracts.base import Event
from spicadb_kit.events.outbox import Outbox


class Unrouted(Event, frozen=True, kw_only=True):
    """An event no stream takes (not declared with ``event``, so no contract lists it)."""

    event_name: ClassVar[str] = "nowhere.thing.happened"
    event_version: ClassVar[int] = 1
    producer: ClassVar[str] = "nowhere"
    aggregate: ClassVar[str] = "thing"
    summary: ClassVar[str] = "a test's event that no stream takes"


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


async def test_a_gateway_not_ready_tells_anonymous_callers_only_that(stack: Stack) -> None:
    gateway = await stack.start_gateway(relay_stuck_seconds=0.5, health_cache_seconds=0.0)
    async with stack.pool.acquire() as conn, conn.transaction():
        await Outbox("gateway", max_payload=lambda: 1_000_000).add(conn, Unrouted(), aggregate_id="stuck")
    try:
        async with stack.client(gateway.url) as client:

            async def not_ready() -> Any:
                answer = await client.get("/health/ready")
                return answer if answer.status_code == 503 else None

            anonymous = await eventually(not_ready)
            reader = await client.get("/health/ready", headers=stack.bearer("probe:read"))
            admin = await client.get("/health/ready", headers=stack.bearer("admin"))
    finally:  # the module's other tests want a ready gateway
        await stack.pool.execute("DELETE FROM outbox WHERE event_type = $1", Unrouted.event_type())
    assert anonymous.json() == {"status": "not ready"}  # no internal URL, relay error or event named
    assert (reader.status_code, reader.json()) == (503, {"status": "not ready"})
    assert admin.status_code == 503
    (stuck,) = admin.json()["problems"]
    assert stuck.startswith("outbox: org.jmmc.spicadb.nowhere.thing.happened.v1 of stuck v1")
