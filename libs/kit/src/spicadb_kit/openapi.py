"""The error answers of every operation in a service's OpenAPI document, written once for all services:
RFC 9457 problem documents (``application/problem+json``) as :mod:`spicadb_kit.errors` writes them,
for the statuses the kit's own machinery can answer on that route (its guards, its parameters, its body).

A handler's own ``responses`` win over these defaults (a route documents a 409 with its own words, or
answers something other than a problem at a status, as the OAuth endpoints do).

A handler that answers bytes (``Response[bytes]``: a VOTable, a CSV, a FITS file, a PNG) names their media
types with ``opt=answers("text/csv", ...)``: its success answer is documented with those instead of the
JSON string Litestar would assume (beside a JSON body the handler documents through ``responses``).

A handler that reads its body itself (``request.body()``, ``request.form()``, ``request.stream()``: no
``data`` parameter tells Litestar what it takes) declares it with ``opt=takes(...)``: its media types and
their schemas (:func:`form` for a form's fields, :func:`text` and :func:`binary` for raw documents).

The problem documents' ``type`` lists the service's catalogue of problem types (``ServiceSpec.problems``):
their URIs as an enum, and each one's status, title and meaning in its description.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)
from litestar.plugins import OpenAPISchemaPluginProtocol
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

from .errors import PROBLEM_MEDIA_TYPE, FieldError
from .problems import Catalogue, ProblemType
from .spec import ServiceSpec

__all__ = [
    "BODY_METHODS",
    "CHANGE_METHODS",
    "ERROR_MEDIA_TYPES",
    "MEDIA_TYPES",
    "REQUEST_BODY",
    "RESERVED",
    "WHY",
    "ProblemDetails",
    "ProblemTypeURI",
    "ProblemTypes",
    "answers",
    "binary",
    "document_errors",
    "error_statuses",
    "form",
    "problem_responses",
    "takes",
    "text",
]


class ProblemTypeURI(str):
    """A problem document's ``type``: documented as the service's catalogue (see :class:`ProblemTypes`)."""


class ProblemDetails(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem document; members particular to a problem type may be added beside these."""

    type: ProblemTypeURI
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    # the fields that are wrong (400, 422), e.g. ``query.limit``, ``body.targets[3].ra``
    errors: list[FieldError] | None = None
    request_id: str | None = None


WHY: dict[int, str] = {
    400: "Malformed request: a parameter or body of the wrong shape or type, a NUL character, JSON "
    "nested too deeply (the fields are named)",
    401: "No valid bearer token: none where one is required, or one that is invalid, expired or revoked",
    403: "The token lacks a scope this operation requires",
    404: "Nothing at this path (an id or name that does not exist, or that the caller may not see)",
    405: "This method is not allowed on this path",
    409: "Conflicts with the current state (exists already, changed meanwhile, a rule of the lifecycle)",
    413: "The request body is larger than this operation accepts",
    415: "The request body's media type (Content-Type) is not one this operation reads",
    422: "Well-formed but refused by a rule of the domain (the fields are named)",
    429: "Too many requests from this client: retry after the Retry-After header's seconds",
    507: "No room left to store it: nothing was kept; the same request succeeds once space is freed",
}

# handler arguments that are no input of the caller's (Litestar's reserved names)
RESERVED = frozenset({"self", "request", "socket", "state", "scope", "headers", "cookies", "query", "body"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
CHANGE_METHODS = BODY_METHODS | {"DELETE"}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI responses: a problem document at each of these statuses."""
    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            description=WHY[status],
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status in sorted(set(statuses))
    }


MEDIA_TYPES = "answers"


ERROR_MEDIA_TYPES = "answers_errors"


def answers(*media_types: str, errors: tuple[int, ...] = ()) -> dict[str, Any]:
    """A handler's ``opt``: the media types of its success answer when it answers bytes, and the error
    statuses it answers in them too (the VO protocols answer their errors as VOTables)."""
    return {MEDIA_TYPES: tuple(media_types), ERROR_MEDIA_TYPES: tuple(errors)}


REQUEST_BODY = "takes"


def takes(
    content: Mapping[str, Schema | Reference], description: str, *, required: bool = True
) -> dict[str, Any]:
    """A handler's ``opt``: the body it reads itself, by media type (combine with :func:`answers` by
    ``{**takes(...), **answers(...)}``)."""
    body = RequestBody(
        content={media: OpenAPIMediaType(schema=schema) for media, schema in content.items()},
        description=description,
        required=required,
    )
    return {REQUEST_BODY: body}


def form(fields: Mapping[str, Schema], *, required: tuple[str, ...] = (), description: str = "") -> Schema:
    """The schema of an ``application/x-www-form-urlencoded`` body: its fields, by name."""
    return Schema(
        type=OpenAPIType.OBJECT,
        properties=dict(fields),
        required=list(required) or None,
        description=description or None,
    )


def text(description: str) -> Schema:
    """A raw text document (a CSV, a VOTable) as the body."""
    return Schema(type=OpenAPIType.STRING, description=description)


def binary(description: str = "") -> Schema:
    """Raw bytes (a FITS file) as the body."""
    return Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY, description=description or None)


def _content(media_type: str) -> OpenAPIMediaType:
    if media_type.split(";")[0].endswith(("+json", "/json")):
        return OpenAPIMediaType(schema=Schema())  # any JSON value
    text = media_type.startswith("text/") or media_type.split(";")[0].endswith(("+xml", "/xml"))
    binary = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
    return OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING) if text else binary)


# the kit's request checks (NUL, deep JSON, a malformed form) answer a problem at 400 before any handler;
# Litestar's router a problem at 404 for a path parameter that is not of its type (a uuid)
CHECKED = 400
UNROUTED = 404
_PROBLEM = OpenAPIMediaType(schema=Reference(ref="#/components/schemas/ProblemDetails"))


def _operation(
    body: RequestBody | None,
    media_types: tuple[str, ...],
    errors: tuple[int, ...],
    checked: tuple[int, ...] = (),
) -> type[Operation]:
    """An Operation that declares ``body`` as its request body, documents these media types on its
    success answer (the lowest 2xx) and on the ``errors`` statuses, and the kit's problem beside the
    handler's own answer at the ``checked`` statuses."""

    @dataclass
    class DocumentedOperation(Operation):
        def __post_init__(self) -> None:
            if body is not None:
                self.request_body = body
            for checked_status in checked:
                own = (self.responses or {}).get(str(checked_status))
                if isinstance(own, OpenAPIResponse):
                    own.content = {**(own.content or {}), PROBLEM_MEDIA_TYPE: _PROBLEM}
            if not media_types:
                return
            responses = self.responses = self.responses or {}
            success = sorted(k for k in responses if str(k).startswith("2"))
            for status in success[:1] + [str(e) for e in errors]:
                response = responses.get(status)
                if response is None:  # an error answered only in these types
                    response = responses[status] = OpenAPIResponse(description=WHY.get(int(status), "Error"))
                if not isinstance(response, OpenAPIResponse):
                    continue
                content = dict(response.content or {})
                as_json = content.get("application/json")
                guessed = isinstance(as_json, OpenAPIMediaType) and isinstance(as_json.schema, Schema)
                if guessed and "application/json" not in media_types:
                    # Litestar's guess for a handler answering bytes or a Response (a model the
                    # handler documents in its responses is a reference, and stays)
                    del content["application/json"]
                for media_type in media_types:
                    content[media_type] = _content(media_type)
                response.content = content

    return DocumentedOperation


def _is_scope_guard(guard: Any) -> bool:
    inner = getattr(guard, "func", guard)  # Litestar wraps guards in an AsyncCallable
    return str(getattr(inner, "__qualname__", "")).startswith("requires.")


def error_statuses(route: HTTPRoute, handler: HTTPRouteHandler, spec: ServiceSpec) -> set[int]:
    """The error statuses the kit can answer on this route."""
    statuses = {400}  # the request checks (NUL, deep JSON) and the validation of parameters and bodies
    anonymous = bool(handler.opt.get("anonymous"))
    # a route that also answers without a token still verifies one it is given (the data rights' viewer)
    if not anonymous or spec.kit_components:
        statuses.add(401)
    if any(_is_scope_guard(guard) for guard in handler.resolve_guards()):
        statuses.add(403)
    if route.path_parameters:
        statuses.add(404)
    methods = set(handler.http_methods)
    inputs = set(handler.parsed_fn_signature.parameters) - set(handler.resolve_dependencies()) - RESERVED
    if inputs or methods & CHANGE_METHODS:
        statuses.add(422)  # a value the domain refuses (a cursor that is no page's, a rule)
    if methods & CHANGE_METHODS and not anonymous:
        statuses.add(409)  # a change of state (an anonymous POST is a search)
    if methods & BODY_METHODS:
        statuses.add(413)
        if "data" not in inputs:  # the handler reads the raw body: it decides by its media type
            statuses.add(415)
    if spec.name == "gateway":
        statuses.add(429)  # every route of the gateway is rate-limited
    return statuses


def _statuses(kind: ProblemType) -> str:
    return " or ".join(str(status) for status in (kind.status, *kind.also))


class ProblemTypes(OpenAPISchemaPluginProtocol):
    """The schema of :class:`ProblemTypeURI` in one service's document: its catalogue's URIs."""

    def __init__(self, catalogue: Catalogue | None) -> None:
        self.catalogue = catalogue  # None: a service not catalogued yet, whose ``type`` is any string

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        """Litestar's plugin hook: this plugin writes the schema of ProblemTypeURI only."""
        return value is ProblemTypeURI

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        """The ``type`` member's schema: an enum of the catalogue's URIs, each described, or any
        string for a service without a catalogue."""
        if self.catalogue is None:
            return Schema(type=OpenAPIType.STRING)
        kinds = sorted(self.catalogue.values(), key=lambda kind: (kind.status, kind.slug))
        listed = "\n".join(f"- `{k.slug}` ({_statuses(k)}, {k.title}): {k.description}" for k in kinds)
        return Schema(
            type=OpenAPIType.STRING,
            enum=self.catalogue.uris(),
            description=f"The problem type, one of this service's:\n{listed}",
        )


def document_errors(app: Litestar, spec: ServiceSpec) -> None:
    """Give every operation of ``app`` its problem answers (before its OpenAPI document is built), and
    the problem documents' ``type`` the service's catalogue."""
    # Litestar's registry of schema plugins, read when the document is built
    app.plugins.openapi = (ProblemTypes(spec.problems), *app.plugins.openapi)
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.include_in_schema:
                continue
            defaults = problem_responses(*error_statuses(route, handler, spec))
            own = handler.responses or {}
            handler.responses = {**defaults, **own}
            # a handler answering its 400 (OAuth 2's errors) or its 404 (the console's pages) in another
            # media type gets the kit's problem beside it
            checked = tuple(
                status
                for status in (CHECKED, UNROUTED)
                if status in defaults and status in own and own[status].media_type != PROBLEM_MEDIA_TYPE
            )
            body = handler.opt.get(REQUEST_BODY)
            media_types = tuple(handler.opt.get(MEDIA_TYPES) or ())
            if body is not None or media_types or checked:
                errors = tuple(handler.opt.get(ERROR_MEDIA_TYPES) or ())
                handler.operation_class = _operation(body, media_types, errors, checked)
