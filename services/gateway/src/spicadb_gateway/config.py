"""The gateway's settings: the kit's service settings plus upstreams, browser sessions, rate limits,
CORS and the merged OpenAPI document. Every field ``x`` is read from ``SPICADB_X``."""

from __future__ import annotations

from urllib.parse import urlsplit

from spicadb_kit.settings import ServiceSettings, SettingsError

# the auth service grants what is asked, what the gateway's client may have and what the person's roles
# give: asking for admin gives it to administrators only (the web console's admin pages), and nobody's
# session fails for lack of it
DEFAULT_BROWSER_SCOPE = (
    "openid programmes:read programmes:write nightlogs:read nightlogs:write nightlogs:flag "
    "schedule:write oifits:read oifits:push tap:query admin offline_access"
)


class GatewaySettings(ServiceSettings, frozen=True):
    port: int = 8000
    # where each service answers: "auth=http://127.0.0.1:8001,programmes=http://127.0.0.1:8002"
    upstreams: str = ""
    # the URL browsers and clients use to reach the gateway (redirect URI of the session flow)
    public_url: str = "http://127.0.0.1:8000"
    # frontend origins allowed to call the API from a browser, comma-separated
    cors_origins: str = ""
    # the proxies in front of the gateway (an ingress controller), addresses or networks, comma-separated:
    # only their X-Forwarded-For is believed (rate limits key on the client address); empty: the gateway
    # is the edge and believes nobody's (a local client could otherwise choose its own bucket)
    forwarded_allow_ips: str = ""
    # per client (client_id and subject of a token, or the address of anonymous callers): tokens per
    # second and bucket size; a rate of 0 turns rate limiting off
    rate_limit_rate: float = 100.0
    rate_limit_burst: int = 200
    # upstream connections: connect and per-read/write timeouts (seconds), pool size per upstream
    upstream_connect_timeout: float = 5.0
    upstream_timeout: float = 60.0
    upstream_pool_size: int = 200
    # browser sessions (code + PKCE flow against the auth service)
    oauth_client_id: str = "spica-gateway"
    # empty: the gateway is a public client (PKCE only); set for the confidential client
    oauth_client_secret: str = ""
    oauth_scope: str = DEFAULT_BROWSER_SCOPE
    # not spicadb_session / spicadb_csrf: the auth service's login page uses those on the same origin.
    # The session cookie gets the __Host- prefix whenever cookies are Secure.
    session_cookie: str = "spicadb_gateway"
    # readable by the frontend's script, which sends its value back in X-CSRF-Token
    csrf_cookie: str = "spicadb_gateway_csrf"
    # seals the tokens of browser sessions at rest (AES-256-GCM; a random string of 32 characters or
    # more): required in production; elsewhere, when empty, one is generated into <data>/gateway-session.key
    session_key: str = ""
    # the data folder of the runtime contract (the development session key)
    data: str = ".spicadb"
    session_lifetime_seconds: int = 12 * 3600
    # refresh the session's access token when it expires within this many seconds
    session_refresh_margin_seconds: int = 60
    # answer nginx auth sub-requests at /auth/ingress (gateway.mode=ingress in the chart); off, it is a 404
    ingress_auth: bool = False
    # merged OpenAPI document: cached this long (seconds), shorter while an upstream is down
    openapi_ttl_seconds: float = 30.0
    # verified access tokens kept in memory (revocation is still checked on every request)
    token_cache_size: int = 10_000
    # how often every gateway replica reads revocations recorded by any of them
    revocation_poll_seconds: float = 2.0
    # anonymous /health/ready answers from a report at most this old (admins get a fresh, detailed one)
    health_cache_seconds: float = 2.0

    def upstream_map(self) -> dict[str, str]:
        return parse_upstreams(self.upstreams)

    def cors_origin_set(self) -> frozenset[str]:
        return frozenset(o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip())

    @property
    def secure_cookies(self) -> bool:
        return self.environment not in ("development", "test")

    @property
    def session_cookie_name(self) -> str:
        """``__Host-`` when Secure: only this host, path /, never set over plain HTTP."""
        return ("__Host-" if self.secure_cookies else "") + self.session_cookie

    @property
    def login_cookie_name(self) -> str:
        """The login-state cookie lives on /auth/callback only: ``__Secure-``, since browsers drop a
        ``__Host-`` cookie whose path is not /."""
        return ("__Secure-" if self.secure_cookies else "") + self.session_cookie + "_login"


def parse_upstreams(text: str) -> dict[str, str]:
    """``"a=http://h:1,b=http://h:2"`` -> ``{"a": "http://h:1", "b": "http://h:2"}``."""
    upstreams: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        name, sep, url = item.partition("=")
        parts = urlsplit(url.strip())
        if not sep or parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingsError(f"SPICADB_UPSTREAMS: {item.strip()!r} is not name=http://host:port")
        upstreams[name.strip()] = url.strip().rstrip("/")
    return upstreams
