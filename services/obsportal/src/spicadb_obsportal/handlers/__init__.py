"""HTTP handlers of obsportal: thin controllers over the domain services."""

from __future__ import annotations

from typing import Any

from litestar import HttpMethod
from litestar.types import Method

# every GET route answers HEAD too (the gateway lets HEAD through wherever it lets GET)
READ_METHODS = [HttpMethod.GET, HttpMethod.HEAD]


def operation(name: str) -> Any:
    """One OpenAPI operation id per method of a GET/HEAD route: ``name``, ``<name>Head``."""

    def create(_handler: Any, method: Method, _path: Any) -> str:
        return name if method == HttpMethod.GET else f"{name}Head"

    return create
