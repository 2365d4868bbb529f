"""Settings of the obsportal service: every field ``x`` is read from ``SPICADB_X``."""

from __future__ import annotations

from spicadb_kit.settings import ServiceSettings


class ObsportalSettings(ServiceSettings, frozen=True):
    port: int = 8004
    # the largest cone of the Simple Cone Search (degrees), advertised in its responses
    scs_max_sr: float = 1.0
    # the largest radius search.votable takes (arcseconds; Aspro2 sends 30)
    search_max_radius: float = 3600.0
    # the most rows one VOTable answer holds (harvesting without a cone pages by date_updated_from)
    votable_max_rows: int = 100_000
    # the largest page the REST listing returns
    page_max: int = 1000
    # where users reach the platform (the gateway): the DataLink descriptor of the VO answers points at
    # <public_url>/oidb/links
    public_url: str = "http://127.0.0.1:8000"
    # the IVOA identifier of an L0 observation, <l0_did_prefix>?<uuid> (as the oidb service reads it)
    l0_did_prefix: str = "ivo://jmmc.fr/spicadb/l0"
