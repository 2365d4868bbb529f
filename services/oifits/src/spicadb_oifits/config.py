"""Settings of the oifits service: every field ``x`` is read from ``SPICADB_X``."""

from __future__ import annotations

from pathlib import Path

from spicadb_kit.settings import ServiceSettings

# the default of max_file_bytes, and the gateway's limit of a push (spec.py): one figure, so that the
# gateway refuses a larger push from its Content-Length instead of streaming it to a service that refuses
MAX_FILE_BYTES = 2 * 1024**3


class OifitsSettings(ServiceSettings, frozen=True):
    port: int = 8005
    # the data folder of the runtime contract; files are stored under <data>/oifits unless store_path is set
    data: str = ".spicadb"
    store_path: str = ""
    # the largest file one push takes (bytes); larger uploads are refused with 413 while they stream
    max_file_bytes: int = MAX_FILE_BYTES
    # readiness warns when the store's filesystem has less free space than this (bytes): pushes that do
    # not fit are refused with 507 (the service stays ready: downloads and its consumers still work)
    store_min_free_bytes: int = MAX_FILE_BYTES
    # where users reach the platform (the gateway): download and plot URLs in events and answers
    public_url: str = "http://127.0.0.1:8000"
    # the DRS sees every file it pushed, whatever the programme
    trusted_clients: str = "drs"
    # validation profile when a push names none: archive (lenient, oifits.md §6) or drs (warnings refuse)
    default_profile: str = "archive"
    # worker processes indexing files (validation, granules, plots), so many files indexed at once
    index_workers: int = 2
    # an observation and a granule overlap when their times meet within this slack (minutes): the DRS
    # stamps averaged frames, the log the start and end of the sequence
    link_slack_minutes: float = 15.0
    # a granule's target is the observation's when the names agree or the positions are this close
    link_radius_arcsec: float = 10.0
    # the largest page a listing returns
    page_max: int = 1000

    @property
    def store_root(self) -> Path:
        return Path(self.store_path) if self.store_path else Path(self.data) / "oifits"
