"""The kit documents every operation's error answers as RFC 9457 problem documents, from the route's
guards, parameters and body; handlers answering bytes document their media types."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from spicadb_auth.spec import SPEC as AUTH
from spicadb_obsportal.spec import SPEC as OBSPORTAL
from spicadb_programmes.spec import SPEC as PROGRAMMES

from spicadb_kit.runtime.openapi import document

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    logging.disable(logging.WARNING)  # apps built outside a deployment warn about their settings
    try:
        return {spec.name: document(spec) for spec in (PROGRAMMES, OBSPORTAL, AUTH)}
    finally:
        logging.disable(logging.NOTSET)


def answers(documents: dict[str, dict[str, Any]], service: str, path: str, method: str) -> dict[str, Any]:
    responses: dict[str, Any] = documents[service]["paths"][path][method]["responses"]
    return responses


def test_guarded_routes_document_401_403_and_path_ids_404(documents: dict[str, dict[str, Any]]) -> None:
    responses = answers(documents, "programmes", "/programmes/{code}/targets/{target_id}", "patch")
    assert {"400", "401", "403", "404", "409", "413", "422"} <= responses.keys()
    for status in ("400", "401", "403", "404", "409", "413", "422"):
        schema = responses[status]["content"][PROBLEM]["schema"]
        assert schema == {"$ref": "#/components/schemas/ProblemDetails"}, status
    problem = documents["programmes"]["components"]["schemas"]["ProblemDetails"]
    assert {"type", "title", "status"} <= set(problem["required"])


def test_anonymous_routes_without_a_viewer_document_no_401(documents: dict[str, dict[str, Any]]) -> None:
    assert "401" not in answers(documents, "auth", "/.well-known/openid-configuration", "get")
    # a route that also answers without a token still verifies one it is given
    assert "401" in answers(documents, "obsportal", "/obsportal/exposures", "get")


def test_handlers_answering_bytes_document_their_media_types(documents: dict[str, dict[str, Any]]) -> None:
    export = answers(documents, "programmes", "/programmes/{code}/targets/export", "get")["200"]["content"]
    assert set(export) == {"application/json", "application/x-votable+xml", "text/csv"}
    assert export["application/json"]["schema"] == {"$ref": "#/components/schemas/TargetExport"}
    scs = answers(documents, "obsportal", "/obsportal/scs", "get")
    assert set(scs["200"]["content"]) == {"application/x-votable+xml"}
    assert set(scs["400"]["content"]) == {PROBLEM, "application/x-votable+xml"}
    token = answers(documents, "auth", "/oauth/token", "post")
    assert "200" in token
    # OAuth 2's error, and the kit's problem when its request checks refuse the form (a NUL character)
    assert set(token["400"]["content"]) == {"application/json", PROBLEM}
