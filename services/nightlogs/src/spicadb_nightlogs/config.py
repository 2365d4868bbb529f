"""Settings of the night-logs service: every field ``x`` is read from ``SPICADB_X``."""

from __future__ import annotations

from spicadb_kit.settings import ServiceSettings


class NightLogsSettings(ServiceSettings, frozen=True):
    port: int = 8003
    # robots (client-credentials tokens, subject = client id) that see every observation, proprietary
    # ones included: the night scheduler and the log ingestion
    trusted_clients: str = "scheduler,chara-ingest"
    # the largest log one post takes (all or nothing)
    log_max_lines: int = 100_000
    # a CSV line without an end lasts until the next line starts, at most this long (SPICA's default
    # total integration in Aspro2 CHARA.xml, chara-spica.md 5.1); the last line lasts this long
    default_exposure_seconds: float = 600.0
    # a logged position matches a programme target closer than this, once the target is moved by its
    # proper motion to the night
    match_radius_arcsec: float = 5.0
    # the largest page a listing returns
    page_max: int = 1000
    # how many errors a 422 problem document lists (the count says how many there were)
    max_listed_errors: int = 200
    # the outbox relay's rounds (the kit's default is 500): a log makes an event per line, 10,000 for a big
    # night, and every round waits for all its PubAcks before the next; half the NATS client's 4,000
    # publishes in flight
    outbox_batch: int = 2000
