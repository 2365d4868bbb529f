"""`spicadb status` and the gateway: without a token its row says ready and nothing more (the gateway tells
anonymous callers only that); with an admin's token it carries the gateway's lag, backlog and dead
letters."""

from __future__ import annotations

import json
import os
from pathlib import Path

from gateway_stack import Stack

from spicadb_kit.runtime.status import platform_status


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
