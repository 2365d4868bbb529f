"""Settings of the programmes service: every field ``x`` is read from ``SPICADB_X``."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from spicadb_contracts.bounds import TARGETS_PER_BATCH
from spicadb_kit.settings import ServiceSettings


class ProgrammesSettings(ServiceSettings, frozen=True):
    port: int = 8002
    # robots (client-credentials tokens, subject = client id) that read every programme, private
    # ones included: the night scheduler plans from them, the log ingestion matches against them
    trusted_clients: str = "scheduler,chara-ingest"
    # the largest target list one import takes (all or nothing)
    import_max_targets: int = 200_000
    # targets per programmes.targets.imported event: a large import is a few messages, not one; at
    # most what fits in one NATS message when every value is at its bound (spicadb_contracts.bounds)
    import_event_batch: Annotated[int, Meta(ge=1, le=TARGETS_PER_BATCH)] = TARGETS_PER_BATCH
    # two targets closer than this (after proper motion) are reported as duplicates
    duplicate_radius_arcsec: float = 1.0
    # the largest page a listing returns
    page_max: int = 1000
