"""The Grafana dashboard (deploy/grafana/spicadb.json), checked statically: every query names series and
labels the services export (the kit's list, checked itself against a real scrape in
tests/oifits/test_metrics_scrape.py, and each service's own gauges)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from spicadb_kit.metrics import KIT_SERIES
from spicadb_kit.spec import discover_services

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "spicadb.json"
# the labels of the kit's series (Prometheus adds job and instance), and of the services' own gauges
KIT_LABELS = {"service", "route", "method", "status", "durable", "source", "le", "job", "instance"}


def exported() -> tuple[set[str], set[str]]:
    gauges = [gauge for spec in discover_services() for gauge in spec.gauges]
    return set(KIT_SERIES) | {g.name for g in gauges}, KIT_LABELS | {
        label for g in gauges for label in g.labels
    }


def expressions(dashboard: dict[str, Any]) -> list[str]:
    found = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    found += [v["definition"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return found


def test_every_query_names_exported_series_and_labels() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    series, labels = exported()
    for expr in expressions(dashboard):
        names = set(re.findall(r"\bspicadb_\w+", expr))
        assert names, expr
        assert names <= series, (expr, names - series)
        used = {
            label.strip() for group in re.findall(r"\bby \(([^)]*)\)", expr) for label in group.split(",")
        }
        used |= set(re.findall(r"(\w+)\s*=~?\s*\"", expr))
        used |= set(re.findall(r"label_values\(\w+, (\w+)\)", expr))
        assert used <= labels, (expr, used - labels)


def test_the_dashboard_shows_what_operations_watch() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            for legend in re.findall(r"\{\{(\w+)\}\}", target["legendFormat"]):
                assert legend in exported()[1], (panel["title"], legend)
    queries = " ".join(expressions(dashboard))
    for shown in (
        "histogram_quantile(0.99",
        "spicadb_outbox_unpublished",
        "spicadb_consumer_pending",
        "spicadb_dead_letters_open",
        "spicadb_oifits_pushes",
        "spicadb_relay_published_total",
    ):
        assert shown in queries, shown
