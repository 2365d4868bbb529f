"""The platform's public APIs as the console calls them: through the gateway, with the visitor's token
(never another service's database). One httpx client per process, its connections kept alive; a page
that needs several answers asks for them at once (``asyncio.gather``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import msgspec

from .config import WebSettings

# query parameters as httpx takes them: repeated names as a list of pairs
Params = Mapping[str, str | int] | Sequence[tuple[str, str | int]]


class ApiProblem(Exception):
    """An API answered with an error: its problem document's status, title, detail and wrong fields."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        errors: Sequence[Mapping[str, Any]] = (),
        extensions: Mapping[str, Any] | None = None,
    ):
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = list(errors)
        # the members particular to the problem's type (an import's error_count, duplicates...)
        self.extensions = dict(extensions or {})


class SignInAgain(Exception):
    """The API refused the token (expired, revoked): the visitor must sign in again."""


# the members every problem document has (RFC 9457 and the platform's errors)
_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "errors"})


def _problem(response: httpx.Response) -> ApiProblem:
    try:
        document = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        document = None
    if not isinstance(document, dict):
        return ApiProblem(response.status_code, response.reason_phrase or "Error")
    errors = document.get("errors")
    return ApiProblem(
        response.status_code,
        str(document.get("title") or response.reason_phrase or "Error"),
        str(document.get("detail") or ""),
        [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else (),
        {k: v for k, v in document.items() if k not in _MEMBERS},
    )


class Api:
    """The gateway's API for one process; each call carries the visitor's token."""

    def __init__(self, settings: WebSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        limits = httpx.Limits(
            max_connections=settings.api_connections, max_keepalive_connections=settings.api_connections
        )
        self.upload_timeout = settings.api_upload_timeout
        # the platform's health as the home page last had it: (monotonic time, report), shared by the
        # process's admins (services/operations.py recent_health)
        self.recent_health: tuple[float, Any] | None = None
        self.client = httpx.AsyncClient(
            base_url=settings.api_base,
            timeout=settings.api_timeout,
            limits=limits,
            transport=transport,
            follow_redirects=False,
            headers={"Accept": "application/json"},
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def get(
        self, path: str, token: str, params: Params | None = None, request_id: str | None = None
    ) -> Any:
        """The decoded JSON answer of ``GET path``; an error answer raises ApiProblem (401: SignInAgain)."""
        pairs = params.items() if isinstance(params, Mapping) else params or ()
        return await self._call("GET", path, token, request_id, params=urlencode(list(pairs)))

    async def download(
        self, path: str, token: str, params: Params | None = None, request_id: str | None = None
    ) -> bytes:
        """The bytes of ``GET path`` as they came (an export); an error answer raises ApiProblem."""
        pairs = params.items() if isinstance(params, Mapping) else params or ()
        content: bytes = await self._call(
            "GET", path, token, request_id, params=urlencode(list(pairs)), raw=True
        )
        return content

    async def post(self, path: str, token: str, body: Any, request_id: str | None = None) -> Any:
        """The decoded JSON answer of ``POST path`` with a JSON body (the visitor's bearer token: no CSRF
        header needed); an error answer raises ApiProblem (401: SignInAgain)."""
        content = msgspec.json.encode(body)
        return await self._call(
            "POST", path, token, request_id, content=content, content_type="application/json"
        )

    async def upload(
        self,
        path: str,
        token: str,
        content: bytes,
        content_type: str,
        params: Params | None = None,
        request_id: str | None = None,
    ) -> Any:
        """The decoded JSON answer of ``POST path`` with raw bytes of this media type (a file the visitor
        sent, forwarded as it is); an error answer raises ApiProblem (401: SignInAgain)."""
        pairs = params.items() if isinstance(params, Mapping) else params or ()
        response = await self._send(
            "POST",
            path,
            token,
            request_id,
            params=urlencode(list(pairs)),
            content=content,
            content_type=content_type,
            timeout=self.upload_timeout,
        )
        return msgspec.json.decode(response.content)

    async def put(self, path: str, token: str, body: Any, request_id: str | None = None) -> Any:
        """The decoded JSON answer of ``PUT path`` with a JSON body (replacing a whole value: roles)."""
        content = msgspec.json.encode(body)
        return await self._call(
            "PUT", path, token, request_id, content=content, content_type="application/json"
        )

    async def get_linked(
        self, path: str, token: str, params: Params | None = None, request_id: str | None = None
    ) -> tuple[Any, str | None]:
        """``GET path``'s decoded answer and the next page's cursor, from its RFC 8288 ``Link`` header
        (the listings that page so: the audit trail); None on the last page."""
        pairs = params.items() if isinstance(params, Mapping) else params or ()
        response = await self._send("GET", path, token, request_id, params=urlencode(list(pairs)))
        following = response.links.get("next", {}).get("url")
        cursor = parse_qs(urlsplit(following).query).get("cursor", [None])[0] if following else None
        return msgspec.json.decode(response.content), cursor

    async def _call(
        self,
        method: str,
        path: str,
        token: str,
        request_id: str | None,
        *,
        params: str | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        raw: bool = False,
    ) -> Any:
        response = await self._send(
            method, path, token, request_id, params=params, content=content, content_type=content_type
        )
        return response.content if raw else msgspec.json.decode(response.content)

    async def _send(
        self,
        method: str,
        path: str,
        token: str,
        request_id: str | None,
        *,
        params: str | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """The API's answer when it is not an error (ApiProblem raised, 401: SignInAgain); ``timeout``:
        this call's seconds instead of the client's."""
        headers = {"Authorization": "Bearer " + token}
        if request_id:
            headers["X-Request-ID"] = request_id
        if content_type:
            headers["Content-Type"] = content_type
        try:
            response = await self.client.request(
                method,
                path,
                params=params,
                content=content,
                headers=headers,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            )
        except httpx.TimeoutException as exc:
            raise ApiProblem(504, "Gateway Timeout", f"the platform did not answer {path} in time") from exc
        except httpx.TransportError as exc:
            raise ApiProblem(502, "Bad Gateway", f"the platform could not be reached for {path}") from exc
        if response.status_code == 401:
            raise SignInAgain(path)
        if response.status_code >= 400:
            raise _problem(response)
        return response
