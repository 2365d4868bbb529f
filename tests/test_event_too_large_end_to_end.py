"""Issue 12 from outside: a CHARA log with a 1.2 MB comments cell is refused with a problem naming the
field and writes nothing, and the next ordinary log still reaches the L0 view (the relay is not stuck)."""

from __future__ import annotations

from typing import Any

import msgspec
from harness import eventually
from nats.js import JetStreamContext
from nightlogs_support import NightLogsService, mjd_at, post_log
from obsportal_support import ObsportalService

from spicadb_kit.infra import NatsServer
from spicadb_kit.testing.tokens import TokenFactory


def log_line(star: str, hour: float, comments: str) -> dict[str, Any]:
    start = mjd_at(hour)
    return {
        "ut_date": "2026-01-15",
        "star": star,
        "pi": "ten Brummelaar",
        "program": "LP-1",
        "combiner": "SPICA",
        "type": "OBJ",
        "mjd": start,
        "mjd_end": start + 0.004,
        "filter": "LR",
        "scopes": ["S1", "E1", "W1", "W2", "E2", "S2"],
        "comments": comments,
    }


async def test_a_log_with_a_huge_cell_is_refused_and_the_next_log_reaches_the_views(
    database: str, jetstream: JetStreamContext, nats_server: NatsServer, tokens: TokenFactory
) -> None:
    nightlogs = NightLogsService(database, nats_server.url, tokens, jetstream)
    obsportal = ObsportalService(database, nats_server.url, tokens, jetstream)
    for service in (nightlogs, obsportal):
        await service.install()
    try:
        async with nightlogs.running() as n, obsportal.running():
            huge = {"lines": [log_line("Vega", 3.0, "x" * 1_200_000)]}
            refused = await post_log(n, nightlogs, msgspec.json.encode(huge), media="application/json")
            # a 413 from the outbox or a 422 from the log's bounds: either way a problem naming the cell
            assert refused.status_code in (413, 422), refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            problem = refused.json()
            assert any("comments" in error["field"] for error in problem["errors"]), problem
            counts = await nightlogs.counts()
            assert counts["observation"] == counts["log_version"] == counts["outbox"] == 0, counts

            ordinary = {"lines": [log_line("Vega", 3.0, "fringes lost twice")]}
            posted = await post_log(n, nightlogs, msgspec.json.encode(ordinary), media="application/json")
            assert posted.status_code == 201, posted.text
            (observation,) = posted.json()["added"]

            # the L0 view, fed by nightlogs' relay, gets it
            await eventually(
                lambda: obsportal.scalar(
                    "SELECT count(*) FROM exposure WHERE observation_id = $1", observation
                )
            )
            assert await nightlogs.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
    finally:
        for service in (nightlogs, obsportal):
            await service.close()
