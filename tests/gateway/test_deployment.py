"""The gateway in docker-compose.yml and the Helm chart (static: no Docker engine, no helm binary), beside
the generic checks of tests/deploy: its settings, the two modes, and the ingress auth sub-request."""

from __future__ import annotations

import re
from typing import Any

import pytest
from deploy_checks import (
    CHART_DIR,
    COMPOSE_FILE,
    compose_environment,
    load_yaml,
    port_mappings,
    template_structure_problems,
    unresolved_references,
    validate_settings,
)
from spicadb_gateway.config import GatewaySettings
from spicadb_gateway.spec import SPEC


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    values: dict[str, Any] = load_yaml(CHART_DIR / "values.yaml")
    return values


@pytest.fixture(scope="module")
def templates() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in (CHART_DIR / "templates").iterdir()}


def test_compose_runs_the_gateway_as_the_one_published_port() -> None:
    compose = load_yaml(COMPOSE_FILE)
    gateway = compose["services"]["gateway"]
    env = compose_environment(gateway)
    assert validate_settings(GatewaySettings, env) is None
    assert env["SPICADB_PORT"] == str(SPEC.default_port)
    assert "auth=http://auth:8001" in env["SPICADB_UPSTREAMS"]
    assert ("127.0.0.1", 8000, 8000) in port_mappings(gateway)
    published = [name for name, entry in compose["services"].items() if entry.get("ports")]
    assert set(published) - {"postgres", "nats"} == {"gateway"}
    # its route policy is every service's spec: its image holds them all, so it is named to run
    assert [str(part) for part in gateway["command"]] == ["spicadb", "serve", "gateway"]
    # production (compose's environment) refuses to start without the key sealing session tokens
    assert env["SPICADB_SESSION_KEY"].startswith("${GATEWAY_SESSION_KEY:?")
    assert env["SPICADB_FORWARDED_ALLOW_IPS"] == "${GATEWAY_TRUSTED_PROXIES:-}"  # the edge: no proxy
    dockerfile = (COMPOSE_FILE.parent / "deploy" / "service" / "Dockerfile").read_text(encoding="utf-8")
    assert '[ "$SERVICE" != "gateway" ]' in dockerfile


def test_chart_has_the_gateway_and_its_mode_switch(values: dict[str, Any]) -> None:
    entry = values["services"]["gateway"]
    assert entry["port"] == SPEC.default_port
    assert entry["gatewayPrefixes"] == list(SPEC.gateway_prefixes)
    assert entry["exposed"] is True
    assert values["gateway"]["mode"] in ("proxy", "ingress")
    assert validate_settings(GatewaySettings, {k: str(v) for k, v in entry["env"].items()}) is None


def test_ingress_template_covers_both_modes(templates: dict[str, str], values: dict[str, Any]) -> None:
    ingress = templates["ingress.yaml"]
    assert template_structure_problems("ingress.yaml", ingress) == []
    assert unresolved_references({"ingress.yaml": ingress}, values) == []
    assert 'has $mode (list "proxy" "ingress")' in ingress  # anything else fails the render
    # proxy: everything to the gateway, unbuffered and unlimited by nginx (the gateway streams and limits)
    assert re.search(r'proxy-body-size: "0"', ingress)
    assert 'proxy-request-buffering: "off"' in ingress
    # ingress: each service behind an auth sub-request to the gateway's /auth/ingress
    assert re.search(r"auth-url: .*/auth/ingress", ingress)
    # ...while the sub-request endpoint itself is not routed from outside
    public = re.search(r'\$paths = dict ("/auth" .*)\}\}', ingress)
    assert public is not None
    assert '"/auth/ingress"' not in public.group(1)
    assert '"/auth/" "Prefix"' not in public.group(1)
    headers = re.search(r'auth-response-headers: "([^"]+)"', ingress)
    assert headers is not None
    assert {h.strip() for h in headers.group(1).split(",")} >= {
        "X-Auth-Request-User",
        "X-Auth-Request-Client",
        "X-Auth-Request-Scopes",
        "Authorization",
    }


def test_the_gateway_deployment_gets_its_upstreams_and_public_url(templates: dict[str, str]) -> None:
    deployment = templates["deployment.yaml"]
    assert 'if eq $name "gateway"' in deployment
    for variable in (
        "SPICADB_UPSTREAMS",
        "SPICADB_PUBLIC_URL",
        "SPICADB_CORS_ORIGINS",
        "SPICADB_OAUTH_CLIENT_SECRET",
    ):
        assert f"- name: {variable}" in deployment, variable
        assert variable.removeprefix("SPICADB_").lower() in GatewaySettings.__struct_fields__
    assert 'define "spicadb.upstreams"' in templates["_helpers.tpl"]
    # in ingress mode the ingress controller must reach every routed service
    assert 'eq $.Values.gateway.mode "ingress"' in templates["networkpolicy.yaml"]


def test_chart_gives_the_gateway_its_session_key_from_a_secret(
    values: dict[str, Any], templates: dict[str, str]
) -> None:
    assert values["gateway"]["sessionKey"] == {"existingSecret": "", "key": "session-key"}
    deployment = templates["deployment.yaml"]
    assert "- name: SPICADB_SESSION_KEY" in deployment
    # the operator's Secret, else the one the chart makes once (tests/deploy/test_deploy_k8s.py)
    assert 'include "spicadb.sessionKeySecret" $' in deployment
    assert "secret-session-key.yaml" in templates
