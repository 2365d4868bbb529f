"""The route policy built from service specs: longest prefix wins, whole path segments, methods."""

from __future__ import annotations

import pytest
from spicadb_gateway.config import parse_upstreams
from spicadb_gateway.policy import NotAllowed, PolicyError, Route, RoutePolicy

from spicadb_kit.settings import SettingsError
from spicadb_kit.spec import GatewayRoute, ServiceSpec, discover_services


def spec(name: str, *routes: GatewayRoute) -> ServiceSpec:
    return ServiceSpec(name=name, app="x:y", default_port=1, routes=routes)


POLICY = RoutePolicy.from_specs(
    [
        spec(
            "programmes",
            GatewayRoute("/programmes/", methods=("GET",), scopes=("programmes:read",)),
            GatewayRoute("/programmes/", methods=("POST", "PATCH"), scopes=("programmes:write",)),
            GatewayRoute("/programmes/public", methods=("GET",), anonymous=True),
        ),
        spec("auth", GatewayRoute("/login", methods=("GET", "POST"), anonymous=True)),
        spec("oifits", GatewayRoute("/oifits/", scopes=("oifits:push",), max_body_bytes=2**30)),
    ],
    {"programmes": "http://127.0.0.1:8002", "auth": "http://127.0.0.1:8001", "oifits": "http://h:9/base/"},
)


def resolve(path: str, method: str = "GET") -> Route:
    route = POLICY.resolve(path, method)
    assert isinstance(route, Route), route
    return route


def test_longest_prefix_wins_and_methods_pick_the_route() -> None:
    assert resolve("/programmes/P108.A-0001").scopes == ("programmes:read",)
    assert resolve("/programmes/P108.A-0001", "POST").scopes == ("programmes:write",)
    assert resolve("/programmes/public/list").anonymous
    assert resolve("/programmes").service == "programmes"  # the bare prefix too
    assert resolve("/programmes/", "HEAD").scopes == ("programmes:read",)  # HEAD goes with GET


def test_prefixes_match_whole_segments_only() -> None:
    assert POLICY.resolve("/loginx", "GET") is None
    assert POLICY.resolve("/programmesX/1", "GET") is None
    assert resolve("/login").service == "auth"
    assert resolve("/login/upstream/callback").service == "auth"
    assert POLICY.resolve("/", "GET") is None
    assert POLICY.resolve("/nothing/here", "GET") is None


def test_a_method_no_route_allows_is_reported_with_the_allowed_ones() -> None:
    outcome = POLICY.resolve("/programmes/P1", "DELETE")
    assert outcome == NotAllowed(("GET", "HEAD", "PATCH", "POST"))


def test_upstreams_and_body_limits_come_with_the_route() -> None:
    route = resolve("/oifits/push", "PUT")
    assert route.max_body_bytes == 2**30
    assert route.upstream is not None
    assert (route.upstream.host, route.upstream.port, route.upstream.base_path) == (b"h", 9, b"/base")
    assert resolve("/programmes/x").max_body_bytes == 1024 * 1024  # the GatewayRoute default


def test_two_services_claiming_one_prefix_and_method_are_refused() -> None:
    with pytest.raises(PolicyError, match="claimed by"):
        RoutePolicy.from_specs(
            [spec("a", GatewayRoute("/x/", anonymous=True)), spec("b", GatewayRoute("/x", anonymous=True))],
            {},
        )
    # different methods on one prefix may belong to different services
    split = RoutePolicy.from_specs(
        [
            spec("a", GatewayRoute("/x/", methods=("GET",), anonymous=True)),
            spec("b", GatewayRoute("/x/", methods=("POST",), anonymous=True)),
        ],
        {},
    )
    assert isinstance(route := split.resolve("/x/1", "POST"), Route)
    assert route.service == "b"


def test_upstreams_setting_is_parsed_and_checked() -> None:
    assert parse_upstreams("auth=http://127.0.0.1:8001, programmes=http://p:8002/") == {
        "auth": "http://127.0.0.1:8001",
        "programmes": "http://p:8002",
    }
    assert parse_upstreams("") == {}
    with pytest.raises(SettingsError, match="SPICADB_UPSTREAMS"):
        parse_upstreams("auth=127.0.0.1:8001")


def test_the_installed_services_policy_guards_each_path_as_the_runtime_contract_says() -> None:
    """The policy the gateway builds from every installed service: who may call what."""
    specs = list(discover_services())
    policy = RoutePolicy.from_specs(specs, {s.name: f"http://127.0.0.1:{s.default_port}" for s in specs})

    def route(path: str, method: str = "GET") -> Route:
        found = policy.resolve(path, method)
        assert isinstance(found, Route), (path, method, found)
        return found

    assert route("/programmes/LP-1/targets").scopes == ("programmes:read",)
    assert route("/programmes/LP-1/targets/import", "POST").scopes == ("programmes:write",)
    assert route("/programmes/LP-1/targets/import", "POST").max_body_bytes >= 64 * 1024 * 1024
    assert route("/nightlogs/observations").scopes == ("nightlogs:read",)
    assert route("/nightlogs/observations/0e0c").scopes == ("nightlogs:read",)
    assert route("/nightlogs/logs/CHARA/2026-01-14/versions/2").scopes == ("nightlogs:read",)
    assert route("/nightlogs/schedules/CHARA/2026-01-14", "POST").scopes == ("schedule:write",)
    assert route("/nightlogs/logs/CHARA/2026-01-14", "POST").scopes == ("nightlogs:write",)
    assert route("/nightlogs/observations/0e0c/flags", "POST").scopes == ("nightlogs:flag",)
    # Aspro2 and VO tools come without a token
    assert route("/obsportal/search.votable", "POST").anonymous
    assert route("/obsportal/scs").anonymous
    assert route("/obsportal/exposures").scopes == ("nightlogs:read",)
    assert not route("/obsportal/exposures").anonymous
