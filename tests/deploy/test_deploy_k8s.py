"""The Helm chart for a data centre, checked statically (no helm binary, no cluster here): every
Deployment with resources and a PodDisruptionBudget, auth as 2 replicas reading the first start's
secrets from a Kubernetes Secret, no secret in values or the ConfigMap, each service's database password
from its own Secret (secretKeyRef), the CloudNativePG Cluster and its managed roles, and the services
started only after the migration and the provisioning (their `spicadb wait` init container)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from deploy_checks import CHART_DIR, REPO, expand_includes, load_yaml, template_defines
from k8s_checks import (
    disruption_problems,
    env_secret_problems,
    managed_role_problems,
    resources_problems,
    secret_ref_problems,
    secret_settings,
    service_resources_problems,
    values_secret_problems,
)
from spicadb_auth.config import AuthSettings
from spicadb_auth.services.bootstrap import ROBOTS
from spicadb_auth.services.supplied import (
    ADMIN_PASSWORD_FILE,
    MIN_CLIENT_SECRET,
    MIN_PASSWORD,
    client_secret_file,
)

from spicadb_kit.published import READER_ROLE
from spicadb_kit.settings import RuntimeSettings, ServiceSettings
from spicadb_kit.spec import ServiceSpec, discover_services


@pytest.fixture(scope="module")
def specs() -> list[ServiceSpec]:
    return list(discover_services())


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return load_yaml(CHART_DIR / "values.yaml")


@pytest.fixture(scope="module")
def templates() -> dict[str, str]:
    directory = CHART_DIR / "templates"
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def secrets(specs: list[ServiceSpec]) -> set[str]:
    return secret_settings([ServiceSettings, RuntimeSettings, *(spec.settings for spec in specs)])


def expanded(templates: dict[str, str], name: str) -> str:
    return expand_includes(templates[name], template_defines(templates["_helpers.tpl"]))


# --- resources and disruption budgets -------------------------------------------------------------------


def test_every_pod_the_chart_runs_has_requests_and_a_memory_limit(
    values: dict[str, Any], templates: dict[str, str]
) -> None:
    assert service_resources_problems(values) == []
    deployment = templates["deployment.yaml"]
    # a service without resources fails the render instead of running unbounded
    assert re.search(r"\$resources := required .*\$svc\.resources", deployment)
    assert "{{- toYaml $resources | nindent 12 }}" in deployment
    assert "{{- toYaml $.Values.waitResources | nindent 12 }}" in deployment
    for job in ("migrate", "provision"):
        assert (
            f'required "{job}.resources is required" .Values.{job}.resources' in templates[f"job-{job}.yaml"]
        )
    assert (
        'required "postgres.cnpg.resources is required" $cnpg.resources' in templates["postgres-cluster.yaml"]
    )


def test_every_deployment_has_a_disruption_budget_on_its_own_pods(
    values: dict[str, Any], templates: dict[str, str]
) -> None:
    pdb = templates["pdb.yaml"]
    assert "{{- range $name, $svc := .Values.services }}" in pdb, "one per Deployment"
    assert "apiVersion: policy/v1" in pdb
    assert "kind: PodDisruptionBudget" in pdb
    selector = '{{- include "spicadb.serviceSelectorLabels" (dict "root" $ "name" $name) | nindent 6 }}'
    assert selector in pdb
    assert selector in templates["deployment.yaml"], "the budget selects the Deployment's pods"
    assert "maxUnavailable: {{ $.Values.podDisruptionBudget.maxUnavailable }}" in pdb
    assert disruption_problems(values) == []
    # the infrastructure's own budgets: the NATS chart's, and the operator's for PostgreSQL
    assert values["nats"]["podDisruptionBudget"]["enabled"] is True
    assert values["postgres"]["cnpg"]["instances"] >= 3


def test_auth_runs_two_replicas_with_nothing_on_its_disk(values: dict[str, Any]) -> None:
    auth = values["services"]["auth"]
    assert auth["replicas"] == 2
    assert "SPICADB_DATA" not in (auth.get("env") or {}), "no credentials file: the Secret holds them"


# --- secrets --------------------------------------------------------------------------------------------


def test_no_secret_is_a_literal_in_values_or_the_configmap(
    values: dict[str, Any], templates: dict[str, str], secrets: set[str]
) -> None:
    assert {"SPICADB_SESSION_KEY", "SPICADB_OAUTH_CLIENT_SECRET", "SPICADB_UPSTREAM_CLIENT_SECRET"} <= secrets
    assert values_secret_problems(values) == []
    for name, svc in values["services"].items():
        assert env_secret_problems(svc.get("env") or {}, secrets, f"services.{name}.env") == []
    common = template_defines(templates["_helpers.tpl"])["spicadb.commonSettings"]
    assert (
        env_secret_problems(dict.fromkeys(re.findall(r"(SPICADB_\w+):", common)), secrets, "ConfigMap") == []
    )
    assert "PASSWORD" not in common
    for name in ("deployment.yaml", "job-migrate.yaml", "job-provision.yaml"):
        assert secret_ref_problems(expanded(templates, name), secrets, name) == []


def test_each_service_connects_as_its_own_role_with_its_password_from_a_secret(
    templates: dict[str, str], values: dict[str, Any]
) -> None:
    defines = template_defines(templates["_helpers.tpl"])
    database_env = defines["spicadb.databaseEnv"]
    # the URL names the role and the server, never a password
    assert 'printf "postgresql://%s@%s:%v/%s" .user $host' in database_env
    assert re.search(r"- name: PGPASSWORD\n\s+valueFrom:\n\s+secretKeyRef:", database_env)
    service_env = defines["spicadb.serviceDatabaseEnv"]
    # postgres.cnpg: the chart's Secret of that role, which the operator sets on the role too
    assert (
        '"secret" (include "spicadb.roleSecret" (dict "root" .root "name" .name)) "key" "password"'
        in service_env
    )
    assert '"secret" .root.Values.postgres.existingSecret' in service_env
    # both the service and its wait connect as the service
    deployment = templates["deployment.yaml"]
    assert (
        deployment.count('include "spicadb.serviceDatabaseEnv" (dict "root" $ "name" $name "svc" $svc)') == 2
    )
    # the migration, a superuser: CloudNativePG's <cluster>-superuser
    assert '"user" "postgres" "secret" (printf "%s-superuser"' in defines["spicadb.migrationDatabaseEnv"]
    assert 'include "spicadb.migrationDatabaseEnv" .' in templates["job-migrate.yaml"]
    assert "enableSuperuserAccess: true" in templates["postgres-cluster.yaml"]

    role_secrets = templates["secret-database.yaml"]
    assert "{{- if .Values.postgres.cnpg.enabled }}" in role_secrets
    assert "{{- range $name, $svc := .Values.services }}" in role_secrets
    for needle in (
        "type: kubernetes.io/basic-auth",  # what CloudNativePG's passwordSecret takes
        'username: {{ include "spicadb.serviceRole" (dict "name" $name "svc" $svc) | b64enc }}',
        'cnpg.io/reload: "true"',
        "helm.sh/resource-policy: keep",
        'lookup "v1" "Secret" $.Release.Namespace $secret',  # a password made once, then kept
        "randAlphaNum 40",
    ):
        assert needle in role_secrets, needle
    assert values["postgres"]["existingSecret"] == ""


# --- PostgreSQL: the CloudNativePG Cluster ----------------------------------------------------------------


def test_postgres_is_a_cloudnativepg_cluster_with_pgsphere(
    templates: dict[str, str], values: dict[str, Any], specs: list[ServiceSpec]
) -> None:
    cluster = templates["postgres-cluster.yaml"]
    cnpg = values["postgres"]["cnpg"]
    assert cnpg["enabled"] is True
    for needle in (
        "{{- if .Values.postgres.cnpg.enabled }}",
        "apiVersion: postgresql.cnpg.io/v1",
        "kind: Cluster",
        "instances: {{ $cnpg.instances }}",
        "imageName: {{ required",
        "database: {{ .Values.postgres.database }}",
        "owner: {{ $cnpg.owner }}",
        "- CREATE EXTENSION IF NOT EXISTS pg_sphere WITH SCHEMA public",
        "size: {{ $cnpg.storage.size }}",
        "enablePodAntiAffinity: true",
    ):
        assert needle in cluster, needle
    # the operator reads the major version from the tag; the image adds pgSphere to its own
    assert cnpg["imageName"].rsplit(":", 1)[1].startswith("15")
    dockerfile = (REPO / "deploy" / "postgres" / "Dockerfile.cnpg").read_text(encoding="utf-8")
    assert re.search(r"^ARG BASE=\S+/cloudnative-pg/postgresql:15", dockerfile, re.M)
    assert "postgresql-15-pgsphere" in dockerfile
    assert re.search(r"^USER 26$", dockerfile, re.M), "the operator runs the image as postgres (26)"
    assert cnpg["storage"]["size"]

    needed = {spec.role: [READER_ROLE] for spec in specs if spec.reads_published}
    assert needed, "the tap service reads the published views"
    assert managed_role_problems(cluster, needed) == []
    for spec in specs:
        declared = (values["services"][spec.name].get("database") or {}).get("inRoles") or []
        assert set(declared) == set(needed.get(spec.role, [])), spec.name


def test_an_external_postgres_is_still_possible(templates: dict[str, str]) -> None:
    database_env = template_defines(templates["_helpers.tpl"])["spicadb.databaseEnv"]
    assert "{{- if not $pg.cnpg.enabled }}" in database_env
    assert 'required "postgres.host is required when postgres.cnpg.enabled is false" $pg.host' in database_env
    assert templates["secret-database.yaml"].count("{{- if .Values.postgres.cnpg.enabled }}") == 1


# --- the first start's secrets --------------------------------------------------------------------------


def test_first_start_secrets_are_a_kubernetes_secret_mounted_in_every_auth_replica(
    templates: dict[str, str],
) -> None:
    assert "bootstrap_secrets" in AuthSettings.__struct_fields__
    secret = templates["secret-bootstrap.yaml"]
    pairs = dict(
        re.findall(r'"([a-z-]+)" (\d+)', secret.split("range $key, $length := dict", 1)[1].split("}}")[0])
    )
    expected = {ADMIN_PASSWORD_FILE: MIN_PASSWORD} | {
        client_secret_file(r): MIN_CLIENT_SECRET for r in ROBOTS
    }
    assert set(pairs) == set(expected), "the keys are the files auth reads"
    assert all(int(pairs[key]) >= minimum for key, minimum in expected.items()), pairs
    for needle in (
        'lookup "v1" "Secret" .Release.Namespace $name',  # generated once, then kept as it is
        "helm.sh/resource-policy: keep",
        "(not .Values.auth.bootstrapSecret.existingSecret)",
    ):
        assert needle in secret, needle

    deployment = templates["deployment.yaml"]
    path = re.search(r"- name: SPICADB_BOOTSTRAP_SECRETS\n\s+value: (\S+)", deployment)
    assert path is not None
    mount = re.search(r"- name: bootstrap\n\s+mountPath: (\S+)\n\s+readOnly: true", deployment)
    assert mount is not None
    assert mount.group(1) == path.group(1)
    assert 'secretName: {{ include "spicadb.bootstrapSecret" $ }}' in deployment
    assert deployment.count('{{- if eq $name "auth" }}') >= 3, "env, mount and volume for auth only"


def test_the_gateway_session_key_is_made_once_unless_supplied(templates: dict[str, str]) -> None:
    secret = templates["secret-session-key.yaml"]
    for needle in (
        "(not .Values.gateway.sessionKey.existingSecret)",
        'lookup "v1" "Secret" .Release.Namespace $name',
        "randAlphaNum 48",  # SPICADB_SESSION_KEY needs 32 characters or more
        "helm.sh/resource-policy: keep",
    ):
        assert needle in secret, needle
    assert re.search(
        r'- name: SPICADB_SESSION_KEY\n\s+valueFrom:\n\s+secretKeyRef:\n\s+name: \{\{ include "spicadb.sessionKeySecret" \$ \}\}',
        templates["deployment.yaml"],
    )


# --- order: migration and provisioning before the services ------------------------------------------


def test_every_service_waits_for_the_migration_and_the_provisioning(templates: dict[str, str]) -> None:
    from spicadb_kit.runtime.cli import _parser

    deployment = templates["deployment.yaml"]
    init = deployment.index("initContainers:")
    assert init < deployment.index("      containers:"), "the wait comes before the service's container"
    assert 'command: ["spicadb", "wait", {{ $name | quote }}]' in deployment[init:]
    sub = next(a for a in _parser()._actions if a.dest == "command")
    assert "wait" in sub.choices  # type: ignore[operator]


# --- the checks can fail --------------------------------------------------------------------------------


def test_the_checks_report_what_they_look_for(values: dict[str, Any], secrets: set[str]) -> None:
    assert values_secret_problems({"postgres": {"password": "hunter2"}}) == [
        "values.yaml: postgres.password holds a literal secret"
    ]
    assert (
        values_secret_problems({"gateway": {"oauthClientSecret": {"existingSecret": "x", "key": "k"}}}) == []
    )
    assert env_secret_problems({"SPICADB_SESSION_KEY": "x"}, secrets, "env") != []
    assert secret_ref_problems("- name: SPICADB_SESSION_KEY\n  value: x\n", secrets, "t") != []
    assert secret_ref_problems("- name: PGPASSWORD\n  value: x\n", secrets, "t") != []
    assert secret_ref_problems("- name: PGPASSWORD\n  valueFrom:\n    secretKeyRef:\n", secrets, "t") == []
    assert resources_problems("x", {"requests": {"cpu": "1"}}) == [
        "x: no requests.memory",
        "x: no limits.memory",
    ]
    single = {**values, "services": {"auth": {"replicas": 1}}}
    assert disruption_problems(single) != []
    assert managed_role_problems("", {"spicadb_tap": [READER_ROLE]}) != []
