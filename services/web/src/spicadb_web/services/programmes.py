"""The programmes' pages as data: the listing with each programme's progress, and a programme with its
parts asked for at once (``asyncio.gather``); a part the visitor may not see is its problem instead."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..api import ApiProblem
from .session import ApiSession, optional, path

# the filters and orders the targets page offers (the programmes API takes them as they are)
TARGET_SORTS = ("name", "ra", "dec", "created", "mag_v", "mag_h", "mag_k")
TARGET_FILTERS = ("q", "work_package", "progress", "priority")
PROGRESS_STATES = ("not-observed", "partial", "done")


def percent(counts: Mapping[str, Any]) -> int:
    """Good visits over requested visits, 0-100 (a programme without requests shows 0)."""
    requested = int(counts.get("requested") or 0)
    good = int(counts.get("good") or 0)
    return min(100, round(100 * good / requested)) if requested else 0


@dataclass
class TargetQuery:
    """The targets page's filters, order and page, as the programmes API takes them."""

    filters: dict[str, str]
    sort: str = "name"
    order: str = "asc"
    cursor: str | None = None

    def params(self, limit: int) -> list[tuple[str, str | int]]:
        params: list[tuple[str, str | int]] = [(k, v) for k, v in self.filters.items() if v]
        params += [("sort", self.sort), ("order", self.order), ("limit", limit)]
        if self.cursor:
            params.append(("cursor", self.cursor))
        return params

    def export_params(self, fmt: str) -> list[tuple[str, str]]:
        return [("format", fmt), *((k, v) for k, v in self.filters.items() if v)]


@dataclass
class ProgrammePage:
    programme: dict[str, Any]
    progress: dict[str, Any] | ApiProblem
    members: list[dict[str, Any]] | ApiProblem
    work_packages: list[dict[str, Any]] | ApiProblem
    targets: dict[str, Any] | ApiProblem
    query: TargetQuery


class ProgrammesConsole:
    """The programmes' pages, for one visitor."""

    def __init__(self, session: ApiSession) -> None:
        self.page_size = session.page_size
        self._get = session.get

    async def programmes(self, q: str | None, cursor: str | None) -> dict[str, Any]:
        """A page of programmes, each with its progress (the listing gives it: one call for the page)."""
        params: dict[str, str | int] = {"limit": self.page_size, "with_progress": "true"}
        if q:
            params["q"] = q
        if cursor:
            params["cursor"] = cursor
        page = await self._get("/programmes", params)
        for programme in page["items"]:
            programme["percent"] = percent(programme["progress"] or {})
        return dict(page)

    async def programme(self, code: str, query: TargetQuery) -> ProgrammePage:
        """The programme (its problem raised: the page is about it), and its parts at once."""
        base = ("programmes", code)
        programme, progress, members, work_packages, targets = await asyncio.gather(
            self._get(path(*base)),
            optional(self._get(path(*base, "progress"))),
            optional(self._get(path(*base, "members"))),
            optional(self._get(path(*base, "work-packages"))),
            optional(self._get(path(*base, "targets"), query.params(self.page_size))),
        )
        if not isinstance(progress, ApiProblem):
            progress["percent"] = percent(progress["progress"])
            for package in progress["work_packages"]:
                package["percent"] = percent(package["progress"])
        return ProgrammePage(programme, progress, members, work_packages, targets, query)
