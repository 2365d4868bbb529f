"""Settings of the auth service: every field ``x`` is read from ``SPICADB_X``.

The issuer is ``token_issuer`` (the gateway's public URL in a deployment: discovery, the
login page and every endpoint URL are built from it, since the gateway routes ``/.well-known/``,
``/oauth/``, ``/login`` and ``/admin/`` here).
"""

from __future__ import annotations

from typing import Literal

from spicadb_kit.settings import ServiceSettings


class AuthSettings(ServiceSettings, frozen=True):
    port: int = 8001
    # the data folder of the local runtime: credentials.json is written there on the first start
    data: str = ".spicadb"
    # create the admin account, the robot clients and the frontend client when no client exists yet
    bootstrap: bool = True
    # a folder of the operator's first-start secrets (admin-password, <robot>-client-secret; a mounted
    # Kubernetes Secret): used instead of generated ones, and credentials.json is not written
    bootstrap_secrets: str = ""
    frontend_redirect_uri: str = "http://127.0.0.1:5173/callback"
    # the gateway's browser sessions (its OAuth client ``spica-gateway``); empty: <issuer>/auth/callback
    gateway_redirect_uri: str = ""

    # lifetimes, in seconds
    access_token_lifetime: int = 600
    refresh_token_lifetime: int = 30 * 24 * 3600
    authorization_code_lifetime: int = 120
    session_lifetime: int = 8 * 3600

    # signing keys: RS256 (RSA 2048; OpenID Connect Discovery requires ID tokens in RS256 to be
    # possible) or ES256 (P-256, smaller tokens, for deployments without OpenID relying parties)
    signing_alg: Literal["RS256", "ES256"] = "RS256"
    # how long verifiers may cache the JWKS (its Cache-Control max-age): a new key is published
    # at least this long before it signs
    jwks_cache_seconds: int = 300
    # a new signing key is prepared automatically when the current one is this old
    key_rotation_seconds: int = 30 * 24 * 3600
    # how often the key lifecycle (promotion, retirement, clean-up) runs
    key_check_seconds: float = 30.0
    # a retired key stays published this long after the last token it signed has expired
    # (clock skew of verifiers, replicas that noticed the promotion late)
    key_retire_margin_seconds: int = 120

    # login throttling, within the window: failures per user name from one client address (beyond:
    # that address is refused for that account, nobody else is), and per client address over every
    # user name (password spraying); the address is the peer, or what a trusted proxy
    # (SPICADB_FORWARDED_ALLOW_IPS) says it saw
    login_max_failures: int = 5
    login_max_failures_per_address: int = 30
    login_failure_window_seconds: int = 900
    # an account failing from many addresses is not locked (that would lock its owner out too):
    # beyond this many failures in the window, every attempt on it waits, doubling per failure
    # up to login_max_delay_seconds
    login_delay_after_failures: int = 20
    login_max_delay_seconds: float = 5.0

    # delegation of login to an upstream OpenID provider (disabled when upstream_issuer is empty)
    upstream_issuer: str = ""
    upstream_client_id: str = ""
    upstream_client_secret: str = ""
    upstream_scope: str = "openid profile email"
    # shown on the login page
    upstream_name: str = "institute single sign-on"
    # roles given to an account created on its first upstream login (space or comma separated)
    upstream_default_roles: str = ""

    @property
    def issuer(self) -> str:
        return self.token_issuer.rstrip("/")

    @property
    def upstream_enabled(self) -> bool:
        return bool(self.upstream_issuer and self.upstream_client_id)

    @property
    def secure_cookies(self) -> bool:
        """Cookies are ``Secure`` whenever the public URL is https (always, outside a laptop)."""
        return self.issuer.startswith("https://")

    @property
    def default_upstream_roles(self) -> list[str]:
        return sorted({r for r in self.upstream_default_roles.replace(",", " ").split() if r})

    @property
    def gateway_callback(self) -> str:
        return self.gateway_redirect_uri or self.url("/auth/callback")

    def url(self, path: str) -> str:
        return f"{self.issuer}{path}"
