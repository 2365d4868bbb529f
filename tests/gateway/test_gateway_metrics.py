"""/metrics and the gateway: the path is never forwarded (the console owns "/", and a service's metrics are
read on its own port only); the gateway's own metrics, on the platform's public port, are for admins."""

from __future__ import annotations

from gateway_stack import Stack
from gateway_support import assert_problem
from spicadb_gateway.policy import Route, RoutePolicy

from spicadb_kit.spec import discover_services


def test_the_installed_policy_keeps_metrics_at_the_gateway() -> None:
    specs = list(discover_services())
    policy = RoutePolicy.from_specs(specs, {s.name: f"http://127.0.0.1:{s.default_port}" for s in specs})
    for method in ("GET", "HEAD"):
        route = policy.resolve("/metrics", method)
        assert isinstance(route, Route)
        assert route.local, route  # answered by the gateway, not forwarded to the console


async def test_anonymous_callers_find_no_metrics_admins_get_the_gateways_own(stack: Stack) -> None:
    async with stack.client() as client:
        anonymous = await client.get("/metrics")
        reader = await client.get("/metrics", headers=stack.bearer("probe:read"))
        admin = await client.get("/metrics", headers=stack.bearer("admin"))
        await client.get("/health/live")
        later = await client.get("/metrics", headers=stack.bearer("admin"))
    assert_problem(anonymous, 404)
    assert_problem(reader, 404)
    assert admin.status_code == 200
    assert admin.headers["content-type"].startswith("text/plain")
    assert 'spicadb_db_pool_size{service="gateway"}' in admin.text
    assert 'durable="gateway_revocations"' in admin.text
    assert 'route="/health/live"' in later.text
