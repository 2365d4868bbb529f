"""Settings of the oidb service: every field ``x`` is read from ``SPICADB_X``."""

from __future__ import annotations

from spicadb_kit.settings import ServiceSettings


class OidbSettings(ServiceSettings, frozen=True):
    port: int = 8006
    # obs_collection of every granule (written at ingestion)
    obs_collection: str = "SPICA"
    # obs_publisher_did = <publisher_did_prefix>?<granule uuid> (written at ingestion)
    publisher_did_prefix: str = "ivo://jmmc.fr/spicadb/oidb"
    # the IVOA identifier of an L0 observation (a night-log observation): <l0_did_prefix>?<uuid>
    l0_did_prefix: str = "ivo://jmmc.fr/spicadb/l0"
    # where users reach the platform (the gateway): the progenitors' URLs, relative URLs of events
    public_url: str = "http://127.0.0.1:8000"
    # the largest page the JSON listing returns
    page_max: int = 1000
    # the largest cone of the listing (degrees)
    cone_max_radius: float = 10.0
    # the most IDs one DataLink request takes
    links_max_ids: int = 100
