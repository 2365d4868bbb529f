"""Settings of the tap service: every field ``x`` is read from ``SPICADB_X``."""

from __future__ import annotations

from spicadb_kit.settings import ServiceSettings


class TapSettings(ServiceSettings, frozen=True):
    port: int = 8007
    # where users reach the platform (the gateway): capabilities' access URLs, DataLink descriptors
    public_url: str = "http://127.0.0.1:8000"
    # the data folder (async results under <data>/tap/results)
    data: str = ".spicadb"
    # MAXREC when the client gives none, and the most it may ask for (TAPRegExt outputLimit)
    default_maxrec: int = 10_000
    hard_maxrec: int = 2_000_000
    # how long one synchronous query may run (seconds), and an async job by default and at most
    sync_timeout: float = 30.0
    async_execution_duration: int = 600
    async_max_execution_duration: int = 3600
    # how long an async job and its results are kept (seconds): by default and at most
    async_destruction: int = 7 * 24 * 3600
    async_max_destruction: int = 30 * 24 * 3600
    # async jobs run at once by this process (others wait QUEUED)
    async_workers: int = 2
    # an UPLOAD: the largest VOTable (bytes) and the most rows
    upload_max_bytes: int = 16 * 1024 * 1024
    upload_max_rows: int = 100_000
    # an UPLOAD by URL: the longest its fetch may take (seconds), and the hosts or CIDRs it may reach
    # although not public (comma-separated; empty: public addresses only)
    upload_fetch_timeout: float = 20.0
    upload_allow_hosts: str = ""
