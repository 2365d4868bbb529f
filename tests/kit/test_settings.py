"""Settings come from SPICADB_* variables; a wrong one stops the start naming the variable."""

from __future__ import annotations

import pytest

from spicadb_kit.settings import ServiceSettings, SettingsError


class ArchiveSettings(ServiceSettings, frozen=True, kw_only=True):
    """A service's own settings: one required secret, one optional number."""

    archive_token: str
    archive_batch: int = 50


def test_variables_are_read_and_typed() -> None:
    settings = ServiceSettings.from_env(
        {
            "SPICADB_ENVIRONMENT": "production",
            "SPICADB_HOST": "0.0.0.0",
            "SPICADB_PORT": "8123",
            "SPICADB_DATABASE_URL": "postgresql://spicadb_obs@db:5432/spicadb",
            "SPICADB_DATABASE_POOL_MAX": "25",
            "SPICADB_NATS_URL": "nats://bus:4222",
            "SPICADB_TOKEN_ISSUER": "https://auth.chara.test",
            "SPICADB_OUTBOX_POLL_SECONDS": "0.25",
            "SPICADB_LOG_LEVEL": "debug",
        }
    )
    assert settings.environment == "production"
    assert settings.host == "0.0.0.0"
    assert settings.port == 8123
    assert settings.database_url == "postgresql://spicadb_obs@db:5432/spicadb"
    assert settings.database_pool_max == 25
    assert settings.nats_url == "nats://bus:4222"
    assert settings.token_issuer == "https://auth.chara.test"
    assert settings.outbox_poll_seconds == 0.25
    assert settings.log_level == "debug"


def test_process_environment_is_the_default_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPICADB_PORT", "9001")
    monkeypatch.setenv("SPICADB_TOKEN_AUDIENCE", "spicadb-programmes")
    settings = ServiceSettings.from_env()
    assert settings.port == 9001
    assert settings.token_audience == "spicadb-programmes"


def test_defaults_when_unset() -> None:
    settings = ServiceSettings.from_env({})
    assert settings == ServiceSettings()
    assert settings.environment == "development"
    assert settings.port == 8080
    assert settings.host == "127.0.0.1"
    assert settings.database_pool_min == 1
    assert settings.database_pool_max == 10
    assert settings.otel_exporter == "none"


def test_variables_without_the_prefix_or_unknown_ones_are_ignored() -> None:
    settings = ServiceSettings.from_env({"PORT": "1234", "SPICADB_NO_SUCH_THING": "x", "SPICADB_port": "1"})
    assert settings.port == 8080


def test_overrides_win_over_the_environment() -> None:
    settings = ServiceSettings.from_env({"SPICADB_PORT": "8123"}, port=9999)
    assert settings.port == 9999


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SPICADB_PORT", "abc"),
        ("SPICADB_PORT", "80.5"),
        ("SPICADB_DATABASE_POOL_MAX", ""),
        ("SPICADB_OUTBOX_POLL_SECONDS", "fast"),
        ("SPICADB_ENVIRONMENT", "staging"),
        ("SPICADB_LOG_FORMAT", "xml"),
        ("SPICADB_OTEL_EXPORTER", "jaeger"),
    ],
)
def test_bad_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        ServiceSettings.from_env({variable: value})
    assert variable in str(raised.value)
    # the message speaks of variables, not of Python fields
    assert "$." not in str(raised.value)


def test_service_settings_add_their_own_variables() -> None:
    settings = ArchiveSettings.from_env(
        {"SPICADB_ARCHIVE_TOKEN": "s3cret", "SPICADB_ARCHIVE_BATCH": "200", "SPICADB_PORT": "8200"}
    )
    assert settings.archive_token == "s3cret"
    assert settings.archive_batch == 200
    assert settings.port == 8200
    assert ArchiveSettings.env_names()["archive_token"] == "SPICADB_ARCHIVE_TOKEN"


def test_missing_required_variable_is_named() -> None:
    with pytest.raises(SettingsError, match="SPICADB_ARCHIVE_TOKEN"):
        ArchiveSettings.from_env({"SPICADB_ARCHIVE_BATCH": "10"})


def test_bad_service_variable_is_named() -> None:
    with pytest.raises(SettingsError, match="SPICADB_ARCHIVE_BATCH"):
        ArchiveSettings.from_env({"SPICADB_ARCHIVE_TOKEN": "s3cret", "SPICADB_ARCHIVE_BATCH": "lots"})


@pytest.mark.parametrize(
    ("environment", "log_format", "json_logs"),
    [
        ("production", None, True),
        ("development", None, False),
        ("test", None, False),
        ("development", "json", True),
        ("production", "console", False),
        ("production", "auto", True),
    ],
)
def test_json_logs_follow_environment_unless_forced(
    environment: str, log_format: str | None, json_logs: bool
) -> None:
    env = {"SPICADB_ENVIRONMENT": environment}
    if log_format is not None:
        env["SPICADB_LOG_FORMAT"] = log_format
    assert ServiceSettings.from_env(env).json_logs is json_logs
