"""What every handler is given: the domain services bound to the request, the browser helpers
and the settings, all built here from the process's singletons."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide

from spicadb_kit.auth import Principal
from spicadb_kit.context import ServiceContext

from ..config import AuthSettings
from ..runtime import AuthRuntime
from ..services.admin import Actor, AdminService
from ..services.delegation import Delegation
from ..services.login import LoginService
from ..services.oauth import OAuthService
from .browser import Browser

# where the app's start hook leaves the process's singletons in the kit's context
RUNTIME = "auth"


def _runtime(context: ServiceContext) -> AuthRuntime:
    runtime = context.extras[RUNTIME]
    assert isinstance(runtime, AuthRuntime)
    return runtime


def request_id(request: Request[Any, Any, Any]) -> str | None:
    value = request.scope.get("state", {}).get("request_id")
    return str(value) if value else None


def provide_settings(context: NamedDependency[ServiceContext]) -> AuthSettings:
    return _runtime(context).settings


def provide_admin(
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    context: NamedDependency[ServiceContext],
) -> AdminService:
    actor = Actor(subject=principal.subject, client_id=principal.client_id, request_id=request_id(request))
    return AdminService(_runtime(context), actor)


def provide_logins(context: NamedDependency[ServiceContext]) -> LoginService:
    return _runtime(context).logins


def provide_delegation(context: NamedDependency[ServiceContext]) -> Delegation:
    return Delegation(_runtime(context))


def provide_oauth(context: NamedDependency[ServiceContext]) -> OAuthService:
    runtime = _runtime(context)
    return OAuthService(runtime.db, runtime.server, runtime.settings, runtime.keyring)


def provide_browser(context: NamedDependency[ServiceContext]) -> Browser:
    runtime = _runtime(context)
    return Browser(runtime.settings, runtime.proxies, runtime.upstream.label if runtime.upstream else None)


DEPENDENCIES = {
    "settings": Provide(provide_settings, sync_to_thread=False),
    "admin": Provide(provide_admin, sync_to_thread=False),
    "logins": Provide(provide_logins, sync_to_thread=False),
    "delegation": Provide(provide_delegation, sync_to_thread=False),
    "oauth": Provide(provide_oauth, sync_to_thread=False),
    "browser": Provide(provide_browser, sync_to_thread=False),
}
