"""The merged OpenAPI document at the gateway's ``/openapi.json``: every routed service's own document,
as one API on one origin.

- Paths are kept as the services declare them (services answer under their gateway prefix), and only
  the paths the route policy sends to that service are listed; a path two services declare goes to
  the one the policy routes it to, and the other is reported under ``x-spicadb-collisions``.
- Components with the same name and different content are renamed ``<service>_<name>`` (and every
  ``$ref`` of that service's document follows), identical ones are shared.
- Operations get their service as a tag, a unique operationId, and the security the gateway enforces
  (bearer token or session, with the route's scopes; none on anonymous routes).
- A forwarded operation also documents what the gateway itself answers there (GATEWAY_ANSWERS: a bad
  path, a refused token, a body too large, its rate limit, the service down or slow): problem documents
  of the gateway's catalogue, beside the service's own at the same status (``anyOf``).
- Cached for ``openapi_ttl_seconds``; an upstream that does not answer is listed as unavailable under
  ``x-spicadb-services`` and the document is rebuilt sooner.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable
from typing import Any

import httpx

from spicadb_kit.errors import PROBLEM_MEDIA_TYPE
from spicadb_kit.logs import get_logger

from .config import GatewaySettings
from .policy import LOCAL, Route, RoutePolicy

log = get_logger(__name__)

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PARTIAL_TTL = 5.0


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            k: (renames.get(v, v) if k == "$ref" and isinstance(v, str) else _rewrite_refs(v, renames))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(v, renames) for v in node]
    return node


# an RFC 9457 problem document, inline: when the gateway's own document has no ProblemDetails to refer to
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
    },
}


# what the gateway itself answers on a forwarded route, before or instead of the service
GATEWAY_ANSWERS = {
    400: "A path with control characters or . and .. segments (the gateway's bad-path)",
    401: "A bearer token the gateway refuses (invalid, expired or revoked: verified on every route), or "
    "none on a route that requires one",
    403: "A scope the route requires missing from the token, or a session's change without X-CSRF-Token",
    413: "The request body is larger than this route accepts",
    429: "Too many requests from this client: retry after Retry-After",
    502: "The service of this route is unreachable (or none is configured)",
    504: "The service of this route did not answer in time",
}


def _gateway_statuses(path: str, method: str, route: Route) -> list[int]:
    """The statuses the gateway may answer itself for this operation: a bad path only where the path
    has parameters (a documented fixed path is never one), scopes and CSRF on protected routes only,
    the body limit on the methods with a body."""
    statuses = [401, 429, 502, 504]
    if "{" in path:
        statuses.append(400)
    if not route.anonymous:
        statuses.append(403)
    if method in ("post", "put", "patch"):
        statuses.append(413)
    return sorted(statuses)


def _add_gateway_answer(responses: dict[str, Any], status: int, gateway_problem: dict[str, Any]) -> None:
    """Document the gateway's problem at ``status``: beside the service's own problem there (either
    one, ``anyOf``), or as the answer at that status when the service documents none."""
    response = responses.get(str(status))
    if response is None:
        response = responses[str(status)] = {"description": GATEWAY_ANSWERS[status]}
    elif "$ref" in response:
        return  # a shared component of the service's: left as it is
    content = response.setdefault("content", {})
    problem = content.get(PROBLEM_MEDIA_TYPE)
    if problem is None or "schema" not in problem:
        content[PROBLEM_MEDIA_TYPE] = {"schema": gateway_problem}
        return
    schema = problem["schema"]
    if schema != gateway_problem and gateway_problem not in schema.get("anyOf", ()):
        problem["schema"] = {"anyOf": [schema, gateway_problem]}


class OpenAPIMerger:
    def __init__(
        self,
        settings: GatewaySettings,
        policy: RoutePolicy,
        own_document: Callable[[], dict[str, Any]],
        version: str,
    ) -> None:
        self.settings = settings
        self.policy = policy
        self.own_document = own_document
        self.version = version
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()

    async def document(self) -> dict[str, Any]:
        cached = self._cached
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        async with self._lock:
            cached = self._cached
            if cached is not None and time.monotonic() < cached[0]:
                return cached[1]
            documents, status = await self._fetch_all()
            merged = self.merge(documents, status)
            partial = any(s != "available" for s in status.values())
            ttl = (
                min(self.settings.openapi_ttl_seconds, PARTIAL_TTL)
                if partial
                else self.settings.openapi_ttl_seconds
            )
            self._cached = (time.monotonic() + ttl, merged)
            return merged

    async def _fetch_all(self) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        upstreams = self.policy.services()
        documents: dict[str, dict[str, Any]] = {LOCAL: self.own_document()}
        status: dict[str, str] = {LOCAL: "available"}

        async def fetch(client: httpx.AsyncClient, name: str, url: str) -> None:
            try:
                response = await client.get(url + "/openapi.json")
                response.raise_for_status()
                document = response.json()
                if not isinstance(document, dict):
                    raise ValueError("not a JSON object")
            except (httpx.HTTPError, ValueError) as exc:
                status[name] = f"unavailable: {exc.__class__.__name__}"
                log.warning("upstream OpenAPI document unavailable", upstream=name, error=repr(exc))
                return
            documents[name] = document
            status[name] = "available"

        async with httpx.AsyncClient(timeout=3.0) as client:
            await asyncio.gather(*(fetch(client, name, up.url) for name, up in upstreams.items()))
        return documents, status

    def merge(self, documents: dict[str, dict[str, Any]], status: dict[str, str]) -> dict[str, Any]:
        components: dict[str, dict[str, Any]] = {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (RFC 9068)"},
                "session": {"type": "apiKey", "in": "cookie", "name": self.settings.session_cookie_name},
            }
        }
        paths: dict[str, Any] = {}
        tags: list[dict[str, str]] = []
        operation_ids: set[str] = set()
        collisions: list[dict[str, str]] = []
        # the gateway's own problem documents: its catalogue's types (merged first, its name kept)
        own_schemas = (documents.get(LOCAL, {}).get("components") or {}).get("schemas") or {}
        gateway_problem = (
            {"$ref": "#/components/schemas/ProblemDetails"}
            if "ProblemDetails" in own_schemas
            else PROBLEM_SCHEMA
        )
        for name in sorted(documents, key=lambda n: (n != LOCAL, n)):
            document = documents[name]
            renames: dict[str, str] = {}
            source_components = document.get("components") or {}
            for kind, entries in source_components.items():
                if kind == "securitySchemes" or not isinstance(entries, dict):
                    continue
                target = components.setdefault(kind, {})
                for key, value in entries.items():
                    if key in target and target[key] != value:
                        renames[f"#/components/{kind}/{key}"] = f"#/components/{kind}/{name}_{key}"
            document = _rewrite_refs(document, renames) if renames else document
            for kind, entries in (document.get("components") or {}).items():
                if kind == "securitySchemes" or not isinstance(entries, dict):
                    continue
                target = components.setdefault(kind, {})
                for key, value in entries.items():
                    new_key = renames.get(f"#/components/{kind}/{key}", f"#/components/{kind}/{key}").rsplit(
                        "/", 1
                    )[1]
                    target.setdefault(new_key, value)
            tags.append({"name": name, "description": document.get("info", {}).get("title", name)})
            for path, item in (document.get("paths") or {}).items():
                routes = self.policy.candidates(path)
                owner = routes[0].service if routes else None
                if owner != name:
                    if owner is not None:
                        collisions.append({"path": path, "declared_by": name, "routed_to": owner})
                    continue
                if path in paths:
                    collisions.append({"path": path, "declared_by": name, "routed_to": owner})
                    continue
                paths[path] = self._operations(
                    name, path, copy.deepcopy(item), operation_ids, gateway_problem
                )
        merged: dict[str, Any] = {
            "openapi": "3.1.0",
            "info": {
                "title": "SPICA-DB",
                "version": self.version,
                "description": "Every SPICA-DB service behind the gateway: one origin, a path prefix per service.",
                "x-spicadb-services": dict(sorted(status.items())),
            },
            "servers": [{"url": self.settings.public_url.rstrip("/")}],
            "tags": tags,
            "paths": dict(sorted(paths.items())),
            "components": components,
        }
        if collisions:
            merged["x-spicadb-collisions"] = collisions
        return merged

    def _operations(
        self,
        service: str,
        path: str,
        item: dict[str, Any],
        operation_ids: set[str],
        gateway_problem: dict[str, Any],
    ) -> dict[str, Any]:
        for method in METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            operation["tags"] = [service, *[t for t in operation.get("tags", []) if t != service]]
            operation_id = operation.get("operationId") or f"{method}{path}"
            if operation_id in operation_ids:
                operation_id = f"{service}.{operation_id}"
            operation_ids.add(operation_id)
            operation["operationId"] = operation_id
            resolved = self.policy.resolve(path, method.upper())
            if isinstance(resolved, Route):
                if resolved.anonymous:
                    operation["security"] = []
                else:
                    scopes = list(resolved.scopes)
                    operation["security"] = [{"bearer": scopes}, {"session": scopes}]
                operation["x-spicadb-max-body-bytes"] = resolved.max_body_bytes
                if not resolved.local:
                    responses = operation.setdefault("responses", {})
                    for status in _gateway_statuses(path, method, resolved):
                        _add_gateway_answer(responses, status, gateway_problem)
        return item
