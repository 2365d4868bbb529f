"""Observations matched again when the programmes' targets change.

A log posted before its programme's targets reached this service leaves its lines unmatched; when the
targets arrive (or change), the observations they may match now are matched again, in the targets
consumer's transaction: those that matched nothing, and those matched by position only (their name named
no target, or targets of several programmes). Plan and name matches stand: a target renamed, moved or
deleted does not take an observation away from its programme.

A night's lines are read again from its latest log (as posted, parsed as at ingestion) and matched with
the copy as it is now, exactly as a corrected log would be; an observation whose match changed is
rewritten (match, place, baselines) and its ``observation.logged`` published again (same log version,
the next version of its aggregate), so the views and the programmes' progress follow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime
from uuid import UUID

import asyncpg
import numpy as np
from scipy.spatial import cKDTree

from spicadb_kit.events import Outbox
from spicadb_kit.logs import get_logger

from ..config import NightLogsSettings
from ..domain import name_key, observation_id, observation_key
from ..logfile import LogError, Night, ParsedLog, night_epoch, parse_log
from ..matching import Target
from ..storage.nights import LogStore, PlanStore
from ..storage.observations import ObservationStore
from .ingest import Prepared, candidates, logged_of_row, planned_of, prepare

log = get_logger(__name__)

MEDIA = {"CSV": "text/csv", "JSON": "application/json"}
MATCH_FIELDS = ("matched_by", "programme", "target_id", "planned_sequence", "ra", "dec")


class Rematcher:
    def __init__(self, conn: asyncpg.Connection, outbox: Outbox, settings: NightLogsSettings) -> None:
        self.conn = conn
        self.outbox = outbox
        self.settings = settings

    async def targets_changed(self, changed: Sequence[Target]) -> int:
        """Match again the observations ``changed`` (targets as the copy now holds them) may match;
        how many changed."""
        if not changed:
            return 0
        rows = await ObservationStore(self.conn).rematchable()
        affected = _affected(rows, changed, self.settings.match_radius_arcsec)
        nights: dict[tuple[str, date], list[UUID]] = {}
        for row in affected:
            nights.setdefault((row["site"], row["night"]), []).append(row["id"])
        moved = 0
        for (site, day), ids in sorted(nights.items()):
            moved += await self._night(site, day, ids)
        return moved

    async def _night(self, site: str, day: date, ids: list[UUID]) -> int:
        conn = self.conn
        # the night's lock orders this with a log being posted for the night (which locks it too)
        await conn.execute("SELECT 1 FROM night WHERE site = $1 AND night = $2 FOR UPDATE", site, day)
        rows = {r["id"]: r for r in await ObservationStore(conn).rematchable_of_night(site, day, ids)}
        latest = await LogStore(conn).latest_content(site, day)
        if not rows or latest is None:
            return 0
        night = Night.of(day)
        try:
            parsed = await asyncio.to_thread(
                parse_log,
                latest["content"],
                MEDIA[latest["format"]],
                night,
                self.settings.default_exposure_seconds,
            )
        except LogError as exc:  # a log the parser of today refuses: its observations stay as they are
            log.warning("log not read again", site=site, night=str(day), error=str(exc))
            return 0
        lines = [
            line
            for line in parsed.lines
            if observation_id(observation_key(site, day, line.star, line.mjd_start, line.mode)) in rows
        ]
        if not lines:
            return 0
        subset = ParsedLog(format=parsed.format, lines=lines, total=len(lines))
        plan = planned_of(await PlanStore(conn).latest(site, day))
        named, positioned = await candidates(conn, subset)
        prepared = await asyncio.to_thread(
            prepare, site, night, subset, plan, named, positioned, self.settings.match_radius_arcsec
        )
        now = datetime.now(UTC)
        events = []
        for item in prepared:
            row = rows[item.id]
            if _same_match(row, item):
                continue
            updated = await ObservationStore(conn).set_match(item.id, _match_columns(item))
            if all(updated[f] == row[f] for f in MATCH_FIELDS):
                continue  # the row keeps what it had (e.g. a programme an admin gave it): nothing to announce
            events.append(
                (str(item.id), logged_of_row(updated, updated["log_version"], now, withdrawn=False))
            )
        if events:
            await self.outbox.add_many(conn, events)
            log.info("observations matched again", site=site, night=str(day), observations=len(events))
        return len(events)


def _same_match(row: asyncpg.Record, item: Prepared) -> bool:
    match = item.match
    return all(row[f] == getattr(match, f) for f in MATCH_FIELDS)


def _match_columns(item: Prepared) -> dict[str, object]:
    match = item.match
    return {
        "programme": match.programme,
        "target_id": match.target_id,
        "ra": match.ra,
        "dec": match.dec,
        "matched_by": match.matched_by,
        "planned_sequence": match.planned_sequence,
        "baselines": item.rows,
        "content_hash": item.hash,
    }


def _affected(
    rows: Sequence[asyncpg.Record], changed: Sequence[Target], radius_arcsec: float
) -> list[asyncpg.Record]:
    """The observations of ``rows`` that ``changed`` may match: by name, by being matched to one of them,
    or by a place near one of them (a generous bound: the full match decides)."""
    names = {name_key(t.name) for t in changed}
    ids = {t.target_id for t in changed}
    picked = {i for i, r in enumerate(rows) if r["target_id"] in ids or name_key(r["target_name"]) in names}
    placed = [
        i for i, r in enumerate(rows) if r["ra"] is not None and r["dec"] is not None and i not in picked
    ]
    if placed:
        epochs = [night_epoch(Night.of(rows[i]["night"])) for i in placed]
        first, last = min(epochs), max(epochs)
        ra = np.radians([rows[i]["ra"] for i in placed])
        dec = np.radians([rows[i]["dec"] for i in placed])
        tree = cKDTree(np.column_stack((np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec))))
        # a position-matched observation holds its target's place, within the radius of the log's; over
        # the years between a catalogue epoch and the nights, a target moves by its proper motion
        epoch = np.array([t.epoch for t in changed])
        years = np.maximum(np.abs(first - epoch), np.abs(last - epoch))
        motion = (
            np.hypot([t.pmra or 0.0 for t in changed], [t.pmdec or 0.0 for t in changed]) / 1000.0 * years
        )
        angle = np.radians(np.minimum((2.0 * radius_arcsec + 1.0 + motion) / 3600.0, 180.0))
        r, d = np.radians([t.ra for t in changed]), np.radians([t.dec for t in changed])
        points = np.column_stack((np.cos(d) * np.cos(r), np.cos(d) * np.sin(r), np.sin(d)))
        for near in tree.query_ball_point(points, 2.0 * np.sin(angle / 2.0)):
            picked.update(placed[k] for k in near)
    return [rows[i] for i in sorted(picked)]
