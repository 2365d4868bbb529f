"""Settings from the environment: every field ``x`` of a settings class is read from ``SPICADB_X``.

Settings are msgspec Structs, so a wrong value fails at start with the variable's name
instead of somewhere deep in a request. Services subclass :class:`ServiceSettings`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import msgspec

__all__ = [
    "ENV_PREFIX",
    "BaseSettings",
    "Environment",
    "RuntimeSettings",
    "ServiceSettings",
    "SettingsError",
]

ENV_PREFIX = "SPICADB_"

Environment = Literal["development", "test", "production"]


class SettingsError(ValueError):
    """A settings variable is missing or malformed."""


class BaseSettings(msgspec.Struct, kw_only=True, frozen=True):
    """Common base: knows how to load itself from the environment."""

    @classmethod
    def env_names(cls) -> dict[str, str]:
        """Field name -> environment variable name."""
        return {f: ENV_PREFIX + f.upper() for f in cls.__struct_fields__}

    @classmethod
    def from_env(cls: type[S], env: Mapping[str, str] | None = None, **overrides: object) -> S:
        """The settings from the environment (``SPICADB_<FIELD>``), converted and checked; a bad value
        names its variable."""
        source = os.environ if env is None else env
        raw: dict[str, object] = {}
        for field, var in cls.env_names().items():
            if var in source:
                raw[field] = source[var]
        raw.update(overrides)
        try:
            return msgspec.convert(raw, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise SettingsError(_name_variable(str(exc))) from exc


S = TypeVar("S", bound=BaseSettings)


def _name_variable(message: str) -> str:
    # msgspec says "... - at `$.pg_port`": point at the environment variable instead.
    if "`$." in message:
        field = message.split("`$.", 1)[1].split("`", 1)[0]
        return message.replace(f"`$.{field}`", ENV_PREFIX + field.upper())
    # ... and "Object missing required field `api_key`" when a field without a default is unset.
    if "missing required field `" in message:
        field = message.split("missing required field `", 1)[1].split("`", 1)[0]
        return f"{ENV_PREFIX}{field.upper()} is required but not set"
    return message


class ServiceSettings(BaseSettings, frozen=True):
    """What every SPICA-DB service process reads (services add their own fields)."""

    environment: Environment = "development"
    log_level: str = "INFO"
    # console in development, JSON lines otherwise; "auto" picks from environment
    log_format: Literal["auto", "console", "json"] = "auto"
    host: str = "127.0.0.1"
    port: int = 8080
    # proxies whose X-Forwarded-* headers are believed (comma-separated addresses, "*" for any)
    forwarded_allow_ips: str = "127.0.0.1"
    # the service's own role on the shared cluster; its schema is named after the service
    database_url: str = "postgresql://spicadb@127.0.0.1:54329/spicadb"
    database_pool_min: int = 1
    database_pool_max: int = 10
    # one server's URL, or several comma-separated (the nodes of a cluster: the client reconnects to another)
    nats_url: str = "nats://127.0.0.1:4229"
    # copies of every JetStream stream, applied by `spicadb provision` (3 on a three-node cluster)
    stream_replicas: Annotated[int, msgspec.Meta(ge=1, le=5)] = 1
    # access tokens: who signs them and for whom they are meant
    token_issuer: str = "http://127.0.0.1:8000"
    token_audience: str = "spicadb"
    jwks_url: str = "http://127.0.0.1:8000/.well-known/jwks.json"
    # robots (client-credentials tokens whose subject is the client) that see every programme's data,
    # comma-separated; each service that holds such data says which by default
    trusted_clients: str = ""
    otel_exporter: Literal["none", "console", "otlp"] = "none"
    otel_endpoint: str = "http://127.0.0.1:4318/v1/traces"
    # outbox relay and consumers
    outbox_batch: int = 500
    outbox_poll_seconds: float = 1.0
    outbox_retention_seconds: float = 600.0
    # rounds a row may fail while the rows after it are acknowledged, before it is parked
    outbox_max_attempts: int = 10
    # readiness fails when the oldest event waiting for the relay is older than this
    relay_stuck_seconds: float = 60.0
    # longer than the streams keep events (30 days), so a redelivery or replay still finds its inbox row
    inbox_retention_seconds: float = 35 * 24 * 3600.0
    # events fetched and applied per consumer transaction
    consumer_batch: int = 200

    def trusted(self) -> frozenset[str]:
        """The client ids trusted as robots of the platform (their own tokens see every row)."""
        return frozenset(c.strip() for c in self.trusted_clients.split(",") if c.strip())

    @property
    def json_logs(self) -> bool:
        """Whether logs are JSON lines (``auto``: in production only)."""
        if self.log_format == "auto":
            return self.environment == "production"
        return self.log_format == "json"


class RuntimeSettings(BaseSettings, frozen=True):
    """What `make run` (the local runtime) reads: where the data live and which ports to use."""

    environment: Environment = "development"
    data: str = ".spicadb"
    host: str = "127.0.0.1"
    pg_port: int = 54329
    pg_database: str = "spicadb"
    # Debian layout; override when PostgreSQL lives elsewhere
    pg_bin: str = "/usr/lib/postgresql/15/bin"
    nats_port: int = 4229
    nats_monitor_port: int = 8229
    # JetStream fsync interval: "2m" is the server default, "always" trades throughput for OS-crash safety
    nats_sync_interval: str = "2m"
    ready_timeout_seconds: float = 60.0
    # extra service specs to run besides the installed ones ("module:attribute", comma-separated)
    services: str = ""
    # only these services (names, comma-separated; default: every one), e.g. while working on one
    run_only: str = ""

    @property
    def data_path(self) -> Path:
        """The local data folder as an absolute path."""
        return Path(self.data).absolute()

    @property
    def pg_bin_path(self) -> Path:
        """The folder of the PostgreSQL binaries."""
        return Path(self.pg_bin)
