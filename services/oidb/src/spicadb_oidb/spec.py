"""How the runtime, the deployment checks and the gateway see the oidb service."""

from spicadb_contracts.nightlogs import ObservationFlagged
from spicadb_kit import rights
from spicadb_kit.spec import ConsumerDecl, GatewayRoute, Ordering, ScrapeGauge, ServiceSpec, StreamDecl

from .config import OidbSettings
from .problems import CATALOGUE
from .published import PUBLISHED

# Every event of the oifits files and granules: the consumer applies each aggregate's events in
# version order, so it takes all of them (the ones it does not handle are acknowledged, no effect)
# rather than wait on a gap.
OIFITS = ConsumerDecl(
    durable="oidb_oifits",
    stream="SPICADB_OIFITS",
    filter_subjects=("spicadb.oifits.file.>", "spicadb.oifits.granule.>"),
    max_deliver=8,
    backoff_seconds=(0.5, 2.0, 10.0, 30.0),
)

# The quality flags only. An observation's other events (logged, withdrawn) share its version
# sequence, so the newest version wins: a flag newer than the last one applied is kept across the
# gaps, an older one arriving late is skipped (storage/ingest.py keeps the newest too).
NIGHT_LOGS = ConsumerDecl(
    durable="oidb_night_logs",
    stream="SPICADB_NIGHTLOGS",
    filter_subjects=(ObservationFlagged.subject(),),
    max_deliver=8,
    backoff_seconds=(0.5, 2.0, 10.0, 30.0),
    ordering=Ordering.LATEST,
)

# programme PIs, members and proprietary periods (the kit's data-rights copy)
RIGHTS = rights.consumer_decl("oidb")

SPEC = ServiceSpec(
    name="oidb",
    app="spicadb_oidb.app:create_app",
    default_port=8006,
    settings=OidbSettings,
    migrations="spicadb_oidb.migrations",
    # streams of the producers it reads, declared here too so provisioning works before they exist
    streams=(
        StreamDecl.for_producer("oifits"),
        StreamDecl.for_producer("nightlogs"),
        StreamDecl.for_producer("programmes"),
    ),
    consumers=(OIFITS, NIGHT_LOGS, RIGHTS),
    kit_components=(rights.COMPONENT,),
    extensions=("pg_sphere",),
    gateway_prefixes=("/oidb/",),
    # VO tools come without a token and see released data; a token shows the holder's proprietary ones
    routes=(
        # DataLink is DALI-sync: pyvo's iter_datalinks POSTs its batches of IDs as a form
        GatewayRoute(
            "/oidb/links", methods=("GET", "HEAD", "POST"), anonymous=True, max_body_bytes=64 * 1024
        ),
        GatewayRoute("/oidb/", methods=("GET", "HEAD"), anonymous=True),
    ),
    description="The OiDB table (JMMC's OiDB columns on ObsCore granules) kept from the oifits and "
    "night-log events: released or member-visible granules as JSON pages, DataLink 1.1 links from the "
    "granules to their files, quick-look plots and night-log observations, and back.",
    problems=CATALOGUE,
    # ivoa.ObsCore and spicadb.links (migration 0003), read by the TAP service
    published=PUBLISHED,
    # at /metrics (read when scraped)
    gauges=(
        ScrapeGauge("spicadb_oidb_granules", "Granules in the OiDB table.", "SELECT count(*) FROM granule"),
    ),
)
