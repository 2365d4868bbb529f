"""Fixtures of the obsportal tests: the service in a fresh database per test."""

from __future__ import annotations

from obsportal_support import ObsportalService
from service_fixture import service_fixture

service = service_fixture(ObsportalService)
