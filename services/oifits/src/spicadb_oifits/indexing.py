"""Indexing a stored upload, in one read of the file (run in a worker thread): validation under the push's
profile, the granules, and their quick-look plots."""

from __future__ import annotations

from pathlib import Path

import msgspec

from .granules import Granule, extract
from .reader import Unreadable, open_oifits
from .validation import Finding, Report, check, strict


class Indexed(msgspec.Struct, frozen=True):
    report: Report
    granules: list[Granule]
    # per granule, in order: plot kind -> PNG bytes
    previews: list[dict[str, bytes]]

    @property
    def refused(self) -> bool:
        return self.report.verdict == "invalid"


def _refuse(report: Report, finding: Finding) -> Indexed:
    return Indexed(Report(report.version, "invalid", [*report.findings, finding]), [], [])


def index_file(path: Path, *, calib_level: int | None, profile: str, plots: bool = True) -> Indexed:
    """Never raises on bad bytes: an unreadable file is an invalid report (R-FITS)."""
    try:
        hdus = open_oifits(path)
    except Unreadable as exc:
        return Indexed(Report(None, "invalid", [Finding("R-FITS", "error", "file", str(exc))]), [], [])
    with hdus:
        report = check(hdus)
        if profile == "drs":
            report = strict(report, hdus[0].header)
        if report.verdict == "invalid":
            return Indexed(report, [], [])
        try:
            granules = extract(hdus, calib_level)
        except Exception as exc:  # validated files extract; bad bytes deep in a column still must not crash
            return _refuse(report, Finding("R-FITS", "error", "file", f"unreadable content: {exc}"))
        if not granules:
            # a flux-only file: OI_FLUX rows make no granule (as in OiDB), so there is nothing to index
            message = "no OI_VIS, OI_VIS2 or OI_T3 row: the file makes no granule"
            return _refuse(report, Finding("R-DATA", "error", "file", message))
        previews = _plots(hdus, granules) if plots else [{} for _ in granules]
    return Indexed(report, granules, previews)


def _plots(hdus: object, granules: list[Granule]) -> list[dict[str, bytes]]:
    from .quicklook import render  # matplotlib is imported on the first push, not at start

    return render(hdus, granules)  # type: ignore[arg-type]
