"""The OpenAPI request bodies of the form posts (read by the handlers themselves, ``request.form()``):
their fields as RFC 6749, 7009 and 7662 name them, and the login page's."""

from __future__ import annotations

from typing import Any

from litestar.openapi.spec import OpenAPIType, Schema

from spicadb_kit.openapi import form, takes

FORM = "application/x-www-form-urlencoded"


def _field(description: str, *values: str) -> Schema:
    return Schema(type=OpenAPIType.STRING, description=description, enum=list(values) or None)


_CSRF = _field("the login page's anti-forgery token (its hidden field)")
_CLIENT = {  # client authentication in the body (RFC 6749 §2.3.1), instead of HTTP Basic
    "client_id": _field("the client's id (a public client; or with client_secret)"),
    "client_secret": _field("the client's secret (client_secret_post)"),
}
_TOKEN = {
    "token": _field("the token"),
    "token_type_hint": _field("what the token is, a hint", "access_token", "refresh_token"),
}


def _form(fields: dict[str, Schema], required: tuple[str, ...], description: str) -> dict[str, Any]:
    return takes({FORM: form(fields, required=required)}, description)


SIGN_IN = _form(
    {"username": _field("the account's name"), "password": _field("its password"), "csrf_token": _CSRF},
    (),
    "the login page's form (the code flow's parameters stay in the query)",
)
SIGN_OUT = _form({"csrf_token": _CSRF}, (), "the sign-out button's form")
TOKEN = _form(
    {
        "grant_type": _field("the grant", "client_credentials", "authorization_code", "refresh_token"),
        "code": _field("authorization_code: the code the client received"),
        "redirect_uri": _field("authorization_code: the redirect URI of the authorization request"),
        "code_verifier": _field("authorization_code: the PKCE verifier (RFC 7636)"),
        "refresh_token": _field("refresh_token: the refresh token"),
        "scope": _field("the scopes asked for, space-separated (at most those granted)"),
        **_CLIENT,
    },
    ("grant_type",),
    "a token request (RFC 6749 §4.1.3, §4.4.2, §6)",
)
REVOKE = _form({**_TOKEN, **_CLIENT}, ("token",), "a revocation request (RFC 7009 §2.1)")
INTROSPECT = _form({**_TOKEN, **_CLIENT}, ("token",), "an introspection request (RFC 7662 §2.1)")
