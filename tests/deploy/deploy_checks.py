"""Static checks of docker-compose.yml and the Helm chart against the kit's settings and service specs.

No Docker engine or helm binary is needed: the files are parsed, and the Helm templates are scanned
for the few mistakes that matter most (a settings variable that does not exist, a `.Values` key that
values.yaml does not define, a service without its deployment entry). Each check returns a list of
problems, empty when all is well, so that a test can also feed it a made-up spec and see it fail.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from spicadb_kit.settings import BaseSettings, RuntimeSettings, ServiceSettings, SettingsError
from spicadb_kit.spec import ServiceSpec

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
CHART_DIR = REPO / "deploy" / "helm" / "spicadb"
CONSTRAINTS_FILE = REPO / "constraints.txt"
SERVICE_DOCKERFILE = "deploy/service/Dockerfile"
SERVICE_ANCHOR = "x-spicadb-service"
TEMPLATES = (
    "_helpers.tpl",
    "configmap.yaml",
    "deployment.yaml",
    "service.yaml",
    "job-migrate.yaml",
    "job-provision.yaml",
    "networkpolicy.yaml",
    "pdb.yaml",
    "postgres-cluster.yaml",
    "secret-bootstrap.yaml",
    "secret-database.yaml",
    "secret-session-key.yaml",
)

SPICADB_NAME = re.compile(r"\bSPICADB_[A-Z0-9_]*[A-Z0-9]\b")
# `${NAME}`, `${NAME:-default}`, `${NAME-default}`: compose interpolation, resolved to its default
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")
# a Go template action, `{{ ... }}` with optional trim markers
ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.DOTALL)
# `.Values.a.b` wherever it appears: `.Values...`, `$.Values...`, `.root.Values...`
VALUES_REF = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
# `.Values` reached from the current context (`.`), not from `$` or a variable
BARE_VALUES = re.compile(r"(?<![\w$)\]])\.Values\b")
BLOCK_OPENERS = {"if", "range", "with", "define", "block"}


def load_yaml(path: Path) -> dict[str, Any]:
    """A YAML document whose top level is a mapping (compose file, Chart.yaml, values.yaml)."""
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise TypeError(f"{path}: the top level is not a mapping")
    return data


def settings_variables(specs: Iterable[ServiceSpec] = ()) -> set[str]:
    """Every real settings variable: the kit's classes plus each service's own settings class."""
    classes: list[type[BaseSettings]] = [ServiceSettings, RuntimeSettings]
    classes += [spec.settings for spec in specs]
    return {name for cls in classes for name in cls.env_names().values()}


def unknown_variables(text: str, known: set[str]) -> list[str]:
    """SPICADB_* names in a file's text (keys, values, comments) that no settings class reads."""
    return sorted({name for name in SPICADB_NAME.findall(text) if name not in known})


def interpolate(value: object) -> str:
    """A compose value as the container sees it when no interpolation variable is set."""
    return INTERPOLATION.sub(lambda m: m.group(2) or "", str(value))


def compose_environment(entry: Mapping[str, Any]) -> dict[str, str]:
    """A compose `environment:` in either form (map, or list of NAME=value), values as strings."""
    env = entry.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, "") for item in env)
        return {name: value for name, value in pairs}
    return {name: "" if value is None else str(value) for name, value in env.items()}


def validate_settings(settings: type[BaseSettings], env: Mapping[str, str]) -> str | None:
    """None when the settings class accepts these variables, else its error message."""
    try:
        settings.from_env({name: interpolate(value) for name, value in env.items()})
    except SettingsError as exc:
        return str(exc)
    return None


def port_mappings(entry: Mapping[str, Any]) -> list[tuple[str, int, int]]:
    """Published ports of a compose service as (host address, host port, container port)."""
    mappings = []
    for port in entry.get("ports") or []:
        parts = str(port).split("/", 1)[0].split(":")
        address = parts[0] if len(parts) == 3 else ""
        mappings.append((address, int(parts[-2]), int(parts[-1])))
    return mappings


# --- docker-compose.yml -------------------------------------------------------------------------------


def compose_service_problems(compose: Mapping[str, Any], specs: Iterable[ServiceSpec]) -> list[str]:
    """Each spec has a compose entry of its name: its own image, SPICADB_PORT = default_port, and only
    its own settings variables; and every service image entry belongs to a spec."""
    specs = list(specs)
    services = compose.get("services") or {}
    problems = []
    for spec in specs:
        entry = services.get(spec.name)
        where = f"docker-compose.yml: services.{spec.name}"
        if entry is None:
            problems.append(f"{where} is missing (service spec {spec.name!r}, port {spec.default_port})")
            continue
        env = compose_environment(entry)
        port = interpolate(env.get("SPICADB_PORT", ""))
        if port != str(spec.default_port):
            problems.append(
                f"{where}: SPICADB_PORT is {port!r}, the spec's default_port is {spec.default_port}"
            )
        build = entry.get("build") or {}
        args = (build.get("args") or {}) if isinstance(build, Mapping) else {}
        if args.get("SERVICE") != spec.name:
            problems.append(f"{where}: build arg SERVICE is {args.get('SERVICE')!r}, expected {spec.name!r}")
        own = set(spec.settings.env_names().values())
        for name in sorted(n for n in env if n.startswith("SPICADB_") and n not in own):
            problems.append(f"{where}: {name} is not a setting of {spec.settings.__name__}")
        error = validate_settings(spec.settings, env)
        if error:
            problems.append(f"{where}: {error}")
    names = {spec.name for spec in specs}
    for name, entry in services.items():
        build = entry.get("build")
        if not isinstance(build, Mapping) or build.get("dockerfile") != SERVICE_DOCKERFILE:
            continue
        service = (build.get("args") or {}).get("SERVICE")
        if service and name not in names:
            problems.append(
                f"docker-compose.yml: services.{name} runs a service that no installed spec declares"
            )
    return problems


def compose_variable_problems(compose: Mapping[str, Any], specs: Iterable[ServiceSpec]) -> list[str]:
    """Every SPICADB_* environment key, in services and in x-* extension fields, is a settings variable."""
    known = settings_variables(specs)
    entries = {f"services.{name}": entry for name, entry in (compose.get("services") or {}).items()}
    entries.update({key: value for key, value in compose.items() if key.startswith("x-")})
    problems = []
    for where, entry in entries.items():
        if not isinstance(entry, Mapping):
            continue
        for name in compose_environment(entry):
            if name.startswith("SPICADB_") and name not in known:
                problems.append(f"docker-compose.yml: {where}: {name} is not a settings variable")
    return problems


# --- Helm chart -----------------------------------------------------------------------------------------


def chart_service_problems(values: Mapping[str, Any], specs: Iterable[ServiceSpec]) -> list[str]:
    """Each spec has services.<name> in values.yaml with port = default_port (and its gateway prefixes,
    when listed); every entry belongs to a spec and sets only that service's settings variables."""
    specs = list(specs)
    services = values.get("services") or {}
    problems = []
    for spec in specs:
        entry = services.get(spec.name)
        where = f"values.yaml: services.{spec.name}"
        if entry is None:
            problems.append(f"{where} is missing (service spec {spec.name!r}, port {spec.default_port})")
            continue
        if entry.get("port") != spec.default_port:
            problems.append(
                f"{where}.port is {entry.get('port')!r}, the spec's default_port is {spec.default_port}"
            )
        prefixes = entry.get("gatewayPrefixes")
        if prefixes is not None and list(prefixes) != list(spec.gateway_prefixes):
            problems.append(
                f"{where}.gatewayPrefixes {prefixes} differ from the spec's {list(spec.gateway_prefixes)}"
            )
        env = {name: str(value) for name, value in (entry.get("env") or {}).items()}
        own = set(spec.settings.env_names().values())
        for name in sorted(n for n in env if n not in own):
            problems.append(f"{where}.env: {name} is not a setting of {spec.settings.__name__}")
        error = validate_settings(spec.settings, env)
        if error:
            problems.append(f"{where}.env: {error}")
    names = {spec.name for spec in specs}
    for name in services:
        if name not in names:
            problems.append(f"values.yaml: services.{name} has no installed service spec")
    return problems


def resolves(values: Any, path: Iterable[str]) -> bool:
    node = values
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return False
        node = node[key]
    return True


def values_references(text: str) -> set[str]:
    """Dotted `.Values` paths a template reads, e.g. {"image.repository", "services"}."""
    return {match.group(1).lstrip(".") for match in VALUES_REF.finditer(text)}


def unresolved_references(templates: Mapping[str, str], values: Mapping[str, Any]) -> list[str]:
    return sorted(
        f"{name}: .Values.{ref} is not in values.yaml"
        for name, text in templates.items()
        for ref in values_references(text)
        if not resolves(values, ref.split("."))
    )


def template_actions(text: str) -> list[str]:
    """The actions of a Go template, comments left out."""
    return [a for a in ACTION.findall(text) if not a.startswith("/*")]


def template_structure_problems(name: str, text: str) -> list[str]:
    """Blocks are balanced, and no `.Values` is read through `.` inside a range/with block (where `.`
    is the element, so `.Values` is not the chart's values: use `$.Values`)."""
    problems = []
    stack: list[str] = []
    for action in template_actions(text):
        keyword = action.split(None, 1)[0] if action else ""
        scoped = any(block in ("range", "with") for block in stack)
        if scoped and BARE_VALUES.search(action):
            problems.append(f"{name}: `{action}` reads .Values inside {stack[-1]}: use $.Values")
        if keyword in BLOCK_OPENERS:
            stack.append(keyword)
        elif keyword == "end":
            if not stack:
                problems.append(f"{name}: `end` without an open block")
            else:
                stack.pop()
    if stack:
        problems.append(f"{name}: unclosed blocks {stack}")
    return problems


def template_defines(text: str) -> dict[str, str]:
    """Bodies of the `define` blocks of a template file, by name."""
    defines: dict[str, str] = {}
    depth = 0
    current: str | None = None
    start = 0
    for match in ACTION.finditer(text):
        action = match.group(1)
        if action.startswith("/*") or not action:
            continue
        keyword = action.split(None, 1)[0]
        if keyword == "define" and depth == 0:
            current = action.split('"')[1]
            start = match.end()
        if keyword in BLOCK_OPENERS:
            depth += 1
        elif keyword == "end":
            depth -= 1
            if depth == 0 and current is not None:
                defines[current] = text[start : match.start()]
                current = None
    return defines


def expand_includes(text: str, defines: Mapping[str, str], depth: int = 5) -> str:
    """A template's text with the bodies of the helpers it includes appended (recursively)."""
    seen: set[str] = set()
    parts = [text]
    frontier = [text]
    for _ in range(depth):
        found = {n for t in frontier for n in re.findall(r'include\s+"([^"]+)"', t)} - seen
        seen |= found
        frontier = [defines[n] for n in sorted(found) if n in defines]
        parts += frontier
    return "\n".join(parts)


def common_settings_sources(helpers: str) -> dict[str, str]:
    """SPICADB_X -> values path, for the settings the helpers take straight from values.yaml."""
    pattern = re.compile(r"^\s*(SPICADB_[A-Z0-9_]+):\s*\{\{\s*\.Values\.([\w.]+)\s*\|\s*quote\s*\}\}", re.M)
    return dict(pattern.findall(helpers))


def lookup(values: Any, path: str) -> Any:
    node = values
    for key in path.split("."):
        node = node[key]
    return node


def _revision_job_problems(text: str, job: str, command: str) -> list[str]:
    """A Job of each revision beside the release (not a Helm hook: the release's own PostgreSQL and NATS
    do not exist before an install), named with the revision (a Job's template cannot change), that
    never restarts in place and retries with backoff while the server it needs comes up."""
    where = f"job-{job}.yaml"
    problems = []
    if "helm.sh/hook" in text:
        problems.append(f"{where}: a hook runs before the release's PostgreSQL and NATS exist")
    if not re.search(rf"name: .*-{job}-\{{\{{ \.Release\.Revision \}}\}}", text):
        problems.append(f"{where}: the Job's name must carry .Release.Revision")
    if not re.search(rf'command:\s*\[\s*"spicadb",\s*"{command}"\s*\]', text):
        problems.append(f'{where}: the container does not run ["spicadb", "{command}"]')
    if "restartPolicy: Never" not in text:
        problems.append(f"{where}: it must not restart in place (restartPolicy: Never)")
    if f"backoffLimit: {{{{ .Values.{job}.backoffLimit }}}}" not in text:
        problems.append(f"{where}: backoffLimit must come from values ({job}.backoffLimit)")
    return problems


def migration_job_problems(text: str) -> list[str]:
    return _revision_job_problems(text, "migrate", "migrate")


def provision_job_problems(text: str) -> list[str]:
    return _revision_job_problems(text, "provision", "provision")


def pinned_version(package: str) -> str:
    """The version constraints.txt pins for a package."""
    for line in CONSTRAINTS_FILE.read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition("==")
        if name.strip().lower() == package.lower():
            return version.strip()
    raise LookupError(f"{package} is not pinned in constraints.txt")


def url_host_port(url: str) -> tuple[str | None, int | None]:
    parts = urlsplit(interpolate(url))
    return parts.hostname, parts.port


# helm's chart.Dependency fields in its JSON order (name and repository always, the others when set)
_HELM_DEPENDENCY_FIELDS = (
    "name",
    "version",
    "repository",
    "condition",
    "tags",
    "enabled",
    "import-values",
    "alias",
)


def _helm_dependency(dependency: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: dependency[key]
        for key in _HELM_DEPENDENCY_FIELDS
        if key in ("name", "repository") or dependency.get(key)
    }


def chart_lock_digest(requested: Iterable[Mapping[str, Any]], locked: Iterable[Mapping[str, Any]]) -> str:
    """The digest `helm dependency update` writes in Chart.lock and `helm dependency build` compares
    with Chart.yaml's dependencies (helm's HashReq: sha256 of the JSON of [requested, locked])."""
    pair = [[_helm_dependency(d) for d in requested], [_helm_dependency(d) for d in locked]]
    return "sha256:" + hashlib.sha256(json.dumps(pair, separators=(",", ":")).encode()).hexdigest()
