"""The rules of the L0 view: validation levels, the validation log, identifiers and ObsPortal's
formats."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

MJD_ZERO = datetime(1858, 11, 17, tzinfo=UTC)
INSTRUMENT = "SPICA"
INTERFEROMETER = "CHARA"

# exp_validation_level from the night logs' quality flag. 0 is ObsPortal's "not validated"; the
# flags are then ordered from the best to the worst.
LEVELS: dict[str, int] = {"unknown": 0, "good": 1, "usable": 2, "degraded": 3, "bad": 4}
LEVEL_NAMES = {v: k for k, v in LEVELS.items()}


def level_number(level: str) -> int:
    return LEVELS.get(level, 0)


def mjd_datetime(mjd: float) -> datetime:
    return MJD_ZERO + timedelta(days=mjd)


def header_id(mjd_start: float) -> str:
    """``SPICA.<UTC start, ISO with microseconds>``, as ObsPortal names a raw file's header."""
    start = mjd_datetime(mjd_start).replace(tzinfo=None)
    return f"{INSTRUMENT}.{start.isoformat(timespec='microseconds')}"


def exp_id(header: str, obs_id: int) -> str:
    return f"{header}_{obs_id}"


def parse_exp_id(value: str) -> tuple[str, int] | None:
    header, _, number = value.rpartition("_")
    if not header or not number.isdigit():
        return None
    return header, int(number)


def obsportal_date(moment: datetime | None) -> str:
    """``YYYY-MM-DD hh:mm:ss+00:00`` (ObsPortal's exp_date_updated / exp_date_release); '' for None."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")


def validation_log(row: Mapping[str, Any]) -> list[str]:
    """What the view misses or doubts about an exposure, in ObsPortal's manner (one message each):
    conditions the log did not record, an unmatched or unplanned target, and the quality flag."""
    log: list[str] = []
    if row["seeing"] is None:
        log.append("Missing seeing (no seeing recorded)")
    if row["tau0"] is None:
        log.append("Missing tau0 (no coherence time recorded)")
    if row["temperature"] is None:
        log.append("Missing temperature")
    if not row["stations"]:
        log.append("Missing stations")
    if row["baselines"] in ("", "[]"):
        log.append("Missing projected baselines")
    if row["matched_by"] == "none":
        log.append("Unmatched target (no programme target recognised)")
    if row["programme"] is None:
        log.append("No programme")
    if row["ra"] is None:
        log.append("Missing target position")
    if row["planned_sequence"] is None:
        log.append("Not in the night's plan")
    level = row["level"]
    if level == "unknown":
        log.append("Not validated (no quality flag)")
    elif level != "good":
        reasons = ", ".join(row["flag_reasons"]) or "no reason given"
        comment = f" ({row['flag_comment']})" if row["flag_comment"] else ""
        log.append(f"Flagged {level}: {reasons}{comment}")
    return log


def log_text(messages: list[str]) -> str:
    """The log as ObsPortal writes it: a JSON list of strings."""
    return msgspec.json.encode(messages).decode()


def baselines_text(baselines_json: str) -> str:
    """ObsPortal's exp_projected_baselines, the Python-dict-like string Aspro2 reads: per baseline,
    its length (m) and position angle (deg) at the start and the end of the exposure, e.g.
    ``{'S1-E1': {'length': {'start': '317.8720', 'end': '329.7210'}, 'angle': {...}}}``."""
    items = msgspec.json.decode(baselines_json) if baselines_json else []
    if not items:
        return ""
    parts = [
        f"'{b['stations']}': {{'length': {{'start': '{b['length_start']:.4f}', 'end': '{b['length_end']:.4f}'}},"
        f" 'angle': {{'start': '{b['angle_start']:.4f}', 'end': '{b['angle_end']:.4f}'}}}}"
        for b in items
    ]
    return "{" + ", ".join(parts) + "}"


def name_key(name: str) -> str:
    """Names as compared: lower case, blanks collapsed."""
    return " ".join(name.lower().split())
