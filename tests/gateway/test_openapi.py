"""The merged OpenAPI document at the gateway: every routed service's operations on one origin."""

from __future__ import annotations

from typing import Any

from gateway_stack import Stack
from spicadb_gateway.problems import (
    BAD_PATH,
    BODY_TOO_LARGE,
    NO_UPSTREAM,
    RATE_LIMITED,
    UPSTREAM_TIMEOUT,
    UPSTREAM_UNREACHABLE,
)

from spicadb_kit.infra import free_port
from spicadb_kit.problems import INVALID_TOKEN


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        op["operationId"]: op
        for item in document["paths"].values()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }


async def test_the_merged_document_lists_every_service(stack: Stack) -> None:
    async with stack.client() as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert document["info"]["x-spicadb-services"] == {
        "echo": "available",
        "gateway": "available",
        "probe": "available",
    }
    ops = operations(document)
    # the probe's operations, with the security the gateway enforces
    assert ops["recordPing"]["tags"][0] == "probe"
    assert ops["recordPing"]["security"] == [{"bearer": ["probe:write"]}, {"session": ["probe:write"]}]
    assert ops["getPing"]["security"] == [{"bearer": ["probe:read"]}, {"session": ["probe:read"]}]
    assert "/pings/{ping_id}" in document["paths"]
    # the gateway's own, anonymous
    assert ops["ingressAuth"]["security"] == []
    assert ops["public"]["security"] == []
    assert {"bearer", "session"} <= set(document["components"]["securitySchemes"])


async def test_collisions_are_resolved_and_reported(stack: Stack) -> None:
    async with stack.client() as client:
        document = (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    # two different PingOut: the first service (by name) keeps it, the other's is renamed, refs follow
    assert schemas["PingOut"]["type"] == "string"  # the echo's
    assert schemas["probe_PingOut"]["type"] == "object"
    received = document["components"]["responses"]["Received"]
    assert received["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/PingOut"}
    get_ping = document["paths"]["/pings/{ping_id}"]["get"]
    assert get_ping["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/probe_PingOut"
    }
    # /pings is routed to the probe: the echo's declaration of it is left out, and said so
    assert "notMine" not in operations(document)
    assert {"path": "/pings", "declared_by": "echo", "routed_to": "probe"} in document["x-spicadb-collisions"]


async def test_a_down_upstream_is_listed_and_the_rest_still_served(stack: Stack) -> None:
    gateway = await stack.start_gateway(
        upstreams=f"probe={stack.probe.url},echo=http://127.0.0.1:{free_port()}"
    )
    async with stack.client(gateway.url) as client:
        document = (await client.get("/openapi.json")).json()
    assert document["info"]["x-spicadb-services"]["echo"].startswith("unavailable")
    assert document["info"]["x-spicadb-services"]["probe"] == "available"
    assert "recordPing" in operations(document)


def problem_types(document: dict[str, Any], response: dict[str, Any]) -> set[str]:
    """The problem ``type`` URIs a response's problem document may carry (any of its schemas)."""
    schema = response["content"]["application/problem+json"]["schema"]
    types: set[str] = set()
    for option in schema.get("anyOf", [schema]):
        if "$ref" in option:
            option = document["components"]["schemas"][option["$ref"].rsplit("/", 1)[1]]
        types.update(option["properties"]["type"].get("enum", []))
    return types


async def test_the_gateway_s_own_answers_are_documented_on_forwarded_operations(stack: Stack) -> None:
    """What the gateway answers itself on a service's route (a bad path, a token it refuses, a body too
    large, its rate limit, the service down or slow) is in the operation's answers, with its problem
    types beside the service's."""
    async with stack.client() as client:
        document = (await client.get("/openapi.json")).json()
    get_ping = operations(document)["getPing"]["responses"]
    assert BAD_PATH.uri in problem_types(document, get_ping["400"])
    service_problem, gateway_problem = get_ping["400"]["content"]["application/problem+json"]["schema"][
        "anyOf"
    ]
    assert service_problem != gateway_problem  # the service's own problems still documented there
    assert INVALID_TOKEN.uri in problem_types(document, get_ping["401"])
    assert RATE_LIMITED.uri in problem_types(document, get_ping["429"])
    assert {NO_UPSTREAM.uri, UPSTREAM_UNREACHABLE.uri} <= problem_types(document, get_ping["502"])
    assert UPSTREAM_TIMEOUT.uri in problem_types(document, get_ping["504"])
    record = operations(document)["recordPing"]["responses"]
    assert BODY_TOO_LARGE.uri in problem_types(document, record["413"])
    assert "413" not in get_ping  # a GET has no body
