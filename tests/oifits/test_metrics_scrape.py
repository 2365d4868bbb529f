"""/metrics of a service (the kit's, mounted for every service), scraped with httpx after requests and
events against real PostgreSQL and NATS: the request histogram by route template, method and status
class, the outbox, relay, consumers, dead letters, pool, and the oifits service's own gauges."""

from __future__ import annotations

from typing import Any

from harness import eventually
from oifits_support import OifitsService, oifits, push
from prometheus_client.parser import text_string_to_metric_families
from synthetic import truncate

from spicadb_kit.metrics import KIT_SERIES, REQUEST_SECONDS

Samples = dict[str, list[tuple[dict[str, str], float]]]


async def scrape(client: Any) -> Samples:
    answer = await client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    found = [v for got, v in samples.get(name, []) if labels.items() <= got.items()]
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else None


async def test_metrics_name_routes_by_template_and_count_pushes_events_and_lag(
    service: OifitsService,
) -> None:
    data = oifits()
    async with service.running() as client:
        stored = await push(client, data, service.drs(), filename="a.fits")
        assert stored.status_code == 201, stored.text
        refused = await push(client, truncate(data, len(data) - 2880), service.drs(), filename="cut.fits")
        assert refused.status_code == 422
        file_id = stored.json()["id"]
        assert (await client.get(f"/oifits/files/{file_id}", headers=service.drs())).status_code == 200
        assert (await client.get("/no/such/path")).status_code == 404

        async def published() -> Samples | None:
            samples = await scrape(client)
            return samples if value(samples, "spicadb_relay_published_total", service="oifits") else None

        samples = await eventually(published)
        assert (await client.head("/metrics")).text == ""
        assert (await client.post("/metrics")).status_code == 405

    # every series the kit lists (the dashboard's check relies on the list), the service's own, no other
    assert set(samples) == KIT_SERIES | {gauge.name for gauge in service.spec.gauges}
    bucket = f"{REQUEST_SECONDS}_count"
    assert value(samples, bucket, route="/oifits/files", method="POST", status="2xx") == 1
    assert value(samples, bucket, route="/oifits/files", method="POST", status="4xx") == 1
    assert value(samples, bucket, route="/oifits/files/{file_id}", method="GET", status="2xx") == 1
    assert value(samples, bucket, route="unmatched", method="GET", status="4xx") == 1
    # route templates, never raw paths: the file's id is in no label
    assert not any(file_id in str(labels) for series in samples.values() for labels, _ in series)
    assert all(labels["service"] == "oifits" for series in samples.values() for labels, _ in series)
    assert value(samples, bucket, route="/metrics") is None

    assert value(samples, "spicadb_oifits_pushes", outcome="accepted") == 1
    assert value(samples, "spicadb_oifits_pushes", outcome="rejected") == 1
    assert value(samples, "spicadb_oifits_granules") == 1
    assert value(samples, "spicadb_scrape_source_up", source="database") == 1
    assert value(samples, "spicadb_scrape_source_up", source="nats") == 1
    assert value(samples, "spicadb_outbox_parked") == 0
    assert value(samples, "spicadb_outbox_unpublished") is not None
    assert value(samples, "spicadb_outbox_oldest_age_seconds") is not None
    pool_size = value(samples, "spicadb_db_pool_size")
    assert pool_size is not None
    assert pool_size >= 1
    assert value(samples, "spicadb_db_pool_in_use") is not None
    for decl in service.spec.consumers:
        durable = str(decl.durable)
        assert value(samples, "spicadb_consumer_pending", durable=durable) is not None
        assert value(samples, "spicadb_consumer_ack_pending", durable=durable) is not None
        assert value(samples, "spicadb_dead_letters_open", durable=durable) == 0
        assert value(samples, "spicadb_consumer_applied_total", durable=durable) is not None


async def test_consumer_lag_and_dead_letters_show_per_durable(service: OifitsService) -> None:
    """Events the consumer applies are counted; a dead letter written for a durable shows as open."""
    (night_logs, *_) = service.spec.consumers
    durable = str(night_logs.durable)
    await service.scalar(
        "INSERT INTO dead_letter (consumer, event_id, event_type, subject, stream_seq, deliveries, headers,"
        " payload, error) VALUES ($1, gen_random_uuid(), 'x', 'x', 1, 1, '{}', ''::bytea, 'broken')",
        durable,
    )
    await service.programme("LP-1")
    async with service.running() as client:

        async def applied() -> Samples | None:
            samples = await scrape(client)
            return (
                samples
                if value(samples, "spicadb_consumer_applied_total", durable="oifits_programme_rights")
                else None
            )

        samples = await eventually(applied)
    assert value(samples, "spicadb_dead_letters_open", durable=durable) == 1
    assert value(samples, "spicadb_consumer_pending", durable="oifits_programme_rights") == 0


async def test_a_scrape_answers_when_the_database_cannot_and_says_so(service: OifitsService) -> None:
    """The outbox locked by someone else: the database part gives up after its timeout, the rest answers."""
    assert service.pool is not None
    async with service.running() as client:
        async with service.pool.acquire() as conn, conn.transaction():
            await conn.execute("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE")
            samples = await scrape(client)
        again = await scrape(client)
    assert value(samples, "spicadb_scrape_source_up", source="database") == 0
    assert value(samples, "spicadb_scrape_source_up", source="nats") == 1
    assert value(samples, "spicadb_outbox_unpublished") is None
    assert value(samples, "spicadb_db_pool_size") is not None
    assert value(again, "spicadb_scrape_source_up", source="database") == 1
