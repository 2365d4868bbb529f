"""The oidb service's /metrics: the kit's series and its own gauge (granules in the OiDB table), read
from its database when scraped."""

from __future__ import annotations

from oidb_support import OidbService
from prometheus_client.parser import text_string_to_metric_families

from spicadb_kit.metrics import KIT_SERIES


async def test_the_oidb_metrics_count_its_granules(service: OidbService) -> None:
    async with service.running() as client:
        answer = await client.get("/metrics")
    assert answer.status_code == 200
    samples = {s.name: s for family in text_string_to_metric_families(answer.text) for s in family.samples}
    assert samples["spicadb_oidb_granules"].labels == {"service": "oidb"}
    assert samples["spicadb_oidb_granules"].value == 0
    assert set(samples) >= KIT_SERIES - {n for n in KIT_SERIES if n.startswith("spicadb_http_")}
