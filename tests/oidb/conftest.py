"""Fixtures of the oidb tests: the service in a fresh database per test."""

from __future__ import annotations

from oidb_support import OidbService
from service_fixture import service_fixture

service = service_fixture(OidbService)
