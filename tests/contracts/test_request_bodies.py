"""Every operation that takes a body says so in its OpenAPI document: its media types and their schemas
(a ``data`` parameter, or ``opt=takes(...)`` when the handler reads the body itself). The operations
that take none are listed here, and claim none."""

from __future__ import annotations

import inspect
import re
from importlib import import_module
from typing import Any

import pytest
from litestar.handlers import HTTPRouteHandler

from spicadb_kit.runtime.openapi import document
from spicadb_kit.spec import ServiceSpec, discover_services

BODY_METHODS = ("post", "put", "patch")
# (service, operationId) of the POST/PUT/PATCH operations that read no body
BODILESS = {
    ("auth", "disableClient"),
    ("auth", "enableClient"),
    ("auth", "rotateClientSecret"),
    ("auth", "rotateKeys"),
    ("auth", "disableUser"),
    ("auth", "enableUser"),
    ("auth", "userinfoPost"),  # the bearer token in its header, as the GET
    ("gateway", "logoutPost"),
    ("web", "consoleAdminReplayDeadLetter"),  # the Replay button: the letter is in its path
    # the admin pages' buttons: the client or the account is in the path
    ("web", "consoleAdminRotateSecret"),
    ("web", "consoleAdminDisableClient"),
    ("web", "consoleAdminEnableClient"),
    ("web", "consoleAdminDisableUser"),
    ("web", "consoleAdminEnableUser"),
}
# what a handler calls when it reads its body itself
READS_BODY = re.compile(
    r"request\.(body|form|json|msgpack|stream)\(|oauth_request\(|_search\(|_body\(|_parameters\(|_given\(|_sent\("
)
SERVICES = list(discover_services())
# the kit's operator route of every service: the letter to replay is named in its path
BODILESS |= {(spec.name, "replayDeadLetter") for spec in SERVICES}


def _operations(spec: ServiceSpec) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document(spec)["paths"].items()
        for method, operation in item.items()
        if method in BODY_METHODS
    ]


def _handlers(spec: ServiceSpec) -> dict[str, HTTPRouteHandler]:
    """The route handlers of the service's app, by operationId (a handler of several methods may name each
    method's operation by a function of the method, as /tap/sync does)."""
    module, _, factory = spec.app.partition(":")
    app = getattr(import_module(module), factory)()
    found: dict[str, HTTPRouteHandler] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler):
                continue
            if isinstance(handler.operation_id, str):
                found[handler.operation_id] = handler
            elif callable(handler.operation_id):
                for method in handler.http_methods:
                    found[str(handler.operation_id(handler, method, route.path))] = handler
    return found


@pytest.mark.parametrize("spec", SERVICES, ids=lambda spec: spec.name)
def test_every_operation_that_takes_a_body_declares_its_media_types(spec: ServiceSpec) -> None:
    for method, path, operation in _operations(spec):
        name = (spec.name, operation["operationId"])
        body = operation.get("requestBody")
        if name in BODILESS:
            assert body is None, f"{method.upper()} {path} reads no body but declares one"
            continue
        assert body is not None, f"{method.upper()} {path}: no requestBody (or list it in BODILESS)"
        assert body["content"], f"{method.upper()} {path}: a requestBody without media types"
        for media_type, content in body["content"].items():
            assert content.get("schema"), f"{method.upper()} {path}: {media_type} without a schema"


@pytest.mark.parametrize("spec", SERVICES, ids=lambda spec: spec.name)
def test_the_bodiless_operations_read_no_body(spec: ServiceSpec) -> None:
    handlers = _handlers(spec)
    for _, _, operation in _operations(spec):
        handler = handlers[operation["operationId"]]
        source = inspect.getsource(handler.fn)
        reads = "data" in handler.parsed_fn_signature.parameters or bool(READS_BODY.search(source))
        assert reads != ((spec.name, operation["operationId"]) in BODILESS), operation["operationId"]


def test_the_bodiless_list_names_existing_operations() -> None:
    ids = {
        (spec.name, operation["operationId"]) for spec in SERVICES for _, _, operation in _operations(spec)
    }
    assert ids >= BODILESS
