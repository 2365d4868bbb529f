"""Fixtures of the programmes tests: the service in a fresh database per test."""

from __future__ import annotations

from programmes_support import ProgrammesService
from service_fixture import service_fixture

service = service_fixture(ProgrammesService)
