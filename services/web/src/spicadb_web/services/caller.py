"""Who looks at a page: the visitor's verified token, and what their scopes let the console offer."""

from __future__ import annotations

from dataclasses import dataclass

from spicadb_kit.auth import Principal


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    # the access token the gateway forwarded (the session's): sent on to the APIs, never into a page
    token: str
    request_id: str | None = None

    @property
    def name(self) -> str:
        return self.principal.subject

    @property
    def is_admin(self) -> bool:
        return "admin" in self.principal.scopes

    def may(self, *scopes: str) -> bool:
        return self.principal.has(*scopes)
