"""Fixtures of the night-logs tests: the service in a fresh database per test."""

from __future__ import annotations

from nightlogs_support import NightLogsService
from service_fixture import service_fixture

service = service_fixture(NightLogsService)
