"""How the runtime, the deployment checks and the gateway see the web console."""

from spicadb_kit.spec import GatewayRoute, ServiceSpec

from .config import WebSettings
from .problems import CATALOGUE

SPEC = ServiceSpec(
    name="web",
    app="spicadb_web.app:create_app",
    default_port=8008,
    settings=WebSettings,
    # its one table: the SAMP tickets (the VOTables a receiving application fetches without a cookie)
    migrations="spicadb_web.migrations",
    # everything no other service claims: the longest prefix wins at the gateway, so /auth/,
    # /programmes/ and the others keep theirs. Anonymous at the gateway: a visitor without a session is
    # sent to /auth/login by the console itself, and a session's token is forwarded when there is one.
    gateway_prefixes=("/",),
    admin_prefix="/web/admin/",  # not /admin/: the auth service's
    routes=(GatewayRoute("/", methods=("GET", "HEAD", "POST"), anonymous=True, max_body_bytes=64 * 1024),),
    description="The web console at the gateway's root: server-rendered pages (home, programmes with their "
    "targets, nights and their observations) that read through the other services' public APIs with the "
    "visitor's session token; a visitor without a session is sent to sign in.",
    problems=CATALOGUE,
)
