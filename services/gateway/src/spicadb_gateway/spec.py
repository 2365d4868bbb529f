from spicadb_contracts.auth import TokenRevoked
from spicadb_kit.spec import ConsumerDecl, GatewayRoute, Ordering, ServiceSpec

from .config import GatewaySettings
from .problems import CATALOGUE

# The auth service's revocation events, on auth's stream. In no order: a revocation stands alone.
REVOCATION_SUBJECT = TokenRevoked.subject()
REVOCATIONS = ConsumerDecl(
    durable="gateway_revocations",
    stream="SPICADB_AUTH",
    filter_subjects=(REVOCATION_SUBJECT,),
    max_deliver=10,
    backoff_seconds=(0.5, 1.0, 5.0),
    ordering=Ordering.NONE,
)

# What the gateway answers itself (everything else goes to the service owning the path).
ROUTES = (
    # browser sessions and the ingress sub-request: each authenticates its caller on its own terms
    GatewayRoute("/auth/", methods=("GET", "HEAD", "POST"), anonymous=True),
    GatewayRoute("/openapi.json", methods=("GET", "HEAD"), anonymous=True),
    GatewayRoute("/health/", methods=("GET", "HEAD"), anonymous=True),
    # never forwarded (the console owns "/"): the gateway's own metrics, to admins only (app.py)
    GatewayRoute("/metrics", methods=("GET", "HEAD"), anonymous=True),
)

SPEC = ServiceSpec(
    name="gateway",
    app="spicadb_gateway.app:create_app",
    default_port=8000,
    settings=GatewaySettings,
    migrations="spicadb_gateway.migrations",
    consumers=(REVOCATIONS,),
    gateway_prefixes=("/auth/", "/openapi.json"),
    admin_prefix="/auth/admin/",  # the kit's operator routes, among the gateway's own
    routes=ROUTES,
    description="The single entry point: route policy, token and session auth, streaming reverse proxy.",
    problems=CATALOGUE,
)
