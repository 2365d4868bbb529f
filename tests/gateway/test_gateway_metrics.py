"""/metrics and the gateway: the path is never forwarded (the console owns "/", and a service's metrics are
read on its own port only); the gateway's own metrics, on the platform's public port, are for admins."""

from __future__ import annotations

from gateway_stack import Stack
from gateway_support import assert_problem
from prometheus_client.parser import text_string_to_metric_families
from spicadb_gateway.policy import Route, RoutePolicy

from spicadb_kit.spec import discover_services


def test_the_installed_policy_keeps_metrics_at_the_gateway() -> None:
    specs = list(discover_services())
    policy = RoutePolicy.from_specs(specs, {s.name: f"http://127.0.0.1:{s.default_port}" for s in specs})
    for method in ("GET", "HEAD"):
        route = policy.resolve("/metrics", method)
        assert isinstance(route, Route)
        assert route.local, route  # answered by the gateway, not forwarded to the console


async def test_the_ingress_lets_no_gateway_path_through_to_a_service(stack: Stack) -> None:
    """In ingress mode nginx sends the paths no longer prefix claims to the console ("/") after asking
    the gateway: a gateway path (its /metrics, its health) must not pass, or the console's would answer."""
    async with stack.client() as client:
        answers = [
            await client.get(
                "/auth/ingress",
                headers={"X-Original-URL": f"https://spicadb.example.org{path}", "X-Original-Method": "GET"},
            )
            for path in ("/metrics", "/health/ready")
        ]
    for answer in answers:
        assert_problem(answer, 404, "not-found")


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


async def test_the_gateways_requests_are_timed_once_forwarded_ones_by_their_routes_prefix(
    stack: Stack,
) -> None:
    gateway = await stack.start_gateway()
    async with stack.client(gateway.url) as client:
        for _ in range(3):
            assert (
                await client.get("/echo/status/200", headers=stack.bearer("probe:read"))
            ).status_code == 200
        await client.get("/nowhere/at/all")
        assert (await client.get("/health/live")).status_code == 200
        scraped = (await client.get("/metrics", headers=stack.bearer("admin"))).text
    samples = {
        (s.labels["route"], s.labels["method"], s.labels["status"]): s.value
        for family in text_string_to_metric_families(scraped)
        for s in family.samples
        if s.name == "spicadb_http_request_duration_seconds_count"
    }
    assert samples[("/echo", "GET", "2xx")] == 3  # the policy's prefix, never the raw path
    assert samples[("unmatched", "GET", "4xx")] == 1
    assert samples[("/health/live", "GET", "2xx")] == 1  # a Litestar route of the gateway: counted once
