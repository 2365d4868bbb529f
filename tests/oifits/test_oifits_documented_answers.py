"""What the oifits service's push answers is in its OpenAPI document: the 200 of bytes pushed before
(the existing file's record), beside the 201 of a new file."""

from __future__ import annotations

from spicadb_oifits.spec import SPEC

from spicadb_kit.runtime.openapi import document


def test_a_file_pushed_again_documents_its_200() -> None:
    responses = document(SPEC)["paths"]["/oifits/files"]["post"]["responses"]
    assert {"200", "201"} <= responses.keys()
    answered = responses["200"]["content"]["application/json"]["schema"]
    assert answered == responses["201"]["content"]["application/json"]["schema"]
    assert answered == {"$ref": "#/components/schemas/FileOut"}
