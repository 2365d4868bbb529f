"""One error model: every error leaves a service as an RFC 9457 problem document.

Domain code raises :class:`Problem` (or a subclass); validation errors from msgspec and
Litestar are turned into a 400/422 problem listing the fields that are wrong; anything
unexpected becomes a 500 problem without internals, logged with its traceback.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from .logs import get_logger
from .problems import (
    BAD_REQUEST,
    CONFLICT,
    FORBIDDEN,
    INTERNAL,
    NOT_FOUND,
    PROBLEM_TYPE_BASE,  # noqa: F401  (named here before the catalogue had its module)
    UNAUTHORIZED,
    UNPROCESSABLE,
    VALIDATION,
    ProblemType,
    for_status,
)

__all__ = [
    "BY_STATUS",
    "EXCEPTION_HANDLERS",
    "PROBLEM_MEDIA_TYPE",
    "Conflict",
    "FieldError",
    "Forbidden",
    "NotFound",
    "Problem",
    "ProblemDocument",
    "Unauthorized",
    "Unprocessable",
    "problem_response",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"

log = get_logger(__name__)


class FieldError(msgspec.Struct, frozen=True):
    """One wrong field: where (``body.targets[3].ra``, ``query.limit``) and what is wrong."""

    field: str
    message: str


class ProblemDocument(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem document as it is sent, with the request id and the wrong fields when known."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    request_id: str | None = None
    # RFC 9457 extension members: encoded at the top level of the document, beside the standard ones
    extensions: dict[str, Any] | None = None

    def encode(self) -> bytes:
        """The JSON of the document, its extension members beside the standard ones."""
        members = msgspec.to_builtins(self)
        members.update(members.pop("extensions", None) or {})
        return msgspec.json.encode(members)


class Problem(Exception):
    """A failure the client can act on, of a :class:`~spicadb_kit.problems.ProblemType` of the service's
    catalogue: raise the type (``raise NOT_FOUND("no granule 12")``), which makes one of these."""

    kind: ProblemType = BAD_REQUEST

    def __init__(
        self,
        detail: str,
        *,
        kind: ProblemType | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        if extensions.keys() & {"type", "code", "title", "status"}:
            # the type, its title and status are the catalogue's: a bare code is no longer taken
            raise TypeError(f"a problem's type comes from its catalogue, not from {sorted(extensions)}")
        super().__init__(detail)
        self.detail = detail
        if kind is not None:
            self.kind = kind
        self.errors = errors
        self.headers = headers or {}
        self.extensions = extensions or None

    @property
    def status(self) -> int:
        """The HTTP status of the problem's type."""
        status: int = self.kind.status
        return status

    @property
    def code(self) -> str:
        """The short name of the problem's type (the end of its URI)."""
        code: str = self.kind.slug
        return code

    @property
    def title(self) -> str:
        """The title of the problem's type, the same for every occurrence."""
        title: str = self.kind.title
        return title

    def document(self, instance: str | None = None, request_id: str | None = None) -> ProblemDocument:
        """The document answered for this problem at ``instance`` (the request's path)."""
        return ProblemDocument(
            type=self.kind.uri,
            title=self.kind.title,
            status=self.kind.status,
            detail=self.detail,
            instance=instance,
            errors=self.errors,
            request_id=request_id,
            extensions=self.extensions,
        )


class NotFound(Problem):
    """A 404 problem."""

    kind = NOT_FOUND


class Conflict(Problem):
    """A 409 problem."""

    kind = CONFLICT


class Unprocessable(Problem):
    """A 422 problem."""

    kind = UNPROCESSABLE


class Unauthorized(Problem):
    """A 401 problem."""

    kind = UNAUTHORIZED


class Forbidden(Problem):
    """A 403 problem."""

    kind = FORBIDDEN


# the class a type of each status is raised as (ProblemType.__call__)
BY_STATUS: dict[int, type[Problem]] = {
    cls.kind.status: cls for cls in (NotFound, Conflict, Unprocessable, Unauthorized, Forbidden)
}


def problem_response(request: Request[Any, Any, Any], problem: Problem) -> Response[bytes]:
    """The application/problem+json answer of a problem raised by a handler, with the request's path and
    id."""
    request_id = request.scope.get("state", {}).get("request_id")
    body = problem.document(instance=request.url.path, request_id=request_id).encode()
    return Response(body, status_code=problem.status, media_type=PROBLEM_MEDIA_TYPE, headers=problem.headers)


_NAMED_FIELD = re.compile(r"(?:unknown|missing required) field `([^`]+)`")


def _field_errors(extra: Any) -> list[FieldError]:
    # Litestar reports [{"message": ..., "key": "limit", "source": "query"}]; msgspec's own
    # messages end with "- at `$.targets[3].ra`".
    errors: list[FieldError] = []
    for item in extra if isinstance(extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid"))
        location = item.get("key") or ""
        if " - at `$" in message:
            message, path = message.split(" - at `$", 1)
            location = path.rstrip("`").lstrip(".")
        source = item.get("source") or "body"
        source = str(getattr(source, "value", source))  # Litestar passes ParamType members
        if source == "body":
            if location == "data":  # Litestar names the body's root after the handler's `data` argument
                location = ""
            named = _NAMED_FIELD.search(message)
            if named:  # reported at the enclosing object: point at the field itself
                location = f"{location}.{named[1]}".lstrip(".")
        errors.append(FieldError(field=f"{source}.{location}".rstrip("."), message=message))
    return errors


def _on_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    errors = _field_errors(exc.extra)
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or str(exc.detail)
    return problem_response(request, VALIDATION(detail, errors=errors))


def _body_location(path: Sequence[Any]) -> str:
    return "body" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _misread_body_errors(exc: HTTPException) -> list[FieldError] | None:
    """The body's wrong fields when Litestar answered 500 for them: it takes a wrong body field whose
    name is also a dependency's (``observations``) for a dependency that failed. Its cause, msgspec's
    error, says where: under ``data``, the body, it is the client's; anywhere else a real failure."""
    cause = exc.__cause__
    if exc.status_code != 500 or not isinstance(cause, msgspec.ValidationError):
        return None
    errors: list[FieldError] = []
    for item in getattr(cause, "errors", None) or [{"msg": str(cause)}]:
        message, _, at = str(item.get("msg", "")).partition(" - at `$.")
        loc = list(item.get("loc") or []) or [int(p) if p.isdigit() else p for p in _PATH.findall(at)]
        if not loc or loc[0] != "data":
            return None
        errors.append(FieldError(field=_body_location(loc[1:]), message=message))
    return errors


_PATH = re.compile(r"(?<=\[)\d+(?=\])|[^.\[\]`]+")


def _on_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    body_errors = _misread_body_errors(exc)
    if body_errors:
        detail = "; ".join(f"{e.field}: {e.message}" for e in body_errors)
        return problem_response(request, VALIDATION(detail, errors=body_errors))
    problem = for_status(exc.status_code)(str(exc.detail), headers=dict(exc.headers or {}))
    return problem_response(request, problem)


def _on_problem(request: Request[Any, Any, Any], exc: Problem) -> Response[bytes]:
    return problem_response(request, exc)


# the database went away under the request (restarted, failed over, not reachable, full): nothing was
# committed, and the same request may well succeed in a moment
_DATABASE_AWAY: tuple[type[BaseException], ...] = (
    ConnectionError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
)
UNAVAILABLE = for_status(503)


def _database_away(exc: BaseException | None) -> bool:
    """Whether the error, or one it was raised while handling (a rollback on a connection that died
    mid-transaction raises its own InterfaceError or InternalClientError), is the database going away."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, _DATABASE_AWAY):
            return True
        if isinstance(exc, asyncpg.exceptions.InterfaceError) and "connection is closed" in str(exc):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    if _database_away(exc):
        log.warning("database unavailable", path=request.url.path, method=request.method, error=repr(exc))
        detail = "The database cannot be reached at the moment; nothing was done. Try again shortly."
        return problem_response(request, UNAVAILABLE(detail, headers={"Retry-After": "1"}))
    log.exception("unhandled error", path=request.url.path, method=request.method)
    return problem_response(request, INTERNAL("The server failed to handle this request."))


def _on_unstorable_text(request: Request[Any, Any, Any], exc: asyncpg.DataError) -> Response[bytes]:
    # the request checks refuse NUL in paths, queries, JSON and forms; this catches the other ways in
    log.warning("text the database cannot store", path=request.url.path, sqlstate=exc.sqlstate)
    detail = "A text value holds a character that cannot be stored (a NUL, or not valid UTF-8)."
    return problem_response(request, VALIDATION(detail))


def _on_bad_value(request: Request[Any, Any, Any], exc: asyncpg.DataError) -> Response[bytes]:
    # a value the handler let through that PostgreSQL (or asyncpg's encoding) refuses: out of range,
    # malformed. The client's to fix; logged so the missing check gets written.
    log.warning("value refused by the database", path=request.url.path, error=str(exc)[:200])
    detail = "A value of the request is out of range or malformed."
    return problem_response(request, VALIDATION(detail))


def _on_overflow(request: Request[Any, Any, Any], exc: OverflowError) -> Response[bytes]:
    # arithmetic on a value the handler let through left its type's range (a date past 9999-12-31)
    log.warning("value out of range", path=request.url.path, error=str(exc)[:200])
    detail = "A value of the request is out of range."
    return problem_response(request, VALIDATION(detail))


def _on_recursion(request: Request[Any, Any, Any], exc: RecursionError) -> Response[bytes]:
    # a body nested beyond what the decoders recurse into (the request checks refuse JSON deeper than
    # they need); no traceback: a thousand identical frames say nothing
    log.warning("input nested too deeply", path=request.url.path)
    detail = "The request is nested too deeply to be read."
    return problem_response(request, VALIDATION(detail))


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    Problem: _on_problem,
    ValidationException: _on_validation,
    HTTPException: _on_http,
    asyncpg.CharacterNotInRepertoireError: _on_unstorable_text,
    asyncpg.UntranslatableCharacterError: _on_unstorable_text,
    asyncpg.DataError: _on_bad_value,
    RecursionError: _on_recursion,
    OverflowError: _on_overflow,
    Exception: _on_unexpected,
}
