from __future__ import annotations

from harness import Probe

from spicadb_kit.migrate import load_migrations, version_tag

# the kit's newest migration, whichever release this is
KIT = version_tag(load_migrations("spicadb_kit.migrations", "kit"))


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
        assert body["schema_version"] == f"{KIT} probe:0001"
        assert body["outbox"]["unpublished"] == 0
