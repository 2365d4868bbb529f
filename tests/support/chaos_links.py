"""Bad links for the fault suite: a :class:`chaos_platform.ChaosPlatform` whose services reach PostgreSQL
and NATS only through link proxies (spicadb_kit.testing.proxy's, run by a ``LinkThread``: the platform
starts its processes from blocking code, so the proxies need a loop of their own).

- ``LinkedPlatform(base, services, links, replicas=1)``: the services' ``SPICADB_DATABASE_URL``
  and ``SPICADB_NATS_URL`` point at ``database_link`` and ``nats_link``; the platform's own migrations,
  provisioning and the test's checks go straight to the servers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chaos_platform import ChaosPlatform

from spicadb_kit.testing.proxy import Link, LinkThread, through

__all__ = ["LinkedPlatform"]


class LinkedPlatform(ChaosPlatform):
    """A chaos platform whose services talk to PostgreSQL and NATS through a link each."""

    def __init__(self, base: Path, services: Sequence[str], links: LinkThread, *, replicas: int = 1) -> None:
        super().__init__(base, services, replicas=replicas)
        host = self.settings.host
        self.database_link = links.open(host, self.settings.pg_port, seed=18)
        self.nats_link = links.open(host, self.settings.nats_port, seed=19)

    @property
    def links(self) -> tuple[Link, Link]:
        return self.database_link, self.nats_link

    def service_env(self, spec: Any, port: int) -> dict[str, str]:
        env = super().service_env(spec, port)
        env["SPICADB_DATABASE_URL"] = through(env["SPICADB_DATABASE_URL"], self.database_link.port)
        env["SPICADB_NATS_URL"] = through(env["SPICADB_NATS_URL"], self.nats_link.port)
        return env
