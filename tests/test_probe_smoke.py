from __future__ import annotations

from harness import Probe


async def test_ping_posted_over_http_is_applied_once_by_the_consumer(probe: Probe) -> None:
    token = probe.tokens.mint("probe:write", "probe:read")
    async with probe.running() as client:
        response = await client.post(
            "/pings", json={"id": "p1", "sequence": 1}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 201, response.text
        effects = await probe.wait_effects(1)
        assert effects == {"p1": 1}
        ready = await client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["schema_version"] == "kit:0002 probe:0001"
        assert body["outbox"]["unpublished"] == 0
