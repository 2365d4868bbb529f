"""Settings of the web console: every field ``x`` is read from ``SPICADB_X``."""

from __future__ import annotations

from spicadb_kit.settings import ServiceSettings


class WebSettings(ServiceSettings, frozen=True):
    port: int = 8008
    # where browsers reach the platform (the gateway): the links a page gives
    public_url: str = "http://127.0.0.1:8000"
    # where this service reaches the gateway to call the other services' APIs; empty: public_url
    api_url: str = ""
    # seconds an API call may take before the page says the service did not answer
    api_timeout: float = 10.0
    # seconds a target list's import (or its dry run) may take: a whole list is read and checked
    api_upload_timeout: float = 60.0
    # connections kept to the gateway (pages call several APIs at once)
    api_connections: int = 32
    # rows of a targets page, programmes per page, nights per page
    page_size: int = 50
    # the gateway's readable CSRF cookie (its SPICADB_CSRF_COOKIE), which the console's script sends back
    # as X-CSRF-Token with the forms that write
    csrf_cookie: str = "spicadb_gateway_csrf"

    @property
    def api_base(self) -> str:
        """The gateway's URL for API calls, without a trailing slash."""
        return (self.api_url or self.public_url).rstrip("/")
