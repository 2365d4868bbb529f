"""The committed AsyncAPI document and JSON Schemas, read the way a consumer or a tool would read them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml
from jsonschema import Draft202012Validator

from spicadb_contracts import registered_events
from spicadb_contracts.base import Event
from spicadb_contracts.probe import PingRecorded
from spicadb_contracts.tooling import default_root

CONTRACTS = default_root() / "contracts"
EVENTS = list(registered_events())


def _load_json(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


@pytest.fixture(scope="module")
def asyncapi() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CONTRACTS / "asyncapi.yaml").read_text())
    return loaded


def _pointer(document: dict[str, Any], ref: str) -> Any:
    """Follow a local ``#/a/b`` reference; KeyError if it leads nowhere."""
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_asyncapi_declares_version_3(asyncapi: dict[str, Any]) -> None:
    assert asyncapi["asyncapi"] == "3.0.0"
    assert asyncapi["servers"]["nats"]["protocol"] == "nats"


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.event_type())
def test_every_event_has_a_channel_on_its_subject(asyncapi: dict[str, Any], event: type[Event]) -> None:
    addresses = {channel["address"] for channel in asyncapi["channels"].values()}
    assert event.subject() in addresses


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.event_type())
def test_every_event_is_sent_by_its_producer_into_its_stream(
    asyncapi: dict[str, Any], event: type[Event]
) -> None:
    sends = [
        op
        for op in asyncapi["operations"].values()
        if _pointer(asyncapi, op["channel"]["$ref"])["address"] == event.subject()
    ]
    assert [(op["action"], op["x-producer"]) for op in sends] == [("send", event.producer)]
    assert sends[0]["x-jetstream"] == {"stream": f"SPICADB_{event.producer.upper()}"}


def test_every_message_payload_ref_is_an_existing_schema_file(asyncapi: dict[str, Any]) -> None:
    messages = asyncapi["components"]["messages"]
    assert messages
    for message in messages.values():
        target = CONTRACTS / message["payload"]["$ref"]
        assert target.is_file(), target
        assert _load_json(target)["x-event-type"] == message["name"]


def test_every_operation_references_an_existing_channel_and_its_messages(asyncapi: dict[str, Any]) -> None:
    for name, operation in asyncapi["operations"].items():
        channel = _pointer(asyncapi, operation["channel"]["$ref"])
        for message in operation["messages"]:
            # AsyncAPI 3: an operation's messages must be messages of its channel.
            assert message["$ref"].startswith(operation["channel"]["$ref"] + "/messages/"), name
            _pointer(asyncapi, message["$ref"])
        assert channel["messages"], name


def test_message_headers_describe_what_a_producer_sends(asyncapi: dict[str, Any]) -> None:
    message = asyncapi["components"]["messages"]["probe.ping.recorded.v1"]
    common, specific = message["headers"]["allOf"]
    headers_schema = {**_pointer(asyncapi, common["$ref"]), "allOf": [specific]}
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "3f1c8a52-6f0e-4f43-9d2c-0c9a4b0f3a11",
        "ce-type": PingRecorded.event_type(),
        "ce-source": "/spicadb/probe",
        "ce-subject": "ping-1",
        "ce-time": "2025-11-24T21:05:00Z",
        "ce-datacontenttype": "application/json",
        "ce-aggregatetype": "ping",
        "ce-aggregateversion": "1",
        "Nats-Msg-Id": "3f1c8a52-6f0e-4f43-9d2c-0c9a4b0f3a11",
    }
    validator = Draft202012Validator(headers_schema)
    assert list(validator.iter_errors(headers)) == []
    assert not validator.is_valid({**headers, "ce-type": "org.jmmc.spicadb.other.thing.happened.v1"})
    assert not validator.is_valid({k: v for k, v in headers.items() if k != "Nats-Msg-Id"})


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.event_type())
def test_every_schema_is_a_valid_2020_12_schema(event: type[Event]) -> None:
    schema = _load_json(CONTRACTS / f"schemas/{event.event_name}.v{event.event_version}.json")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == event.event_type()
    assert schema["x-subject"] == event.subject()
    Draft202012Validator.check_schema(schema)


@pytest.fixture
def ping_validator() -> Draft202012Validator:
    return Draft202012Validator(_load_json(CONTRACTS / "schemas/probe.ping.recorded.v1.json"))


@pytest.fixture
def encoded_ping() -> dict[str, Any]:
    ping = PingRecorded(
        ping_id="ping-1", sequence=7, recorded_at=datetime(2025, 11, 24, 21, 5, tzinfo=UTC), tags=["bench"]
    )
    decoded: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(ping))
    return decoded


def test_schema_accepts_an_encoded_event(
    ping_validator: Draft202012Validator, encoded_ping: dict[str, Any]
) -> None:
    assert list(ping_validator.iter_errors(encoded_ping)) == []


def test_schema_rejects_a_wrong_type(
    ping_validator: Draft202012Validator, encoded_ping: dict[str, Any]
) -> None:
    errors = list(ping_validator.iter_errors({**encoded_ping, "sequence": "seven"}))
    assert [list(error.path) for error in errors] == [["sequence"]]


def test_schema_rejects_a_missing_required_field(
    ping_validator: Draft202012Validator, encoded_ping: dict[str, Any]
) -> None:
    assert not ping_validator.is_valid({k: v for k, v in encoded_ping.items() if k != "ping_id"})
