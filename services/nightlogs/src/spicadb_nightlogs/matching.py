"""What a logged line is: the night's plan, then the programmes' targets by name, then by position.

Pure functions over what the ingestion loaded (the latest plan of the night, the programme targets
copy); nothing here touches the database. A line that matches nothing is kept with ``matched_by =
"none"``, never dropped.

- **plan**: an entry of the latest plan of the night with the same target name (case and blanks aside)
  whose planned time overlaps the observation (the largest overlap wins); a calibrator line matches the
  entry that lists it among its calibrators. The programme is the entry's, the target its target id (or
  the programme's target of that name).
- **name**: a programme target of the same name; when several programmes have one, the log's PROGRAM
  column decides, else the line's position if it has one, else nothing (ambiguous).
- **position**: the line's RA/DEC within ``radius`` of a target moved by its proper motion to the middle
  of the night (the nearest; the log's PROGRAM first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import numpy as np
from scipy.spatial import cKDTree

from .domain import name_key
from .logfile import LogLine


@dataclass(frozen=True)
class Target:
    target_id: UUID
    programme: str
    name: str
    ra: float
    dec: float
    epoch: float
    pmra: float | None
    pmdec: float | None

    def at(self, epoch: float) -> tuple[float, float]:
        """The position moved by the proper motion (mas/yr, pmra = mu_alpha cos dec) to ``epoch``."""
        years = epoch - self.epoch
        dec = self.dec + (self.pmdec or 0.0) * years / 3.6e6
        cos_dec = math.cos(math.radians(self.dec))
        ra = self.ra + ((self.pmra or 0.0) * years / 3.6e6 / cos_dec if cos_dec > 1e-9 else 0.0)
        return ra % 360.0, max(-90.0, min(90.0, dec))


@dataclass(frozen=True)
class Planned:
    sequence: int
    programme: str
    target: str
    target_id: UUID | None
    start_mjd: float
    end_mjd: float
    calibrators: tuple[str, ...]


@dataclass(frozen=True)
class Match:
    matched_by: str = "none"
    programme: str | None = None
    target_id: UUID | None = None
    planned_sequence: int | None = None
    # where the baselines are computed for: the target's position at the night, else the log's
    ra: float | None = None
    dec: float | None = None


def _placed(target: Target, epoch: float) -> bool:
    """Whether the target's place at ``epoch`` is a finite point of the sky."""
    try:
        return all(math.isfinite(v) for v in (target.ra, target.dec, *target.at(epoch)))
    except (OverflowError, ValueError, TypeError):
        return False


def _unit(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    r, d = np.radians(ra), np.radians(dec)
    return np.column_stack((np.cos(d) * np.cos(r), np.cos(d) * np.sin(r), np.sin(d)))


class Matcher:
    def __init__(
        self,
        plan: list[Planned],
        by_name: dict[str, list[Target]],
        positioned: list[Target],
        epoch: float,
        radius_arcsec: float,
    ) -> None:
        self.epoch = epoch
        # a candidate whose place at the night is not a finite point (a proper motion of 1e308 mas/yr
        # in a copy kept before the rules) can match nothing: it is skipped, never fails a log
        self.by_name = {
            k: kept for k, ts in by_name.items() if (kept := [t for t in ts if _placed(t, epoch)])
        }
        self.plan_by_name: dict[str, list[Planned]] = {}
        self.plan_by_calibrator: dict[str, list[Planned]] = {}
        for entry in plan:
            self.plan_by_name.setdefault(name_key(entry.target), []).append(entry)
            for calibrator in entry.calibrators:
                self.plan_by_calibrator.setdefault(name_key(calibrator), []).append(entry)
        self.positioned = positioned
        self.tree: Any = None
        if positioned:
            with np.errstate(all="ignore"):
                moved = np.array([t.at(epoch) for t in positioned], dtype=float)
            finite = np.isfinite(moved).all(axis=1)
            if not finite.all():
                self.positioned = [t for t, keep in zip(positioned, finite, strict=True) if keep]
                moved = moved[finite]
            if len(self.positioned):
                self.tree = cKDTree(_unit(moved[:, 0], moved[:, 1]))
        self.chord = 2.0 * math.sin(math.radians(radius_arcsec / 3600.0) / 2.0)

    def match(self, line: LogLine) -> Match:
        key = name_key(line.star)
        assert line.mjd_end is not None
        entry = self._planned(self.plan_by_name.get(key, []), line)
        if entry is not None:
            target = self._target_of(entry.programme, key, entry.target_id)
            return self._matched("plan", entry.programme, target, line, entry.sequence, entry.target_id)
        if line.kind == "calibrator":
            entry = self._planned(self.plan_by_calibrator.get(key, []), line)
            if entry is not None:
                return Match("plan", entry.programme, None, entry.sequence, line.ra, line.dec)
        candidates = self.by_name.get(key, [])
        if line.program and len({c.programme for c in candidates}) > 1:
            candidates = [c for c in candidates if c.programme == line.program] or candidates
        if len({c.programme for c in candidates}) == 1:
            return self._matched("name", candidates[0].programme, candidates[0], line, None)
        if line.ra is not None and line.dec is not None and self.tree is not None:
            target = self._nearest(line)
            if target is not None:
                return self._matched("position", target.programme, target, line, None)
        return Match(ra=line.ra, dec=line.dec)

    def match_all(self, lines: list[LogLine]) -> list[Match]:
        """:meth:`match` of every line. A line that no plan entry names (as target or calibrator) is
        matched by its star, programme and position alone: lines that share them share their match."""
        keys: dict[str, str] = {}
        found: dict[tuple[str, str, float | None, float | None], Match] = {}
        matches = []
        for line in lines:
            key = keys.get(line.star)
            if key is None:
                key = keys[line.star] = name_key(line.star)
            if key in self.plan_by_name or key in self.plan_by_calibrator:
                matches.append(self.match(line))
                continue
            shared = (key, line.program, line.ra, line.dec)
            match = found.get(shared)
            if match is None:
                match = found[shared] = self.match(line)
            matches.append(match)
        return matches

    def _planned(self, entries: list[Planned], line: LogLine) -> Planned | None:
        assert line.mjd_end is not None
        best, overlap = None, 0.0
        for entry in entries:
            shared = min(entry.end_mjd, line.mjd_end) - max(entry.start_mjd, line.mjd_start)
            if shared > overlap:
                best, overlap = entry, shared
        return best

    def _target_of(self, programme: str, key: str, target_id: UUID | None) -> Target | None:
        for target in self.by_name.get(key, []):
            if target.target_id == target_id or (target_id is None and target.programme == programme):
                return target
        return None

    def _nearest(self, line: LogLine) -> Target | None:
        assert line.ra is not None
        assert line.dec is not None
        point = _unit(np.array([line.ra]), np.array([line.dec]))[0]
        found: list[int] = self.tree.query_ball_point(point, self.chord)  # scipy's tree has no types
        if not found:
            return None
        near = sorted(found, key=lambda i: float(np.sum((self.tree.data[i] - point) ** 2)))
        own = [i for i in near if self.positioned[i].programme == line.program]
        return self.positioned[(own or near)[0]]

    def _matched(
        self, how: str, programme: str, target: Target | None, line: LogLine, sequence: int | None,
        target_id: UUID | None = None,
    ) -> Match:  # fmt: skip
        if target is not None:
            ra, dec = target.at(self.epoch)
            return Match(how, programme, target.target_id, sequence, ra, dec)
        return Match(how, programme, target_id, sequence, line.ra, line.dec)
