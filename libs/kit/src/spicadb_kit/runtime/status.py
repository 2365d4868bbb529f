"""`spicadb status`: the platform at a glance, one row per component.

The rows come from the data folder's endpoints.json (written by `spicadb run`: URLs, pids, restarts, last
exit); each service's health from its own ``/health/ready`` on its own port, which reports its outbox
backlog, its consumers' lag and its dead letters. The gateway tells anonymous callers only ready or not:
its details need an admin's token (``--token`` or ``SPICADB_TOKEN``). PostgreSQL and NATS are ready when
their port answers.

A deployed platform (``--gateway URL`` and an admin's token) is seen through its gateway instead: each
service's operator route ``<admin_path>/health`` (the kit's, admin scope), without ports or restarts.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from ..spec import ServiceSpec
from .supervisor import ENDPOINTS_FILE, running_pid

__all__ = ["ComponentStatus", "deployed_status", "gateway_status", "platform_status", "print_table", "status"]

# unknown: the gateway would not say (the token was refused)
Health = Literal["ready", "not ready", "down", "unknown"]
PROBE_TIMEOUT = 3.0
GATEWAY = "gateway"


@dataclass
class ComponentStatus:
    """One row of the table: what the component said of itself and what the supervisor knows of it."""

    name: str
    url: str
    port: int | None
    health: Health
    pid: int | None = None
    # the supervisor's state: ready, starting, restarting, stopped...
    state: str | None = None
    # events the server holds for the service's consumers, not yet delivered (None: not reported)
    lag: int | None = None
    # events waiting for the relay, and those it set aside
    backlog: int | None = None
    parked: int | None = None
    dead_letters: int | None = None
    # None: not known (a deployed platform's)
    restarts: int | None = 0
    last_exit: str | None = None
    last_exit_at: str | None = None
    problems: list[str] = field(default_factory=list)


def _summary(row: ComponentStatus, report: dict[str, Any]) -> None:
    """The figures of a readiness report (absent from the gateway's anonymous answer)."""
    row.problems = list(report.get("problems") or [])
    if (consumers := report.get("consumers")) is not None:
        row.lag = sum(int(c.get("pending") or 0) for c in consumers.values())
    if outbox := report.get("outbox"):
        row.backlog = int(outbox.get("unpublished") or 0)
        row.parked = int(outbox.get("parked") or 0)
    if (dead := report.get("dead_letters")) is not None:
        row.dead_letters = sum(int(n) for n in dead.values())


async def _probe(client: httpx.AsyncClient, row: ComponentStatus, token: str | None) -> None:
    scheme = urlsplit(row.url).scheme
    if scheme not in ("http", "https"):  # PostgreSQL, NATS: does the port answer
        host = urlsplit(row.url).hostname or "127.0.0.1"
        row.health = "ready" if row.port and await _port_answers(host, row.port) else "down"
        return
    # services take no token on their readiness; the gateway gives an admin's the details
    headers = {"Authorization": f"Bearer {token}"} if token and row.name == GATEWAY else {}
    try:
        response = await client.get(f"{row.url}/health/ready", headers=headers)
    except httpx.HTTPError as exc:
        row.health = "down"
        row.problems = [f"no answer: {exc.__class__.__name__}"]
        return
    row.health = "ready" if response.status_code == 200 else "not ready"
    _summary(row, _json(response))
    if response.status_code not in (200, 503):
        row.problems.append(f"/health/ready answered {response.status_code}")


async def _port_answers(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), PROBE_TIMEOUT)
    except (OSError, TimeoutError, socket.gaierror):
        return False
    writer.close()
    return True


def _row(name: str, entry: dict[str, Any]) -> ComponentStatus:
    url = str(entry.get("url") or "")
    return ComponentStatus(
        name=name,
        url=url,
        port=urlsplit(url).port,
        health="down",
        pid=entry.get("pid"),
        state=entry.get("state"),
        restarts=int(entry.get("restarts") or 0),
        last_exit=entry.get("last_exit"),
        last_exit_at=entry.get("last_exit_at"),
    )


async def platform_status(data: Path, token: str | None = None) -> list[ComponentStatus]:
    """Every component of the platform running from ``data``, asked at once (none: nothing ran there)."""
    try:
        table: dict[str, dict[str, Any]] = json.loads((data / ENDPOINTS_FILE).read_text())
    except FileNotFoundError:
        return []
    rows = [_row(name, entry) for name, entry in table.items()]
    live = [row for row in rows if row.state != "stopped"]
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as client:
        await asyncio.gather(*(_probe(client, row, token) for row in live))
    return rows


async def deployed_status(gateway: str, token: str, specs: Sequence[ServiceSpec]) -> list[ComponentStatus]:
    """A deployed platform's services, each asked through the gateway at its operator health route."""
    base = gateway.rstrip("/")
    rows = [
        ComponentStatus(spec.name, f"{base}{spec.admin_path}/health", None, "down", restarts=None)
        for spec in specs
    ]
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT, headers=headers) as client:
        await asyncio.gather(*(_ask(client, row) for row in rows))
    return rows


async def _ask(client: httpx.AsyncClient, row: ComponentStatus) -> None:
    try:
        response = await client.get(row.url)
    except httpx.HTTPError as exc:
        row.problems = [f"no answer from the gateway: {exc.__class__.__name__}"]
        return
    if response.status_code in (401, 403):
        row.health = "unknown"
        row.problems = [f"the gateway refused the token ({response.status_code}): an admin's is needed"]
        return
    report = _json(response)
    if response.status_code != 200 or "status" not in report:  # the gateway's 502/504: the service is away
        row.problems = [f"{response.status_code} {report.get('title') or response.reason_phrase}"]
        return
    row.health = "ready" if report["status"] == "ready" else "not ready"
    _summary(row, report)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def print_table(rows: list[ComponentStatus]) -> None:
    """The table people read: one line per component, then each one's problems."""
    header = ("service", "port", "health", "lag", "backlog", "dead", "restarts", "last exit")
    lines = [
        (
            r.name,
            _cell(r.port),
            r.health if r.state not in ("restarting", "stopped") else f"{r.health} ({r.state})",
            _cell(r.lag),
            _cell(r.backlog) + (f" +{r.parked} parked" if r.parked else ""),
            _cell(r.dead_letters),
            _cell(r.restarts),
            f"{r.last_exit} at {r.last_exit_at}" if r.last_exit else "-",
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) + 2 for i, h in enumerate(header)]
    for line in (header, *lines):
        print("".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
    for r in rows:
        for problem in r.problems:
            print(f"{r.name}: {problem}")


def status(data: Path, *, as_json: bool = False, token: str | None = None) -> int:
    """``spicadb status``: 0 when every component of the local platform is ready, 1 otherwise (or when
    nothing runs)."""
    rows = asyncio.run(platform_status(data, token))
    running = running_pid(data) is not None
    if not rows and not as_json:
        print(
            f"SPICA-DB has not run from {data} (no {ENDPOINTS_FILE}); `make run` starts it.", file=sys.stderr
        )
        return 1
    ready = _report(rows, {"data": str(data), "running": running}, as_json=as_json) and running
    if not running and not as_json:
        print(f"SPICA-DB is not running from {data}.", file=sys.stderr)
    return 0 if ready else 1


def gateway_status(gateway: str, token: str, specs: Sequence[ServiceSpec], *, as_json: bool = False) -> int:
    """``spicadb status --gateway URL``: 0 when every service behind it is ready, 1 otherwise."""
    rows = asyncio.run(deployed_status(gateway, token, specs))
    return 0 if _report(rows, {"gateway": gateway}, as_json=as_json) else 1


def _report(rows: list[ComponentStatus], where: dict[str, Any], *, as_json: bool) -> bool:
    """Print the rows (a table, or a JSON document); whether all are ready."""
    ready = bool(rows) and all(r.health == "ready" for r in rows)
    if as_json:
        running = where.get("running", True)
        document = {**where, "ready": ready and running, "components": [asdict(r) for r in rows]}
        print(json.dumps(document, indent=2))
    else:
        print_table(rows)
    return ready
