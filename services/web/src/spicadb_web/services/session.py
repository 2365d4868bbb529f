"""The APIs as one visitor calls them: the process's API client with the visitor's token and request id.
Every area of the console (services/<area>.py) reads and writes through one of these."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from ..api import Api, ApiProblem, Params
from .caller import Caller

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ApiSession:
    api: Api
    caller: Caller
    # rows of a page (targets, programmes, nights, files...)
    page_size: int

    async def get(self, api_path: str, params: Params | None = None) -> Any:
        """The decoded JSON answer of ``GET api_path`` (ApiProblem raised when refused)."""
        return await self.api.get(api_path, self.caller.token, params, self.caller.request_id)

    async def download(self, api_path: str, params: Params | None = None) -> bytes:
        """The bytes of ``GET api_path`` as they came: an export (ApiProblem raised when refused)."""
        return await self.api.download(api_path, self.caller.token, params, self.caller.request_id)

    async def post(self, api_path: str, body: Any) -> Any:
        """The decoded JSON answer of ``POST api_path`` with a JSON body (ApiProblem raised when refused)."""
        return await self.api.post(api_path, self.caller.token, body, self.caller.request_id)

    async def upload(
        self, api_path: str, content: bytes, content_type: str, params: Params | None = None
    ) -> Any:
        """The decoded JSON answer of ``POST api_path`` with raw bytes of this media type (a file)."""
        return await self.api.upload(
            api_path, self.caller.token, content, content_type, params, self.caller.request_id
        )

    async def get_linked(self, api_path: str, params: Params | None = None) -> tuple[Any, str | None]:
        """``GET api_path``'s decoded answer and the cursor of its next page (its ``Link`` header)."""
        return await self.api.get_linked(api_path, self.caller.token, params, self.caller.request_id)

    async def put(self, api_path: str, body: Any) -> Any:
        """The decoded JSON answer of ``PUT api_path`` with a JSON body (ApiProblem raised when refused)."""
        return await self.api.put(api_path, self.caller.token, body, self.caller.request_id)


async def optional(call: Awaitable[T]) -> T | ApiProblem:
    """A part of a page: the API's problem instead of the answer when it refused (403, 404, 5xx), so the
    rest of the page still shows."""
    try:
        return await call
    except ApiProblem as problem:
        return problem


def path(*segments: str) -> str:
    """An API path from segments that may hold any character (a programme code, a night)."""
    return "/" + "/".join(quote(s, safe="") for s in segments)
