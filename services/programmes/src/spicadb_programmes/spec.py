"""How the runtime, the deployment checks and the gateway see the programmes service."""

from spicadb_kit.spec import ConsumerDecl, GatewayRoute, ServiceSpec, StreamDecl

from .config import ProgrammesSettings
from .problems import CATALOGUE
from .published import PUBLISHED

STREAM = StreamDecl.for_producer("programmes")

# progress follows what the night logs say was planned, observed and flagged
NIGHT_LOGS = ConsumerDecl(
    durable="programmes_night_logs",
    stream="SPICADB_NIGHTLOGS",
    filter_subjects=(
        "spicadb.nightlogs.night.scheduled.>",
        "spicadb.nightlogs.observation.logged.>",
        "spicadb.nightlogs.observation.flagged.>",
    ),
    max_deliver=8,
    backoff_seconds=(0.5, 2.0, 10.0, 30.0),
)

# bodies up to 64 MiB: a 100,000-target VOTable is about 40 MiB
IMPORT_BODY = 64 * 1024 * 1024

SPEC = ServiceSpec(
    name="programmes",
    app="spicadb_programmes.app:create_app",
    default_port=8002,
    settings=ProgrammesSettings,
    migrations="spicadb_programmes.migrations",
    streams=(STREAM, StreamDecl.for_producer("nightlogs")),
    consumers=(NIGHT_LOGS,),
    gateway_prefixes=("/programmes/",),
    routes=(
        GatewayRoute("/programmes/", methods=("GET", "HEAD"), scopes=("programmes:read",)),
        GatewayRoute(
            "/programmes/",
            methods=("POST", "PUT", "PATCH", "DELETE"),
            scopes=("programmes:write",),
            max_body_bytes=IMPORT_BODY,
        ),
    ),
    description="Large programmes, proposals, work packages, targets, observing setups and requests; "
    "Aspro2 target lists; progress from the night logs.",
    problems=CATALOGUE,
    # spicadb.targets (migration 0004), read by the TAP service; its cone index needs pgSphere
    extensions=("pg_sphere",),
    published=PUBLISHED,
)
