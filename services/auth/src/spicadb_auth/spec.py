"""How the runtime, the deployment checks and the gateway see the auth service."""

from spicadb_kit.spec import GatewayRoute, ServiceSpec, StreamDecl

from .config import AuthSettings
from .problems import CATALOGUE

STREAM = StreamDecl.for_producer("auth")

SPEC = ServiceSpec(
    name="auth",
    app="spicadb_auth.app:create_app",
    default_port=8001,
    settings=AuthSettings,
    migrations="spicadb_auth.migrations",
    streams=(STREAM,),
    gateway_prefixes=("/.well-known/", "/oauth/", "/login", "/admin/"),
    admin_prefix="/admin/",  # beside the accounts and clients, admin scope at the gateway already
    routes=(
        # discovery and JWKS
        GatewayRoute("/.well-known/", methods=("GET", "HEAD"), anonymous=True),
        # authorize (login page), token, revoke, introspect: the endpoints authenticate clients
        # themselves; userinfo checks its bearer token in the service
        GatewayRoute("/oauth/", methods=("GET", "HEAD", "POST"), anonymous=True, max_body_bytes=64 * 1024),
        # the plain HTML login page, its form and the upstream provider's callback
        GatewayRoute("/login", methods=("GET", "HEAD", "POST"), anonymous=True, max_body_bytes=64 * 1024),
        GatewayRoute("/admin/", scopes=("admin",), max_body_bytes=64 * 1024),
    ),
    description="OAuth 2.0 / OpenID Connect authorization server: tokens for people and robots, "
    "accounts, clients and signing keys.",
    problems=CATALOGUE,
)
