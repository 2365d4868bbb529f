"""How the runtime, the deployment checks and the gateway see the web console."""

from spicadb_kit.spec import GatewayRoute, ServiceSpec

from .config import WebSettings
from .problems import CATALOGUE

# the body of an import form: the file (up to 8 MiB, the console's own bound: a 413 page past it) and
# room for the console to answer a somewhat larger file with that page rather than the gateway's 413
IMPORT_FORM_BYTES = 16 * 1024 * 1024

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
    routes=(
        # the programmes' pages take a target list to import (the console takes up to 8 MiB of file;
        # a longer list goes to the import API directly)
        GatewayRoute(
            "/console/programmes/",
            methods=("GET", "HEAD", "POST"),
            anonymous=True,
            max_body_bytes=IMPORT_FORM_BYTES,
        ),
        GatewayRoute("/", methods=("GET", "HEAD", "POST"), anonymous=True, max_body_bytes=64 * 1024),
    ),
    description="The web console at the gateway's root: server-rendered pages (home, programmes with their "
    "targets, nights and their observations) that read through the other services' public APIs with the "
    "visitor's session token; a visitor without a session is sent to sign in.",
    problems=CATALOGUE,
)
