"""The body of a TAP request as a form (urlencoded or multipart), for the sync and async handlers."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import FormMultiDict


class BadForm(ValueError):
    """A body that cannot be read as a form: the message says why, for the client."""


async def read_form(request: Request[Any, Any, Any]) -> FormMultiDict:
    """The request's form. A field that is not UTF-8 text (a VOTable sent as a plain field rather than a
    file part) is the client's error, not the parser's exception (a 500 before)."""
    try:
        return await request.form()
    except UnicodeDecodeError as exc:
        raise BadForm(
            "a form field is not UTF-8 text: send an upload's VOTable as a file part (with a filename)"
        ) from exc
