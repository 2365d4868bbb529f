"""Query plans of the published views as the TAP service's reader gets them: which tables a plan reads in a
subquery run per row (a SubPlan), the shape that made large reads of a view slow whatever the timing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import asyncpg

from spicadb_kit.published import READER_ROLE
from spicadb_kit.rights import Viewer, set_published_viewer


async def plan(admin_dsn: str, viewer: Viewer, sql: str) -> dict[str, Any]:
    """EXPLAIN (no ANALYZE) of ``sql`` as the reader role with ``viewer`` set, as a JSON plan tree."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        async with conn.transaction(readonly=True):
            await set_published_viewer(conn, viewer)
            await conn.execute(f'SET LOCAL ROLE "{READER_ROLE}"')
            found = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}")
    finally:
        await conn.close()
    tree: dict[str, Any] = json.loads(found)[0]["Plan"]
    return tree


def _relations(node: dict[str, Any]) -> Iterator[str]:
    if "Relation Name" in node:
        yield node["Relation Name"]
    for child in node.get("Plans", ()):
        yield from _relations(child)


def per_row_reads(node: dict[str, Any]) -> set[str]:
    """The tables read inside the plan's SubPlans (correlated subqueries, run again for each row; an
    InitPlan, run once, is not one)."""
    found: set[str] = set()
    for child in node.get("Plans", ()):
        if child.get("Parent Relationship") == "SubPlan":
            found.update(_relations(child))
        found |= per_row_reads(child)
    return found
