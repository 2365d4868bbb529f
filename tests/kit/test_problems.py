"""Every error leaves a service as an RFC 9457 problem document a client can act on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import msgspec
import pytest
from kit_support import assert_problem, bearer
from litestar import Litestar, get, post
from litestar.params import FromQuery, JSONBody
from litestar.testing import AsyncTestClient

from spicadb_kit.errors import EXCEPTION_HANDLERS
from spicadb_kit.requests import request_id_middleware

if TYPE_CHECKING:
    from harness import Probe


def _field_errors(body: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["message"] for e in body["errors"]}


async def test_wrong_type_is_a_400_naming_the_field(probe: Probe) -> None:
    token = probe.tokens.mint("probe:write")
    async with probe.running() as client:
        response = await client.post("/pings", json={"id": "p1", "sequence": "x"}, headers=bearer(token))
    body = assert_problem(response, 400)
    errors = _field_errors(body)
    assert list(errors) == ["body.sequence"], body
    assert "int" in errors["body.sequence"], body
    assert "body.sequence" in body["detail"]
    assert await probe.scalar("SELECT count(*) FROM ping") == 0


async def test_unknown_field_is_a_400_naming_it(probe: Probe) -> None:
    token = probe.tokens.mint("probe:write")
    async with probe.running() as client:
        response = await client.post("/pings", json={"id": "p1", "colour": "red"}, headers=bearer(token))
    body = assert_problem(response, 400)
    errors = _field_errors(body)
    assert list(errors) == ["body.colour"], body
    assert "unknown field" in errors["body.colour"], body
    assert await probe.scalar("SELECT count(*) FROM ping") == 0


async def test_missing_required_field_is_a_400_naming_it(probe: Probe) -> None:
    token = probe.tokens.mint("probe:write")
    async with probe.running() as client:
        response = await client.post("/pings", json={"sequence": 1}, headers=bearer(token))
    body = assert_problem(response, 400)
    errors = _field_errors(body)
    assert list(errors) == ["body.id"], body
    assert "missing required field" in errors["body.id"], body


async def test_malformed_json_is_a_400_problem(probe: Probe) -> None:
    token = probe.tokens.mint("probe:write")
    async with probe.running() as client:
        response = await client.post(
            "/pings",
            content=b'{"id": "p1", "sequence": ',
            headers={**bearer(token), "Content-Type": "application/json"},
        )
    body = assert_problem(response, 400)
    assert "Traceback" not in response.text
    assert body["instance"] == "/pings"
    assert await probe.scalar("SELECT count(*) FROM ping") == 0


async def test_unknown_route_is_a_404_problem(probe: Probe) -> None:
    token = probe.tokens.mint("probe:read")
    async with probe.running() as client:
        with_token = await client.get("/no/such/route", headers=bearer(token))
        without_token = await client.get("/no/such/route")
    assert_problem(with_token, 404)
    assert_problem(without_token, 404)


async def test_wrong_method_is_a_405_problem(probe: Probe) -> None:
    token = probe.tokens.mint("probe:write", "probe:read")
    async with probe.running() as client:
        response = await client.delete("/pings/p1", headers=bearer(token))
    assert_problem(response, 405)


async def test_missing_ping_is_a_404_problem_with_detail(probe: Probe) -> None:
    token = probe.tokens.mint("probe:read")
    async with probe.running() as client:
        response = await client.get("/pings/nope", headers=bearer(token))
    body = assert_problem(response, 404)
    assert body["detail"] == "no ping nope"
    assert body["type"].endswith("/not-found")
    assert body["instance"] == "/pings/nope"


async def test_duplicate_ping_is_a_409_and_nothing_is_half_written(probe: Probe) -> None:
    token = probe.tokens.mint("probe:write", "probe:read")
    async with probe.running() as client:
        first = await client.post("/pings", json={"id": "dup", "sequence": 1}, headers=bearer(token))
        assert first.status_code == 201, first.text
        second = await client.post(
            "/pings", json={"id": "dup", "sequence": 2, "note": "again"}, headers=bearer(token)
        )
        body = assert_problem(second, 409)
        assert body["type"].endswith("/ping-exists")
        assert "dup" in body["detail"]
        # the first write stands, untouched by the second
        stored = await client.get("/pings/dup", headers=bearer(token))
        assert stored.json()["sequence"] == 1
    assert await probe.scalar("SELECT count(*) FROM ping WHERE ping_id = 'dup'") == 1
    assert await probe.scalar("SELECT count(*) FROM outbox WHERE aggregate_id = 'dup'") == 1
    assert await probe.scalar("SELECT note FROM ping WHERE ping_id = 'dup'") == ""


async def test_every_response_carries_a_request_id(probe: Probe) -> None:
    write = probe.tokens.mint("probe:write", "probe:read")
    read_only = probe.tokens.mint("probe:read")
    async with probe.running() as client:
        responses = {
            "created": await client.post("/pings", json={"id": "r1"}, headers=bearer(write)),
            "ok": await client.get("/pings/r1", headers=bearer(write)),
            "invalid": await client.post("/pings", json={"id": 5}, headers=bearer(write)),
            "no token": await client.get("/pings/r1"),
            "bad token": await client.get("/pings/r1", headers=bearer("garbage")),
            "forbidden": await client.post("/pings", json={"id": "r2"}, headers=bearer(read_only)),
            "not found": await client.get("/pings/none", headers=bearer(write)),
            "no route": await client.get("/nowhere"),
            "conflict": await client.post("/pings", json={"id": "r1"}, headers=bearer(write)),
            "live": await client.get("/health/live"),
        }
    ids = {}
    for what, response in responses.items():
        assert response.headers.get("x-request-id"), f"{what}: {response.status_code} has no X-Request-ID"
        ids[what] = response.headers["x-request-id"]
        if response.status_code >= 400:
            assert response.json()["request_id"] == ids[what], what
    assert len(set(ids.values())) == len(ids), "request ids are not unique"


async def test_incoming_request_id_is_echoed_and_named_in_problems(probe: Probe) -> None:
    token = probe.tokens.mint("probe:read")
    async with probe.running() as client:
        found = await client.get("/health/live", headers={"X-Request-ID": "gw-1234.abc"})
        missing = await client.get("/pings/nope", headers={**bearer(token), "X-Request-ID": "gw-5678"})
        unauthorized = await client.get("/pings/nope", headers={"X-Request-ID": "gw-9999"})
    assert found.headers["x-request-id"] == "gw-1234.abc"
    assert missing.headers["x-request-id"] == "gw-5678"
    assert assert_problem(missing, 404)["request_id"] == "gw-5678"
    assert unauthorized.headers["x-request-id"] == "gw-9999"
    assert assert_problem(unauthorized, 401)["request_id"] == "gw-9999"


async def test_unsafe_incoming_request_id_is_replaced(probe: Probe) -> None:
    async with probe.running() as client:
        spaced = await client.get("/health/live", headers={"X-Request-ID": "evil value; injected"})
        too_long = await client.get("/health/live", headers={"X-Request-ID": "a" * 500})
    for response in (spaced, too_long):
        echoed = response.headers["x-request-id"]
        assert echoed not in ("evil value; injected", "a" * 500)
        assert len(echoed) == 32
        assert echoed.isalnum()


class Target(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    ra: float


class Observation(msgspec.Struct, forbid_unknown_fields=True):
    targets: list[Target]


@get("/boom", sync_to_thread=False)
def boom() -> None:
    raise RuntimeError("connection to db-secret-host:5432 failed, password=hunter2")


@get("/items", sync_to_thread=False)
def items(limit: FromQuery[int] = 10) -> dict[str, int]:
    return {"limit": limit}


@post("/observations", sync_to_thread=False)
def observe(data: JSONBody[Observation]) -> dict[str, int]:
    return {"targets": len(data.targets)}


@pytest.fixture
async def plain_client() -> AsyncIterator[AsyncTestClient[Litestar]]:
    """A bare Litestar app with the kit's error handlers and request ids (no database)."""
    app = Litestar(
        route_handlers=[boom, items, observe],
        middleware=[request_id_middleware],
        exception_handlers=EXCEPTION_HANDLERS,
        debug=False,
    )
    async with AsyncTestClient(app) as client:
        yield client


async def test_unexpected_error_is_a_500_problem_without_internals(
    plain_client: AsyncTestClient[Litestar],
) -> None:
    response = await plain_client.get("/boom", headers={"X-Request-ID": "req-500"})
    body = assert_problem(response, 500)
    assert body["type"].endswith("/internal")
    assert body["detail"] == "The server failed to handle this request."
    assert body["request_id"] == "req-500"
    assert response.headers["x-request-id"] == "req-500"
    for leaked in ("hunter2", "db-secret-host", "RuntimeError", "Traceback", 'File "', ".py"):
        assert leaked not in response.text, f"{leaked!r} leaked into {response.text}"


async def test_bad_query_parameter_is_named_as_such(plain_client: AsyncTestClient[Litestar]) -> None:
    response = await plain_client.get("/items", params={"limit": "many"})
    body = assert_problem(response, 400)
    assert list(_field_errors(body)) == ["query.limit"], body


async def test_nested_body_errors_point_at_the_element(plain_client: AsyncTestClient[Litestar]) -> None:
    wrong_type = await plain_client.post(
        "/observations", json={"targets": [{"name": "Vega", "ra": 279.2}, {"name": "Deneb", "ra": "x"}]}
    )
    assert list(_field_errors(assert_problem(wrong_type, 400))) == ["body.targets[1].ra"]
    unknown = await plain_client.post("/observations", json={"targets": [{"name": "Vega", "dec": 38.8}]})
    assert list(_field_errors(assert_problem(unknown, 400))) == ["body.targets[0].dec"]
    missing = await plain_client.post("/observations", json={"targets": [{"ra": 279.2}]})
    assert list(_field_errors(assert_problem(missing, 400))) == ["body.targets[0].name"]
    not_an_object = await plain_client.post("/observations", json=[1, 2])
    assert list(_field_errors(assert_problem(not_an_object, 400))) == ["body"]
