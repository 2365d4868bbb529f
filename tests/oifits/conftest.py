"""Fixtures of the oifits tests: the service in a fresh database per test, its file store in a folder of
the test."""

from __future__ import annotations

from oifits_support import OifitsService
from service_fixture import service_fixture

service = service_fixture(OifitsService, folder="store")
