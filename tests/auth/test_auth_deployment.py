"""Where the auth service is deployed (docker-compose.yml, the Helm chart), it believes
``X-Forwarded-For`` only from the gateway's addresses, never from anyone (``*``): the sign-in
throttling keys on the client address, which anyone could otherwise choose."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
_DEFAULTED = re.compile(r"\$\{[A-Z0-9_]+:-([^}]*)\}")


def _load(path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")))


def _value(text: str) -> str:
    """A compose value with its ``${NAME:-default}`` references at their defaults."""
    return _DEFAULTED.sub(lambda m: m[1], text)


def _networks(value: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    assert value.strip() not in ("", "*"), f"forwarded headers trusted from {value!r}"
    return [ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",")]


def test_compose_trusts_only_the_gateways_address() -> None:
    compose = _load(REPO / "docker-compose.yml")
    services = compose["services"]
    trusted = _networks(_value(services["auth"]["environment"]["SPICADB_FORWARDED_ALLOW_IPS"]))
    gateway = services["gateway"]["networks"]["default"]["ipv4_address"]
    assert trusted == [ipaddress.ip_network(_value(gateway))]
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(_value(gateway)) in ipaddress.ip_network(_value(subnet))


def test_the_chart_trusts_only_private_pod_addresses() -> None:
    values = _load(REPO / "deploy/helm/spicadb/values.yaml")
    trusted = _networks(str(values["services"]["auth"]["env"]["SPICADB_FORWARDED_ALLOW_IPS"]))
    assert all(network.is_private for network in trusted), trusted
    assert values["networkPolicy"]["enabled"] is True  # only the gateway and the ingress reach auth
