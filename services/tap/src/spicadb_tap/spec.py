"""How the runtime, the deployment checks and the gateway see the tap service."""

from spicadb_kit.spec import GatewayRoute, ServiceSpec

from .calibrators.table import PUBLISHED as CALIBRATORS
from .catalogue.tap_schema import PUBLISHED as TAP_SCHEMA
from .config import TapSettings
from .problems import CATALOGUE

SPEC = ServiceSpec(
    name="tap",
    app="spicadb_tap.app:create_app",
    default_port=8007,
    settings=TapSettings,
    migrations="spicadb_tap.migrations",
    extensions=("pg_sphere",),
    gateway_prefixes=("/tap/",),
    # VO tools come without a token and see released data; a token shows the holder's proprietary rows
    # too, and an async job created with one belongs to its holder (who needs tap:query, checked here)
    routes=(
        GatewayRoute(
            "/tap/",
            methods=("GET", "HEAD", "POST", "DELETE"),
            anonymous=True,
            # an UPLOAD's VOTable travels in the body
            max_body_bytes=16 * 1024 * 1024,
        ),
    ),
    published=TAP_SCHEMA + CALIBRATORS,
    reads_published=True,
    description="One TAP 1.1 service over the tables the other services publish (ivoa.ObsCore, "
    "obsportal.exposures, spicadb.targets and links) and a calibrator catalogue: ADQL 2.0 with pgSphere "
    "geometry, sync and async (UWS) queries, uploads, VOSI, TAP_SCHEMA generated from the owners' "
    "declarations; every row under the data rights of the other paths.",
    problems=CATALOGUE,
)
