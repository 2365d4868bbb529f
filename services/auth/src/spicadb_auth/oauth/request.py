"""Litestar requests as authlib sees them, and authlib's answers as Litestar responses."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from litestar import Request, Response

from ..config import AuthSettings


class Payload(OAuth2Payload):  # type: ignore[misc]
    """Query and form parameters together (what ``request.values`` is to Flask)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class OAuthRequest(OAuth2Request):  # type: ignore[misc]
    """An HTTP request for authlib, read entirely before it goes to the worker thread."""

    def __init__(
        self,
        method: str,
        uri: str,
        headers: dict[str, str],
        args: dict[str, str],
        form: dict[str, str],
        pairs: list[tuple[str, str]],
    ) -> None:
        super().__init__(method, uri, headers=headers)
        self._args = args
        self._form = form
        self.payload = Payload(pairs)
        # when the person signed in (for the ID token's auth_time), set by the authorize handler
        self.auth_time: datetime | None = None

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _Headers(dict[str, str]):
    """Case-insensitive reads, as authlib looks up ``Authorization`` by that exact name."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


async def oauth_request(
    request: Request[Any, Any, Any], settings: AuthSettings, *, with_form: bool = True
) -> OAuthRequest:
    """The public URL (the issuer's origin: what clients see), the headers, the query and, for a
    form post, the form; the login form's own fields are kept out of the OAuth parameters."""
    query = request.url.query
    uri = settings.url(request.url.path) + (f"?{query}" if query else "")
    headers = _Headers({k.lower(): v for k, v in request.headers.items()})
    query_pairs = [(k, v) for k, values in request.query_params.dict().items() for v in values]
    form_pairs: list[tuple[str, str]] = []
    if with_form and request.method == "POST":
        form = await request.form()
        form_pairs = [(k, v) for k, values in form.dict().items() for v in values if isinstance(v, str)]
    return OAuthRequest(
        request.method,
        uri,
        headers,
        args={k: v for k, v in reversed(query_pairs)},
        form={k: v for k, v in reversed(form_pairs)},
        pairs=query_pairs + form_pairs,
    )


@dataclass(frozen=True)
class OAuthResponse:
    """What authlib answers: a status, a body (a dict for JSON) and headers."""

    status: int
    body: Any
    headers: list[tuple[str, str]]

    @property
    def location(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "location"), None)

    @property
    def json(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}

    def to_litestar(self, extra_headers: dict[str, str] | None = None) -> Response[bytes]:
        headers = {k: v for k, v in self.headers if k.lower() != "content-type"}
        headers.update(extra_headers or {})
        media_type = next((v for k, v in self.headers if k.lower() == "content-type"), "application/json")
        if isinstance(self.body, (dict, list)):
            content = msgspec.json.encode(self.body)
        else:
            content = str(self.body or "").encode()
        return Response(content, status_code=self.status, headers=headers, media_type=media_type)
