"""How the runtime, the deployment checks and the gateway see the night-logs service."""

from spicadb_contracts.programmes import TargetChanged, TargetsImported
from spicadb_kit import rights
from spicadb_kit.spec import ConsumerDecl, GatewayRoute, ServiceSpec, StreamDecl

from .config import NightLogsSettings
from .problems import CATALOGUE

STREAM = StreamDecl.for_producer("nightlogs")

# the data rights (membership, proprietary periods) of every programme, from the programmes service
RIGHTS = rights.consumer_decl("nightlogs")

# the programmes' targets, to recognise what CHARA observed (by name, then by position)
PROGRAMME_TARGETS = ConsumerDecl(
    durable="nightlogs_programme_targets",
    stream="SPICADB_PROGRAMMES",
    filter_subjects=(TargetsImported.subject(), TargetChanged.subject()),
    max_deliver=8,
    backoff_seconds=(0.5, 2.0, 10.0, 30.0),
)

# a 100,000-line CHARA log is about 12 MiB of CSV
LOG_BODY = 16 * 1024 * 1024

SPEC = ServiceSpec(
    name="nightlogs",
    app="spicadb_nightlogs.app:create_app",
    default_port=8003,
    settings=NightLogsSettings,
    migrations="spicadb_nightlogs.migrations",
    streams=(STREAM, StreamDecl.for_producer("programmes")),
    consumers=(RIGHTS, PROGRAMME_TARGETS),
    kit_components=(rights.COMPONENT,),
    gateway_prefixes=("/nightlogs/",),
    routes=(
        # the gateway takes the longest prefix, then the method: each prefix with a write route
        # declares its reads too
        GatewayRoute("/nightlogs/", methods=("GET", "HEAD"), scopes=("nightlogs:read",)),
        GatewayRoute("/nightlogs/schedules/", methods=("GET", "HEAD"), scopes=("nightlogs:read",)),
        GatewayRoute("/nightlogs/schedules/", methods=("POST",), scopes=("schedule:write",)),
        GatewayRoute("/nightlogs/logs/", methods=("GET", "HEAD"), scopes=("nightlogs:read",)),
        GatewayRoute(
            "/nightlogs/logs/", methods=("POST",), scopes=("nightlogs:write",), max_body_bytes=LOG_BODY
        ),
        GatewayRoute("/nightlogs/observations/", methods=("GET", "HEAD"), scopes=("nightlogs:read",)),
        GatewayRoute("/nightlogs/observations/", methods=("POST",), scopes=("nightlogs:flag",)),
        # attaching an observation to a programme
        GatewayRoute("/nightlogs/observations/", methods=("PUT",), scopes=("admin",)),
    ),
    description="Nights at CHARA: the SPICA scheduler's plans, CHARA night logs (CSV or JSON, versioned, "
    "all or nothing), observations matched to programme targets with their projected baselines, and "
    "quality flags.",
    problems=CATALOGUE,
)
