"""How the runtime, the deployment checks and the gateway see the obsportal service."""

from spicadb_kit import rights
from spicadb_kit.spec import ConsumerDecl, GatewayRoute, ServiceSpec, StreamDecl

from .config import ObsportalSettings
from .problems import CATALOGUE
from .published import PUBLISHED

# the L0 view follows what the night logs say was planned, observed and flagged
NIGHT_LOGS = ConsumerDecl(
    durable="obsportal_night_logs",
    stream="SPICADB_NIGHTLOGS",
    filter_subjects=(
        "spicadb.nightlogs.night.scheduled.>",
        "spicadb.nightlogs.observation.logged.>",
        "spicadb.nightlogs.observation.flagged.>",
    ),
    max_deliver=8,
    backoff_seconds=(0.5, 2.0, 10.0, 30.0),
)

# programme titles, PIs, members and proprietary periods (the kit's data-rights copy)
RIGHTS = rights.consumer_decl("obsportal")

# Aspro2's form is four small fields
SEARCH_BODY = 64 * 1024

SPEC = ServiceSpec(
    name="obsportal",
    app="spicadb_obsportal.app:create_app",
    default_port=8004,
    settings=ObsportalSettings,
    migrations="spicadb_obsportal.migrations",
    # streams of the producers it reads, declared here too so provisioning works before they exist
    streams=(StreamDecl.for_producer("nightlogs"), StreamDecl.for_producer("programmes")),
    consumers=(NIGHT_LOGS, RIGHTS),
    kit_components=(rights.COMPONENT,),
    extensions=("pg_sphere",),
    gateway_prefixes=("/obsportal/",),
    routes=(
        GatewayRoute(
            "/obsportal/search.votable",
            methods=("GET", "HEAD", "POST"),
            anonymous=True,
            max_body_bytes=SEARCH_BODY,
        ),
        GatewayRoute("/obsportal/scs", methods=("GET", "HEAD"), anonymous=True),
        GatewayRoute("/obsportal/", methods=("GET", "HEAD"), scopes=("nightlogs:read",)),
    ),
    description="The L0 observation view (JMMC ObsPortal) kept from the night logs: exposures with their "
    "validation level and log, targets, programmes, conditions, planned versus observed; Aspro2's "
    "search.votable, a Simple Cone Search 1.03 and a REST listing, with data rights on every path.",
    problems=CATALOGUE,
    # obsportal.exposures (migration 0003), read by the TAP service
    published=PUBLISHED,
)
