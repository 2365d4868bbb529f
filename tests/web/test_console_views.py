"""The console's small rules, without servers: which night was last, progress as a percentage, links
that keep a page's filters, instants as people read them, observations counted by quality."""

from __future__ import annotations

from datetime import UTC, date, datetime

from spicadb_gateway.policy import Route, RoutePolicy
from spicadb_web.rendering import href, moment
from spicadb_web.services.console import last_night, levels
from spicadb_web.services.programmes import TargetQuery, percent

from spicadb_kit.spec import discover_services


def test_last_night_is_the_one_that_ended_last_at_chara() -> None:
    # CHARA's local noon is 19:00 or 20:00 UT: a night runs from one local noon to the next
    assert last_night(datetime(2026, 1, 15, 17, 0, tzinfo=UTC)) == date(2026, 1, 14)  # 10:00 local
    assert last_night(datetime(2026, 1, 15, 23, 0, tzinfo=UTC)) == date(2026, 1, 14)  # 16:00 local
    assert last_night(datetime(2026, 1, 16, 6, 0, tzinfo=UTC)) == date(2026, 1, 14)  # 23:00: tonight is on


def test_progress_is_good_visits_over_requested_ones() -> None:
    assert percent({"requested": 8, "good": 2}) == 25
    assert percent({"requested": 0, "good": 0}) == 0
    assert percent({"requested": 2, "good": 5}) == 100


def test_links_keep_the_filters_and_drop_the_empty_ones() -> None:
    query = TargetQuery(filters={"q": "HD 1", "work_package": "", "progress": "done"}, sort="ra")
    assert href("/console/programmes/LP-1", query.filters, cursor="abc") == (
        "/console/programmes/LP-1?q=HD+1&progress=done&cursor=abc"
    )
    assert href("/console/nights") == "/console/nights"
    assert query.params(50) == [("q", "HD 1"), ("progress", "done"), ("sort", "ra"), ("order", "asc"),
                                ("limit", 50)]  # fmt: skip
    assert query.export_params("csv") == [("format", "csv"), ("q", "HD 1"), ("progress", "done")]


def test_instants_and_levels_as_pages_show_them() -> None:
    assert moment("2026-12-07T04:00:00.028800Z") == "2026-12-07 04:00:00"
    assert moment("2026-12-07T04:00:00Z", "%H:%M:%S") == "04:00:00"
    assert moment("not a date") == "not a date"
    assert moment(None) == ""
    assert levels([{"level": "bad"}, {"level": "good"}, {"level": "bad"}, {}]) == {
        "bad": 2, "good": 1, "unflagged": 1,
    }  # fmt: skip


def test_the_console_takes_only_what_no_other_service_claims() -> None:
    """The gateway's policy from every installed service: the console is the catch-all `/`."""
    specs = list(discover_services())
    policy = RoutePolicy.from_specs(specs, {s.name: f"http://127.0.0.1:{s.default_port}" for s in specs})

    def service(path: str, method: str = "GET") -> str:
        route = policy.resolve(path, method)
        assert isinstance(route, Route), (path, route)
        return route.service

    for path in (
        "/",
        "/console/programmes",
        "/console/programmes/LP-1",
        "/static/console.css",
        "/favicon.ico",
    ):
        assert service(path) == "web", path
    assert service("/programmes/LP-1/targets") == "programmes"
    assert service("/programmes") == "programmes"  # whole segments: the API's, not the console's
    assert service("/nightlogs/nights") == "nightlogs"
    assert service("/auth/login") == "gateway"
    assert service("/health/ready") == "gateway"
    assert service("/login") == "auth"
    assert service("/.well-known/jwks.json") == "auth"
    assert service("/openapi.json") == "gateway"
    route = policy.resolve("/console/nights", "GET")
    assert isinstance(route, Route)
    assert route.anonymous  # the console sends a visitor without a session to sign in itself
