"""The catalogue of problem types: every ``type`` a service's problem documents can carry, declared once
with its title, status and meaning, raised through (``raise EXPOSURE_NOT_FOUND("no exposure 12")``) and
listed in the service's OpenAPI document.

The kit declares the types its own machinery answers (validation, bad cursor, tokens and scopes, the HTTP
errors Litestar raises); each service declares its own in ``<package>/problems.py`` and names the
catalogue in its :class:`~spicadb_kit.spec.ServiceSpec` (``problems=CATALOGUE``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import FieldError, Problem

__all__ = [
    "BAD_CURSOR",
    "BAD_REQUEST",
    "CONFLICT",
    "EVENT_TOO_LARGE",
    "FORBIDDEN",
    "INSUFFICIENT_SCOPE",
    "INTERNAL",
    "INTERNAL_SERVER_ERROR",
    "INVALID_TOKEN",
    "KIT",
    "METHOD_NOT_ALLOWED",
    "MISSING_TOKEN",
    "NOT_FOUND",
    "PROBLEM_TYPE_BASE",
    "REQUEST_ENTITY_TOO_LARGE",
    "UNAUTHORIZED",
    "UNPROCESSABLE",
    "UNSUPPORTED_MEDIA_TYPE",
    "VALIDATION",
    "Catalogue",
    "ProblemType",
    "for_status",
]

PROBLEM_TYPE_BASE = "https://spicadb.jmmc.fr/problems/"


@dataclass(frozen=True)
class ProblemType:
    """One kind of problem: ``slug`` names its ``type`` URI, ``title`` is the same on every occurrence,
    ``status`` the HTTP status it is answered with, ``description`` what it means (in the OpenAPI);
    ``also``: the other statuses an occurrence may be answered with (raised with ``status=``)."""

    slug: str
    title: str
    status: int
    description: str
    also: tuple[int, ...] = ()

    @classmethod
    def http(cls, status: int, slug: str, description: str, also: tuple[int, ...] = ()) -> ProblemType:
        """A type titled by its status's reason phrase (``Not Found``), as most types were before
        the catalogue: clients keep reading the same title."""
        return cls(slug, HTTPStatus(status).phrase, status, description, also)

    @property
    def uri(self) -> str:
        """The problem document's ``type``."""
        return PROBLEM_TYPE_BASE + self.slug

    def __call__(
        self,
        detail: str,
        *,
        status: int | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> Problem:
        """A problem of this type, to raise: ``detail`` says what happened this time; ``status`` one of
        ``also`` when this occurrence is answered with another status than the type's."""
        from .errors import BY_STATUS, Problem  # errors builds on this module

        kind = self
        if status is not None and status != self.status:
            if status not in self.also:
                raise ValueError(f"problem type {self.slug} is not answered with {status}")
            kind = replace(self, status=status, also=())  # the same type URI and title
        # of the kit's class for its status, so that ``except NotFound`` still catches it
        problem_class = BY_STATUS.get(kind.status, Problem)
        return problem_class(detail, kind=kind, errors=errors, headers=headers, **extensions)


BAD_REQUEST = ProblemType.http(400, "bad-request", "The request cannot be read as it is")
VALIDATION = ProblemType(
    "validation",
    "Invalid request",
    400,
    "A parameter or body of the wrong shape or type, a NUL character, JSON nested too deeply, a value "
    "out of range (the wrong fields are named in `errors`)",
)
BAD_CURSOR = ProblemType(
    "bad-cursor", "Bad cursor", 400, "The `cursor` is not the `next` of a page of this listing"
)
UNAUTHORIZED = ProblemType.http(401, "unauthorized", "Not authenticated")
MISSING_TOKEN = ProblemType.http(401, "missing-token", "No bearer token where one is required")
INVALID_TOKEN = ProblemType.http(401, "invalid-token", "A bearer token that is malformed, expired or revoked")
FORBIDDEN = ProblemType.http(403, "forbidden", "The caller may not do this")
INSUFFICIENT_SCOPE = ProblemType.http(
    403, "insufficient-scope", "The token lacks a scope this operation requires"
)
NOT_FOUND = ProblemType.http(404, "not-found", "Nothing at this path")
METHOD_NOT_ALLOWED = ProblemType.http(405, "method-not-allowed", "This method is not allowed on this path")
CONFLICT = ProblemType.http(409, "conflict", "Conflicts with the current state")
REQUEST_ENTITY_TOO_LARGE = ProblemType.http(
    413, "request-entity-too-large", "The request body is larger than this operation accepts"
)
EVENT_TOO_LARGE = ProblemType(
    "event-too-large",
    "Event too large",
    413,
    "The change would publish an event larger than the broker carries (its largest fields are named)",
)
UNSUPPORTED_MEDIA_TYPE = ProblemType.http(
    415, "unsupported-media-type", "The request body's media type is not one this operation reads"
)
UNPROCESSABLE = ProblemType.http(422, "unprocessable", "Well-formed but refused by a rule of the domain")
INTERNAL = ProblemType.http(
    500, "internal", "The server failed to handle this request (logged, no internals told)"
)
INTERNAL_SERVER_ERROR = ProblemType.http(
    500,
    "internal-server-error",
    "The web framework failed to handle this request (logged, no internals told)",
)


class Catalogue(Mapping[str, ProblemType]):
    """A service's problem types by slug: the kit's (unless ``kit=False``) and its own."""

    def __init__(self, types: Iterable[ProblemType], *, kit: bool = True) -> None:
        self._types: dict[str, ProblemType] = {}
        for kind in [*(KIT.values() if kit else ()), *types]:
            known = self._types.setdefault(kind.slug, kind)
            if known != kind:
                raise ValueError(f"problem type {kind.slug} declared twice, differently")

    @classmethod
    def of(cls, namespace: Mapping[str, object]) -> Catalogue:
        """The catalogue of every :class:`ProblemType` in a module's namespace (``Catalogue.of(vars())``)."""
        return cls(value for value in namespace.values() if isinstance(value, ProblemType))

    def __getitem__(self, slug: str) -> ProblemType:
        return self._types[slug]

    def __iter__(self) -> Iterator[str]:
        return iter(self._types)

    def __len__(self) -> int:
        return len(self._types)

    def __contains__(self, kind: object) -> bool:
        if isinstance(kind, ProblemType):
            known = self._types.get(kind.slug)
            return known is not None and (
                known == kind or replace(known, status=kind.status, also=()) == kind
            )
        return kind in self._types

    def uris(self) -> list[str]:
        """Every ``type`` URI, sorted (the OpenAPI document's enum)."""
        return sorted(kind.uri for kind in self._types.values())


KIT = Catalogue(
    [
        BAD_REQUEST,
        VALIDATION,
        BAD_CURSOR,
        UNAUTHORIZED,
        MISSING_TOKEN,
        INVALID_TOKEN,
        FORBIDDEN,
        INSUFFICIENT_SCOPE,
        NOT_FOUND,
        METHOD_NOT_ALLOWED,
        CONFLICT,
        REQUEST_ENTITY_TOO_LARGE,
        EVENT_TOO_LARGE,
        UNSUPPORTED_MEDIA_TYPE,
        UNPROCESSABLE,
        INTERNAL,
        INTERNAL_SERVER_ERROR,
    ],
    kit=False,
)


def _phrase_slug(status: int) -> str:
    return HTTPStatus(status).phrase.lower().replace(" ", "-")


_BY_STATUS = {kind.status: kind for kind in KIT.values() if kind.slug == _phrase_slug(kind.status)}


def for_status(status: int) -> ProblemType:
    """The type of an HTTP error Litestar raised (a 404 of no route, a 405, a 413 ...), named after the
    status's reason phrase: the kit's declared one, or (a status the kit does not expect) one made here."""
    known = _BY_STATUS.get(status)
    if known is not None:
        return known
    phrase = HTTPStatus(status).phrase
    return ProblemType(_phrase_slug(status), phrase, status, phrase)
