"""The ``service`` fixture every service's tests share: the service installed in a fresh database per test
against the session's NATS, closed after the test. Each service's conftest makes its own with
``service = service_fixture(TheService)``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol, TypeVar

import pytest
from nats.js import JetStreamContext

from spicadb_kit.infra import NatsServer
from spicadb_kit.testing.tokens import TokenFactory


class Installable(Protocol):
    async def install(self) -> None: ...

    async def close(self) -> None: ...


S = TypeVar("S", bound=Installable)


def service_fixture(build: Callable[..., S], *, folder: str | None = None) -> Any:
    """A ``service`` fixture of ``build(database, nats_url, tokens, jetstream)``; with ``folder``, a folder
    of that name in the test's tmp_path is given as a fifth argument (oifits' file store)."""

    @pytest.fixture(name="service")
    async def service(
        database: str,
        jetstream: JetStreamContext,
        nats_server: NatsServer,
        tokens: TokenFactory,
        request: pytest.FixtureRequest,
    ) -> AsyncIterator[S]:
        extra = (request.getfixturevalue("tmp_path") / folder,) if folder else ()
        installed = build(database, nats_server.url, tokens, jetstream, *extra)
        await installed.install()
        yield installed
        await installed.close()

    return service
