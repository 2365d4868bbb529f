"""What the night logs' handlers answer is in the service's OpenAPI document: the 200 of a change that
changes nothing (the same flag again, the same log again), beside the 201 of a new one."""

from __future__ import annotations

from spicadb_nightlogs.spec import SPEC

from spicadb_kit.runtime.openapi import document


def test_the_same_flag_or_log_again_documents_its_200() -> None:
    paths = document(SPEC)["paths"]
    for path, model in (
        ("/nightlogs/observations/{observation_id}/flags", "ObservationOut"),
        ("/nightlogs/logs/{site}/{night}", "IngestReport"),
    ):
        responses = paths[path]["post"]["responses"]
        assert {"200", "201"} <= responses.keys(), path
        answered = responses["200"]["content"]["application/json"]["schema"]
        assert answered == {"$ref": f"#/components/schemas/{model}"}, path
