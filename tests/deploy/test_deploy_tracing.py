"""The traces' way out in docker-compose.yml and the chart, checked statically: the services' OTLP endpoint
is the collector entry's OTLP/HTTP receiver, the collector reads deploy/otel-collector/config.yaml, and that
config's traces pipeline receives OTLP and exports only to exporters it defines."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from deploy_checks import (
    CHART_DIR,
    COMPOSE_FILE,
    REPO,
    SERVICE_ANCHOR,
    compose_environment,
    interpolate,
    load_yaml,
    validate_settings,
)

from spicadb_kit.settings import ServiceSettings

COLLECTOR = "otel-collector"
CONFIG = REPO / "deploy" / "otel-collector" / "config.yaml"


def test_services_export_to_the_collector_entry_when_asked() -> None:
    compose: dict[str, Any] = load_yaml(COMPOSE_FILE)
    env = compose_environment(compose[SERVICE_ANCHOR])
    assert interpolate(env["SPICADB_OTEL_EXPORTER"]) == "none", "tracing is opt-in (OTEL_EXPORTER=otlp)"
    endpoint = urlsplit(env["SPICADB_OTEL_ENDPOINT"])
    assert (endpoint.hostname, endpoint.path) == (COLLECTOR, "/v1/traces")
    collector = compose["services"][COLLECTOR]
    assert collector["profiles"] == ["tracing"], "the collector starts only with the tracing profile"
    mounts = {PurePosixPath(v.split(":")[1]): REPO / v.split(":")[0] for v in collector["volumes"]}
    assert any(path.name == "config.yaml" and host.resolve() == CONFIG for path, host in mounts.items())
    config = load_yaml(CONFIG)
    http = config["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    assert int(http.rsplit(":", 1)[1]) == endpoint.port


def test_collector_pipeline_uses_only_what_it_defines() -> None:
    config = load_yaml(CONFIG)
    pipeline = config["service"]["pipelines"]["traces"]
    assert "otlp" in pipeline["receivers"]
    for kind in ("receivers", "processors", "exporters"):
        assert set(pipeline[kind]) <= set(config[kind]), kind


def test_chart_exporter_is_a_setting_value() -> None:
    values = load_yaml(CHART_DIR / "values.yaml")
    otel = values["otel"]
    assert validate_settings(ServiceSettings, {"SPICADB_OTEL_EXPORTER": otel["exporter"]}) is None
    assert otel["endpoint"] == "" or urlsplit(otel["endpoint"]).path == "/v1/traces"
    assert 0 <= float(otel["sampleRatio"]) <= 1
    helpers = (CHART_DIR / "templates" / "_helpers.tpl").read_text(encoding="utf-8")
    assert "OTEL_TRACES_SAMPLER_ARG: {{ .Values.otel.sampleRatio | quote }}" in helpers
