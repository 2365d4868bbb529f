"""compare(): which changes to an event version's schema break its producers or consumers."""

from __future__ import annotations

import copy
import json
from typing import Annotated, Any

import msgspec
import pytest

from spicadb_contracts.compat import compare, tightenings
from spicadb_contracts.tooling import default_root


def schema(struct: type[msgspec.Struct]) -> dict[str, Any]:
    return msgspec.json.schema(struct)


class Ping(msgspec.Struct):
    ping_id: str
    sequence: int
    note: str = ""


class PingWithoutNote(msgspec.Struct):
    ping_id: str
    sequence: int


class PingWithTextSequence(msgspec.Struct):
    ping_id: str
    sequence: str
    note: str = ""


class PingWithRequiredSite(msgspec.Struct):
    ping_id: str
    sequence: int
    site: str
    note: str = ""


class PingWithOptionalSite(msgspec.Struct):
    ping_id: str
    sequence: int
    note: str = ""
    site: str = "CHARA"


class PingDocumented(msgspec.Struct):
    """A documented ping (renamed class, new docstring and field descriptions: all documentation)."""

    ping_id: Annotated[str, msgspec.Meta(description="Unique id of the ping.")]
    sequence: Annotated[int, msgspec.Meta(title="Sequence", description="Counter of the producer.")]
    note: str = "a different default"


def test_removed_field_is_breaking() -> None:
    assert compare(schema(Ping), schema(PingWithoutNote)) == ["field 'note' removed"]


def test_changed_type_is_breaking() -> None:
    changes = compare(schema(Ping), schema(PingWithTextSequence))
    assert len(changes) == 1
    assert changes[0].startswith("field 'sequence' changed type")


def test_new_required_field_is_breaking() -> None:
    changes = compare(schema(Ping), schema(PingWithRequiredSite))
    assert changes == ["new required field 'site' (give it a default)"]


def test_new_field_with_default_is_compatible() -> None:
    assert compare(schema(Ping), schema(PingWithOptionalSite)) == []


def test_documentation_and_default_changes_are_compatible() -> None:
    assert compare(schema(Ping), schema(PingDocumented)) == []


def test_losing_a_default_is_breaking() -> None:
    assert compare(schema(PingWithOptionalSite), schema(PingWithRequiredSite)) == [
        "field 'site' became required (it lost its default)"
    ]


class Target(msgspec.Struct):
    name: str


class RenamedTarget(msgspec.Struct):
    name: str


class NumberedTarget(msgspec.Struct):
    name: int


class Observation(msgspec.Struct):
    target: Target


class ObservationRenamed(msgspec.Struct):
    target: RenamedTarget


class ObservationNumbered(msgspec.Struct):
    target: NumberedTarget


def test_nested_structs_are_compared_by_shape_not_by_class_name() -> None:
    assert compare(schema(Observation), schema(ObservationRenamed)) == []
    changes = compare(schema(Observation), schema(ObservationNumbered))
    assert len(changes) == 1
    assert changes[0].startswith("field 'target' changed type")


def test_forbidding_unknown_fields_is_breaking() -> None:
    class StrictPing(msgspec.Struct, forbid_unknown_fields=True):
        ping_id: str
        sequence: int
        note: str = ""

    assert compare(schema(Ping), schema(StrictPing)) == [
        "payload keyword 'additionalProperties' changed: null -> false"
    ]


@pytest.fixture
def committed_schema() -> dict[str, Any]:
    path = default_root() / "contracts/schemas/probe.ping.recorded.v1.json"
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def test_committed_schema_field_descriptions_are_documentation(committed_schema: dict[str, Any]) -> None:
    edited = copy.deepcopy(committed_schema)
    edited["description"] = "Reworded summary."
    edited["properties"]["sequence"]["description"] = "Counter of the producer."
    assert compare(committed_schema, edited) == []


def test_a_field_named_like_an_annotation_is_still_a_field(committed_schema: dict[str, Any]) -> None:
    # "description" is an annotation keyword inside a schema, but a field name inside "properties".
    old = copy.deepcopy(committed_schema)
    old["properties"]["description"] = {"type": "string", "default": ""}
    assert compare(old, committed_schema) == ["field 'description' removed"]


# Bounds: tightening is compatible (a note for the reviewer), loosening is breaking ----------------------


class Plan(msgspec.Struct):
    site: str
    targets: list[str]
    seeing: float | None = None


class PlanBounded(msgspec.Struct):
    site: Annotated[str, msgspec.Meta(max_length=64, pattern="^[A-Z]*$")]
    targets: Annotated[list[Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(max_length=100)]
    seeing: Annotated[float, msgspec.Meta(ge=0.0, le=100.0)] | None = None


class PlanLooser(msgspec.Struct):
    site: Annotated[str, msgspec.Meta(max_length=128, pattern="^[A-Z]*$")]
    targets: Annotated[list[Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(max_length=100)]
    seeing: Annotated[float, msgspec.Meta(ge=-1.0, le=100.0)] | None = None


class PlanOtherPattern(msgspec.Struct):
    site: Annotated[str, msgspec.Meta(max_length=64, pattern="^[A-Za-z]*$")]
    targets: Annotated[list[Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(max_length=100)]
    seeing: Annotated[float, msgspec.Meta(ge=0.0, le=100.0)] | None = None


def test_adding_bounds_is_compatible_and_listed_as_tightenings() -> None:
    assert compare(schema(Plan), schema(PlanBounded)) == []
    assert tightenings(schema(Plan), schema(PlanBounded)) == [
        "bound tightened on field 'seeing' maximum: null -> 100.0",
        "bound tightened on field 'seeing' minimum: null -> 0.0",
        "bound tightened on field 'site' maxLength: null -> 64",
        "bound tightened on field 'site' pattern: null -> \"^[A-Z]*$\"",
        "bound tightened on field 'targets' maxItems: null -> 100",
        "bound tightened on field 'targets[]' maxLength: null -> 200",
    ]


def test_stricter_bounds_are_compatible() -> None:
    assert compare(schema(PlanLooser), schema(PlanBounded)) == []
    assert tightenings(schema(PlanLooser), schema(PlanBounded)) == [
        "bound tightened on field 'seeing' minimum: -1.0 -> 0.0",
        "bound tightened on field 'site' maxLength: 128 -> 64",
    ]


def test_loosening_or_removing_a_bound_is_breaking() -> None:
    loosened = compare(schema(PlanBounded), schema(PlanLooser))
    assert loosened == [
        "bound loosened on field 'seeing' minimum: 0.0 -> -1.0 (a consumer enforcing the old bound refuses)",
        "bound loosened on field 'site' maxLength: 64 -> 128 (a consumer enforcing the old bound refuses)",
    ]
    removed = compare(schema(PlanBounded), schema(Plan))
    assert len(removed) == 6
    assert all(line.startswith("bound loosened") for line in removed)
    assert tightenings(schema(PlanBounded), schema(Plan)) == []


def test_a_changed_pattern_is_breaking() -> None:
    # whether a regular expression accepts less than another is not decided: a new version
    assert compare(schema(PlanBounded), schema(PlanOtherPattern)) == [
        'bound loosened on field \'site\' pattern: "^[A-Z]*$" -> "^[A-Za-z]*$"'
        " (a consumer enforcing the old bound refuses)"
    ]


def test_a_bound_does_not_hide_a_changed_type() -> None:
    class PlanNumbers(msgspec.Struct):
        site: Annotated[str, msgspec.Meta(max_length=64)]
        targets: Annotated[list[int], msgspec.Meta(max_length=100)]
        seeing: float | None = None

    assert compare(schema(Plan), schema(PlanNumbers)) == [
        'field \'targets\' changed type: {"items":{"type":"string"},"type":"array"} -> '
        '{"items":{"type":"integer"},"type":"array"}'
    ]


def test_bounded_mapping_keys_are_a_tightening() -> None:
    class Ids(msgspec.Struct):
        identifiers: dict[str, str]

    class IdsBounded(msgspec.Struct):
        identifiers: Annotated[
            dict[Annotated[str, msgspec.Meta(max_length=32)], str], msgspec.Meta(max_length=8)
        ]

    assert compare(schema(Ids), schema(IdsBounded)) == []
    assert tightenings(schema(Ids), schema(IdsBounded)) == [
        "bound tightened on field 'identifiers' maxProperties: null -> 8",
        "bound tightened on field 'identifiers{key}' maxLength: null -> 32",
    ]
