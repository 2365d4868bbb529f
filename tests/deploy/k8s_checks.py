"""Static checks of what the chart asks of Kubernetes: resources and a disruption budget for every
Deployment, secrets only through Secrets, each service's database password from its own Secret, the
CloudNativePG Cluster, the first start's Secret, and the order migrate/provision -> services. Each check
returns a list of problems (empty when all is well), so a test can feed it a broken input and see it fail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from spicadb_kit.settings import BaseSettings

# settings whose value is a secret (a password, a key, a client secret): never a literal in values or a
# ConfigMap, only a secretKeyRef
SECRET_SETTING = re.compile(r"SECRET$|PASSWORD|_KEY$|TOKEN$")
# values keys that hold a secret when they hold anything (not the name of a Secret or of one of its keys)
SECRET_VALUE_KEY = re.compile(r"(?i)(password|secret|token|credential)s?$")
# ...except the keys that name a Secret object (existingSecret, tlsSecret): a name is not a secret
NAMES_A_SECRET = re.compile(r"(existing|tls)Secret$")


def secret_settings(classes: Iterable[type[BaseSettings]]) -> set[str]:
    """Every settings variable that carries a secret (SPICADB_SESSION_KEY, SPICADB_OAUTH_CLIENT_SECRET...)."""
    names = {name for cls in classes for name in cls.env_names().values()}
    return {name for name in names if SECRET_SETTING.search(name)}


def values_secret_problems(values: Any, path: str = "") -> list[str]:
    """Non-empty literals under keys that name a secret, anywhere in values.yaml."""
    problems = []
    if isinstance(values, Mapping):
        for key, value in values.items():
            where = f"{path}.{key}" if path else str(key)
            literal = isinstance(value, str | int) and str(value)
            if SECRET_VALUE_KEY.search(str(key)) and not NAMES_A_SECRET.search(str(key)) and literal:
                problems.append(f"values.yaml: {where} holds a literal secret")
            problems += values_secret_problems(value, where)
    elif isinstance(values, list):
        for index, item in enumerate(values):
            problems += values_secret_problems(item, f"{path}[{index}]")
    return problems


def env_secret_problems(env: Mapping[str, Any], secrets: set[str], where: str) -> list[str]:
    """A services.<name>.env (or the ConfigMap's data) that sets a secret setting as a literal."""
    return [f"{where}: {name} is a secret: set it from a Secret" for name in sorted(set(env) & secrets)]


def secret_ref_problems(template: str, secrets: set[str], where: str) -> list[str]:
    """Every secret setting a template sets comes from a secretKeyRef (never `value:`)."""
    problems = []
    for match in re.finditer(r"- name: (SPICADB_[A-Z0-9_]+|PGPASSWORD)\n(\s+)(\w+):", template):
        name, kind = match.group(1), match.group(3)
        if (name in secrets or name == "PGPASSWORD") and kind != "valueFrom":
            problems.append(f"{where}: {name} is set with `{kind}:`, not from a Secret")
        if kind == "valueFrom" and "secretKeyRef:" not in template[match.end() : match.end() + 80]:
            problems.append(f"{where}: {name} comes from something other than a secretKeyRef")
    return problems


def resources_problems(name: str, resources: Any) -> list[str]:
    """Requests of CPU and memory, and a memory limit (the scheduler places the pod, a leak is bounded)."""
    resources = resources or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    problems = [f"{name}: no requests.{r}" for r in ("cpu", "memory") if r not in requests]
    if "memory" not in limits:
        problems.append(f"{name}: no limits.memory")
    return problems


def service_resources_problems(values: Mapping[str, Any]) -> list[str]:
    problems = []
    for name, svc in (values.get("services") or {}).items():
        problems += resources_problems(f"values.yaml: services.{name}.resources", svc.get("resources"))
    for key in ("migrate", "provision"):
        problems += resources_problems(f"values.yaml: {key}.resources", values[key].get("resources"))
    problems += resources_problems("values.yaml: waitResources", values.get("waitResources"))
    problems += resources_problems(
        "values.yaml: postgres.cnpg.resources", values["postgres"]["cnpg"].get("resources")
    )
    problems += resources_problems(
        "values.yaml: nats.container.merge.resources",
        ((values["nats"].get("container") or {}).get("merge") or {}).get("resources"),
    )
    return problems


def disruption_problems(values: Mapping[str, Any]) -> list[str]:
    """With the budget's maxUnavailable, every service keeps a pod through a drain."""
    budget = values["podDisruptionBudget"]["maxUnavailable"]
    problems = []
    if not isinstance(budget, int) or budget < 1:
        problems.append(
            "values.yaml: podDisruptionBudget.maxUnavailable must be 1 or more (drains must go on)"
        )
        return problems
    for name, svc in (values.get("services") or {}).items():
        if int(svc.get("replicas", 1)) - budget < 1:
            problems.append(
                f"values.yaml: services.{name}: {svc.get('replicas', 1)} replica(s) with maxUnavailable"
                f" {budget} leaves no pod during a drain"
            )
    return problems


def managed_role_problems(cluster: str, roles: Mapping[str, Iterable[str]]) -> list[str]:
    """The Cluster declares, for every service role, a managed role with login and its password Secret,
    and the roles it is a member of (``roles``: service role -> required memberships)."""
    problems = []
    if "{{- range $name, $svc := .Values.services }}" not in cluster:
        problems.append("postgres-cluster.yaml: managed roles are not declared per service")
    for needle in (
        'name: {{ include "spicadb.serviceRole" (dict "name" $name "svc" $svc) }}',
        "login: true",
        'name: {{ include "spicadb.roleSecret" (dict "root" $ "name" $name) }}',
        "inRoles:",
    ):
        if needle not in cluster:
            problems.append(f"postgres-cluster.yaml: the managed roles lack `{needle}`")
    for role in {r for needed in roles.values() for r in needed}:
        if not re.search(rf"- name: {role}\n\s+ensure: present", cluster):
            problems.append(
                f"postgres-cluster.yaml: {role} (granted by spicadb migrate) is not a managed role"
            )
    return problems
