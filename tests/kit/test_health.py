"""Health and API description: answered without a token, and saying why a service is not ready."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kit_support import bearer

from spicadb_kit.migrate import load_migrations, version_tag

if TYPE_CHECKING:
    from harness import Probe

# the kit's newest migration, whichever release this is
KIT = version_tag(load_migrations("spicadb_kit.migrations", "kit"))


async def test_live_needs_no_token(probe: Probe) -> None:
    async with probe.running() as client:
        response = await client.get("/health/live")
        with_bad_token = await client.get("/health/live", headers=bearer("garbage"))
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert with_bad_token.status_code == 200


async def test_ready_reports_what_the_service_depends_on(probe: Probe) -> None:
    before = datetime.now(UTC)
    async with probe.running() as client:
        response = await client.get("/health/ready")
        with_bad_token = await client.get("/health/ready", headers=bearer("garbage"))
    assert response.status_code == 200, response.text
    assert with_bad_token.status_code == 200, with_bad_token.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "ready"
    assert body["problems"] == []
    assert body["service"] == "probe"
    assert isinstance(body["version"], str)
    assert body["version"]
    started_at = datetime.fromisoformat(body["started_at"])
    assert before - timedelta(seconds=5) <= started_at <= datetime.now(UTC)
    assert body["schema_version"] == f"{KIT} probe:0001"

    pool = body["database"]["pool"]
    assert set(pool) >= {"size", "idle", "min", "max"}
    assert 1 <= pool["size"] <= pool["max"] == 10
    assert body["database"]["reachable"] is True

    assert body["nats"]["connected"] is True
    assert body["nats"]["url"] == probe.nats_url

    assert body["outbox"]["unpublished"] == 0
    effects = body["consumers"]["probe_effects"]
    assert effects["pending"] == 0
    assert effects["ack_pending"] == 0
    assert body["dead_letters"] == {}


async def test_ready_follows_the_event_path(probe: Probe) -> None:
    token = probe.tokens.mint("probe:write")
    async with probe.running() as client:
        for n in range(3):
            created = await client.post("/pings", json={"id": f"h{n}", "sequence": n}, headers=bearer(token))
            assert created.status_code == 201, created.text
        await probe.wait_effects(3)

        async def settled() -> dict[str, Any] | None:
            body: dict[str, Any] = (await client.get("/health/ready")).json()
            consumer = body["consumers"]["probe_effects"]
            done = body["outbox"]["unpublished"] == 0 and consumer["pending"] == consumer["ack_pending"] == 0
            return body if done else None

        body = None
        for _ in range(100):
            body = await settled()
            if body:
                break
            await asyncio.sleep(0.1)
    assert body is not None, "the outbox and the consumer did not drain"
    assert body["outbox"]["published"] == 3
    assert body["consumers"]["probe_effects"]["applied"] == 3
    assert body["dead_letters"] == {}


async def test_openapi_is_public_and_lists_the_operations(probe: Probe) -> None:
    async with probe.running() as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["info"]["title"] == "SPICA-DB probe"
    operations = {
        operation["operationId"]: (method.upper(), path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    }
    assert operations["recordPing"] == ("POST", "/pings")
    assert operations["getPing"] == ("GET", "/pings/{ping_id}")
    # the plumbing is not part of the API
    assert not any(path.startswith("/health") or path == "/openapi.json" for path in document["paths"])
