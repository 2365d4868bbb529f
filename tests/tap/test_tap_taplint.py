"""`stilts taplint` against the live tap service (behind the gateway, the owners' views filled with
released and proprietary rows) reports no error. taplint exits 0 whatever it finds, so its text report
is parsed: every line starting with ``E-`` fails the test (they are printed); warnings are allowed.
Skips when stilts is not installed (`apt-get install stilts`)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest
from tap_support import TapPlatform, granule, run_bounded

VEGA = (279.2347, 38.7837)
DENEB = (310.3580, 45.2803)
# taplint's run against a small service takes seconds; a hung stage must not hold the suite
TAPLINT_SECONDS = 600


async def filled(tap_platform: TapPlatform) -> None:
    """A released and a proprietary granule, a calibrator, an exposure: every view has rows."""
    code = await tap_platform.programme()
    await tap_platform.target(code, "Vega", *VEGA)
    observed = await tap_platform.observe(
        "Vega", *VEGA, programme=code, start=datetime(2020, 9, 24, 6, tzinfo=UTC)
    )
    await tap_platform.push(
        granule("Vega", VEGA, programme=code, end=datetime(2020, 9, 24, 7, tzinfo=UTC),
                observations=[observed.observation_id]),
        granule("Deneb", DENEB, programme=code),
        granule("HD 1234", (12.5, 20.25), programme=None, category="CALIB", end=datetime.now(UTC) - timedelta(days=3)),
    )  # fmt: skip
    await tap_platform.settled()


def errors_of(report: str) -> list[str]:
    """The report's error lines (``E-STAGE-CODE-n message``)."""
    return [line for line in report.splitlines() if line.startswith("E-")]


async def test_taplint_finds_no_error(tap_platform: TapPlatform) -> None:
    stilts = shutil.which("stilts")
    if stilts is None:
        pytest.skip("stilts is not installed: taplint not run (apt-get install stilts)")
    await filled(tap_platform)
    status, report = await run_bounded(
        stilts, "taplint", f"tapurl={tap_platform.tap_url}", "report=EWF", "format=text", "maxrepeat=5",
        "truncate=400", timeout=TAPLINT_SECONDS,
    )  # fmt: skip
    print(report)
    assert status is not None, f"taplint did not finish within {TAPLINT_SECONDS} s"
    assert "Totals:" in report, report[-2000:]
    errors = errors_of(report)
    assert not errors, f"{len(errors)} taplint errors:\n" + "\n".join(errors)
