"""The files' pages as data: the pushes (the oifits API's files, filtered, keyset pages), a file with its
validation report, granules and versions, and the rejections with the rules that refused them. The
oifits API applies the rights: a file the visitor may not see is its 404, as if it did not exist."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from ..api import ApiProblem
from .session import ApiSession, optional, path

# the statuses the oifits API's listing filters on (its OpenAPI document's enum; a test keeps them equal)
FILE_STATUSES = ("current", "superseded")
# the report's severities, in the order a page shows them
SEVERITIES = ("error", "warning", "info")
# versions of one product shown on a file's page (the newest; the listing pages through the rest)
VERSIONS_SHOWN = 50


@dataclass
class FileQuery:
    """The pushes' filters and page, as the oifits API takes them."""

    status: str = ""
    product: str = ""
    programme: str = ""
    sha256: str = ""
    cursor: str | None = None

    @property
    def filters(self) -> dict[str, str]:
        return {
            "status": self.status,
            "product": self.product,
            "programme": self.programme,
            "sha256": self.sha256,
        }

    def params(self, limit: int) -> list[tuple[str, str | int]]:
        params: list[tuple[str, str | int]] = [(k, v) for k, v in self.filters.items() if v]
        params.append(("limit", limit))
        if self.cursor:
            params.append(("cursor", self.cursor))
        return params


@dataclass
class RuleCheck:
    """One rule of the oifits API's list, as a file fared against it."""

    id: str
    checks: str
    # passed, or the severest severity of its findings
    outcome: str
    found: int


@dataclass
class Report:
    """A validation report as a page shows it: its findings by severity, and every rule its profile
    checks with its outcome (the API's rule list; its problem when that part was refused)."""

    version: str | None
    verdict: str
    profile: str
    findings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    checked: list[RuleCheck] | ApiProblem = field(default_factory=list)

    def against(self, rules: list[dict[str, Any]] | ApiProblem) -> Report:
        """The report with each rule its profile checks and how the file fared."""
        if isinstance(rules, ApiProblem):
            self.checked = rules
            return self
        by_rule: dict[str, list[str]] = {}
        for severity, found in self.findings.items():
            for finding in found:
                by_rule.setdefault(str(finding.get("rule")), []).append(severity)
        self.checked = [
            RuleCheck(
                str(rule["id"]),
                str(rule.get("checks") or ""),
                _severest(by_rule.get(str(rule["id"]), [])),
                len(by_rule.get(str(rule["id"]), [])),
            )
            for rule in rules
            if not self.profile or self.profile in (rule.get("profiles") or [self.profile])
        ]
        return self

    @property
    def refusing(self) -> list[str]:
        """The rules that refused the file (its errors' rule ids, each once)."""
        return list(dict.fromkeys(str(f["rule"]) for f in self.findings.get("error", [])))

    @property
    def count(self) -> int:
        return sum(len(found) for found in self.findings.values())


def _severest(severities: list[str]) -> str:
    return next((s for s in SEVERITIES if s in severities), "passed")


def report(answer: dict[str, Any]) -> Report:
    findings: dict[str, list[dict[str, Any]]] = {}
    for finding in answer.get("findings") or []:
        findings.setdefault(str(finding.get("severity") or "info"), []).append(finding)
    ordered = {s: findings.pop(s) for s in SEVERITIES if s in findings} | findings
    return Report(
        answer.get("version"), str(answer.get("verdict") or ""), str(answer.get("profile") or ""), ordered
    )


@dataclass
class FilePage:
    file: dict[str, Any]
    report: Report
    # the other files of its DRS product the visitor may see, newest first (None: a file of no product)
    versions: list[dict[str, Any]] | ApiProblem | None = None
    # the admin's programme form: what was typed, the API's refusal, or just saved
    programme_typed: str | None = None
    refused: ApiProblem | None = None
    saved: bool = False

    @property
    def wrong(self) -> list[str]:
        """The form's fields the API refused, by the form's names."""
        errors = self.refused.errors if self.refused else []
        return [str(e.get("field") or "").removeprefix("body.") for e in errors]

    @property
    def numbers(self) -> dict[str, int]:
        """Each shown version's number by its id (what superseded a version, by its number)."""
        if not isinstance(self.versions, list):
            return {}
        return {str(v["id"]): int(v["product_version"]) for v in self.versions}

    @property
    def supersedes(self) -> list[dict[str, Any]]:
        """The versions this file replaced (the ones superseded by it)."""
        if not isinstance(self.versions, list):
            return []
        return [v for v in self.versions if v.get("superseded_by") == self.file["id"]]


class FilesConsole:
    """The files' pages, for one visitor."""

    def __init__(self, session: ApiSession) -> None:
        self.page_size = session.page_size
        self._get = session.get
        self._put = session.put

    async def files(self, query: FileQuery) -> dict[str, Any]:
        """A page of pushes, newest first (a cursor no page gave is the API's 400)."""
        return dict(await self._get("/oifits/files", query.params(self.page_size)))

    async def file(self, file_id: UUID) -> FilePage:
        """The file (its problem raised: the page is about it) and the rules it was checked against at once,
        then its product's versions: the listing by product says what superseded each (``superseded_by``),
        so one more call gives them all."""
        answer, rules = await asyncio.gather(
            self._get(path("oifits", "files", str(file_id))), optional(self._get("/oifits/rules"))
        )
        view = FilePage(dict(answer), report(answer.get("report") or {}).against(rules))
        product = answer.get("product_id")
        if product:
            params = {"product": product, "limit": VERSIONS_SHOWN}
            versions = await optional(self._get("/oifits/files", params))
            view.versions = versions if isinstance(versions, ApiProblem) else list(versions["items"])
        return view

    async def attach(self, file_id: UUID, programme: str) -> dict[str, Any]:
        """Attach the file to a programme (empty: to none) through the oifits API (admins only)."""
        body = {"programme": programme or None}
        return dict(await self._put(path("oifits", "files", str(file_id), "programme"), body))

    async def rejections(self, cursor: str | None) -> dict[str, Any]:
        params: dict[str, str | int] = {"limit": self.page_size}
        if cursor:
            params["cursor"] = cursor
        page = dict(await self._get("/oifits/rejections", params))
        page["items"] = [dict(item, summary=report(item.get("report") or {})) for item in page["items"]]
        return page

    async def rejection(self, rejection_id: UUID) -> tuple[dict[str, Any], Report]:
        answer, rules = await asyncio.gather(
            self._get(path("oifits", "rejections", str(rejection_id))), optional(self._get("/oifits/rules"))
        )
        return dict(answer), report(answer.get("report") or {}).against(rules)
