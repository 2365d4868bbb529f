"""`spicadb status` and the gateway: without a token its row says ready and nothing more (the gateway tells
anonymous callers only that); with an admin's token it carries the gateway's lag, backlog and dead
letters. A deployed platform's row is asked through its gateway at the operator route, admins only."""

from __future__ import annotations

import json
import os
from pathlib import Path

from gateway_stack import Stack
from spicadb_gateway.spec import SPEC as GATEWAY_SPEC

from spicadb_kit.runtime.status import deployed_status, platform_status


async def test_the_gateway_row_has_figures_only_with_an_admin_token(stack: Stack, tmp_path: Path) -> None:
    table = {"gateway": {"url": stack.url, "state": "ready", "pid": os.getpid(), "restarts": 0}}
    (tmp_path / "endpoints.json").write_text(json.dumps(table))
    admin = stack.tokens.mint("admin")

    [anonymous] = await platform_status(tmp_path)
    [detailed] = await platform_status(tmp_path, token=admin)

    assert (anonymous.health, anonymous.lag, anonymous.backlog, anonymous.dead_letters) == (
        "ready",
        None,
        None,
        None,
    )
    assert detailed.health == "ready"
    assert detailed.port == int(stack.url.rsplit(":", 1)[1])
    assert (detailed.backlog, detailed.dead_letters, detailed.problems) == (0, 0, [])
    assert isinstance(detailed.lag, int)


async def test_a_deployed_gateway_is_asked_at_its_operator_route(stack: Stack) -> None:
    [row] = await deployed_status(stack.url, stack.tokens.mint("admin"), [GATEWAY_SPEC])
    [refused] = await deployed_status(stack.url, stack.tokens.mint("probe:read"), [GATEWAY_SPEC])

    assert row.url == f"{stack.url}/auth/admin/health"
    assert (row.health, row.problems) == ("ready", [])
    assert (row.backlog, row.dead_letters, row.port, row.restarts) == (0, 0, None, None)
    assert refused.health == "unknown"
    assert refused.problems == ["the gateway refused the token (403): an admin's is needed"]
