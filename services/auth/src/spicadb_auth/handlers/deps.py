"""What every handler is given: the domain services bound to the request (built by the factory,
factory.py), the browser helpers and the settings."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide

from spicadb_kit.auth import Principal
from spicadb_kit.context import ServiceContext

from ..config import AuthSettings
from ..factory import Factory
from ..services.admin import Actor, AdminService
from ..services.delegation import Delegation
from ..services.login import LoginService
from ..services.oauth import OAuthService
from .browser import Browser

# the service's context: its own state is the factory, attached by the app's start hook
AuthContext = ServiceContext[AuthSettings, Factory]


def request_id(request: Request[Any, Any, Any]) -> str | None:
    value = request.scope.get("state", {}).get("request_id")
    return str(value) if value else None


def provide_settings(context: NamedDependency[AuthContext]) -> AuthSettings:
    return context.state.process.settings


def provide_admin(
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    context: NamedDependency[AuthContext],
) -> AdminService:
    actor = Actor(subject=principal.subject, client_id=principal.client_id, request_id=request_id(request))
    return context.state.admin(actor)


def provide_logins(context: NamedDependency[AuthContext]) -> LoginService:
    return context.state.logins()


def provide_delegation(context: NamedDependency[AuthContext]) -> Delegation:
    return context.state.delegation()


def provide_oauth(context: NamedDependency[AuthContext]) -> OAuthService:
    return context.state.oauth()


def provide_browser(context: NamedDependency[AuthContext]) -> Browser:
    process = context.state.process
    return Browser(process.settings, process.proxies, process.upstream.label if process.upstream else None)


DEPENDENCIES = {
    "settings": Provide(provide_settings, sync_to_thread=False),
    "admin": Provide(provide_admin, sync_to_thread=False),
    "logins": Provide(provide_logins, sync_to_thread=False),
    "delegation": Provide(provide_delegation, sync_to_thread=False),
    "oauth": Provide(provide_oauth, sync_to_thread=False),
    "browser": Provide(provide_browser, sync_to_thread=False),
}
