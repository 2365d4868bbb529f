"""How the runtime, the deployment checks and the gateway see the oifits service."""

from spicadb_contracts.nightlogs import ObservationLogged
from spicadb_kit import rights
from spicadb_kit.spec import ConsumerDecl, GatewayRoute, Ordering, ScrapeGauge, ServiceSpec, StreamDecl

from .config import MAX_FILE_BYTES, OifitsSettings
from .problems import CATALOGUE

STREAM = StreamDecl.for_producer("oifits")

# the observations granules are linked to: their logged events only, while flags share the
# observation's version counter, so the newest version wins (gaps are the flags it does not take)
NIGHT_LOGS = ConsumerDecl(
    durable="oifits_night_logs",
    stream="SPICADB_NIGHTLOGS",
    filter_subjects=(ObservationLogged.subject(),),
    max_deliver=8,
    backoff_seconds=(0.5, 2.0, 10.0, 30.0),
    ordering=Ordering.LATEST,
)

# programme members and proprietary periods (the kit's data-rights copy)
RIGHTS = rights.consumer_decl("oifits")

# the gateway refuses a push above the service's own default limit from its Content-Length (a service
# configured with a larger max_file_bytes needs this raised with it)
PUSH_BODY = MAX_FILE_BYTES

# at /metrics (read when scraped): pushes accepted (distinct files stored) and refused (each refused
# attempt, the same bytes again included), and the granules indexed from the files
GAUGES = (
    ScrapeGauge(
        "spicadb_oifits_pushes",
        "OIFITS pushes: accepted (files stored) and rejected (refused attempts).",
        "SELECT 'accepted', count(*) FROM oifits_file"
        " UNION ALL SELECT 'rejected', coalesce(sum(attempts), 0) FROM rejection",
        labels=("outcome",),
    ),
    ScrapeGauge(
        "spicadb_oifits_granules", "Granules indexed from the stored files.", "SELECT count(*) FROM granule"
    ),
)

SPEC = ServiceSpec(
    name="oifits",
    app="spicadb_oifits.app:create_app",
    default_port=8005,
    settings=OifitsSettings,
    migrations="spicadb_oifits.migrations",
    streams=(STREAM, StreamDecl.for_producer("nightlogs"), StreamDecl.for_producer("programmes")),
    consumers=(NIGHT_LOGS, RIGHTS),
    kit_components=(rights.COMPONENT,),
    gateway_prefixes=("/oifits/",),
    routes=(
        # downloads and plots answer without a token once released (VO tools follow access_url bare);
        # a token shows the holder's proprietary files
        GatewayRoute("/oifits/", methods=("GET", "HEAD"), anonymous=True),
        GatewayRoute("/oifits/files", methods=("GET", "HEAD"), anonymous=True),
        GatewayRoute("/oifits/files", methods=("POST",), scopes=("oifits:push",), max_body_bytes=PUSH_BODY),
        GatewayRoute("/oifits/rejections", methods=("GET", "HEAD"), scopes=("oifits:read",)),
        # attaching a file to a programme
        GatewayRoute("/oifits/files", methods=("PUT",), scopes=("admin",)),
    ),
    description="Reduced OIFITS files pushed by the DRS: streamed, checked against the OIFITS v1/v2 rules "
    "(a report per rule), stored by content, indexed into ObsCore granules (target x INSNAME x night) "
    "linked to their night-log observations, with range downloads and quick-look plots under data rights.",
    problems=CATALOGUE,
    gauges=GAUGES,
)
