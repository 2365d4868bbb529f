"""CHARA night logs in: all or nothing, versioned, idempotent.

A post is parsed and checked whole (every error with its line and column, nothing written), then
matched (plan, name, position) and its projected baselines computed for every line at once. In one
transaction: the night is locked; the same log as the latest version (same normalised lines, whatever
the format) changes nothing; otherwise a new version records what it added, changed and withdrew,
the observations are written (COPY for new ones, one UPDATE from a COPY'd scratch table for changed
ones) and the events leave through one outbox write: ``observation.logged`` for every added, changed
and withdrawn observation (aggregate = the observation id) and ``log.ingested`` (aggregate =
``site/night``).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from spicadb_astro import nights, spica
from spicadb_contracts import Event
from spicadb_contracts.nightlogs import NightLogIngested, ObservationLogged, ProjectedBaseline
from spicadb_kit.bulk import collector_paused
from spicadb_kit.db import transaction
from spicadb_kit.errors import FieldError, Problem
from spicadb_kit.events import Outbox
from spicadb_kit.logs import get_logger
from spicadb_kit.rows import row_to

from ..baselines import for_event, projected_baselines_many
from ..config import NightLogsSettings
from ..domain import name_key, night_started, observation_id, observation_key
from ..logfile import LogError, LogLine, Night, ParsedLog, night_epoch, parse_log
from ..matching import Match, Matcher, Planned, Target
from ..models import IngestReport
from ..problems import INVALID_LOG, LOG_TOO_LONG, NIGHT_NOT_FOUND
from ..storage.nights import LogStore, NightStore, PlanStore
from ..storage.observations import ObservationStore, TargetStore
from .access import Caller

_ENCODER = msgspec.json.Encoder()
log = get_logger(__name__)


@dataclass
class Prepared:
    """One line ready to be written: its identity, what it matched, its baselines (as stored and as
    events carry them), its content hash."""

    line: LogLine
    id: UUID
    key: str
    match: Match
    baselines: list[ProjectedBaseline]
    hash: str
    rows: list[list[float]]


assert LogLine.__struct_fields__[0] == "line"


def _line_content(line: LogLine) -> tuple[Any, ...]:
    """What a line says, its position in the file (the first field) aside."""
    return msgspec.structs.astuple(line)[1:]


def log_digest(parsed: ParsedLog) -> str:
    contents = sorted(_ENCODER.encode(_line_content(line)) for line in parsed.lines)
    digest = hashlib.blake2b(digest_size=20)
    for content in contents:
        digest.update(content)
        digest.update(b"\n")
    return digest.hexdigest()


def target_of(row: asyncpg.Record) -> Target:
    return Target(
        row["target_id"],
        row["programme"],
        row["name"],
        row["ra"],
        row["dec"],
        row["epoch"],
        row["pmra"],
        row["pmdec"],
    )


def planned_of(plan: asyncpg.Record | None) -> list[Planned]:
    if plan is None:
        return []
    return [
        Planned(
            sequence=o["sequence"],
            programme=o["programme"],
            target=o["target"],
            target_id=UUID(o["target_id"]) if o.get("target_id") else None,
            start_mjd=nights.mjd(datetime.fromisoformat(o["start"])),
            end_mjd=nights.mjd(datetime.fromisoformat(o["end"])),
            calibrators=tuple(o.get("calibrators") or ()),
        )
        for o in plan["observations"]
    ]


def _end(line: LogLine) -> float:
    """The line's end, which parsing gives every line (the next start or the default exposure)."""
    assert line.mjd_end is not None
    return line.mjd_end


def prepare(
    site: str, night: Night, parsed: ParsedLog, plan: list[Planned], named: list[Target], positioned: list[Target],
    radius_arcsec: float,
) -> list[Prepared]:  # fmt: skip
    """Match every line and compute its baselines (CPU work, run in a thread)."""
    matcher = Matcher(plan, _by_name(named), positioned, night_epoch(night), radius_arcsec)
    matches = matcher.match_all(parsed.lines)
    where = [(i, m.ra, m.dec) for i, m in enumerate(matches) if m.ra is not None and m.dec is not None]
    placed = [i for i, _, _ in where]
    computed = projected_baselines_many(
        [parsed.lines[i].stations for i in placed],
        [ra for _, ra, _ in where],
        [dec for _, _, dec in where],
        [parsed.lines[i].mjd_start for i in placed],
        [_end(parsed.lines[i]) for i in placed],
    )
    baselines: list[list[ProjectedBaseline]] = [[] for _ in parsed.lines]
    rows: list[list[list[float]]] = [[] for _ in parsed.lines]
    for i, structs, stored in zip(placed, computed.structs, computed.rows, strict=True):
        baselines[i] = structs
        rows[i] = stored
    prepared = []
    for line, match, pairs, stored in zip(parsed.lines, matches, baselines, rows, strict=True):
        key = observation_key(site, night.date, line.star, line.mjd_start, line.mode)
        content = _ENCODER.encode((_line_content(line), match.matched_by, match.programme, match.target_id,
                                   match.planned_sequence, match.ra, match.dec))  # fmt: skip
        prepared.append(
            Prepared(
                line,
                observation_id(key),
                key,
                match,
                pairs,
                hashlib.blake2b(content, digest_size=16).hexdigest(),
                stored,
            )
        )
    return prepared


async def candidates(conn: asyncpg.Connection, parsed: ParsedLog) -> tuple[list[Target], list[Target]]:
    """The copy's targets the lines may match: by their names, and every target when a line has a place."""
    store = TargetStore(conn)
    named = [target_of(r) for r in await store.by_names(list({name_key(x.star) for x in parsed.lines}))]
    wants_position = any(line.ra is not None for line in parsed.lines)
    positioned = [target_of(r) for r in await store.all()] if wants_position else []
    return named, positioned


def _by_name(targets: list[Target]) -> dict[str, list[Target]]:
    found: dict[str, list[Target]] = {}
    for target in sorted(targets, key=lambda t: (t.programme, t.name)):
        found.setdefault(name_key(target.name), []).append(target)
    return found


def line_problem(parsed: ParsedLog, limit: int) -> Problem:
    lines = len({e.where.split("]")[0] for e in parsed.errors})
    return INVALID_LOG(
        f"the night log has errors on {lines} of {parsed.total} lines; nothing was written",
        errors=[FieldError(e.where, e.message) for e in parsed.errors[:limit]],
        error_count=len(parsed.errors),
        lines_with_errors=lines,
    )


class LogService:
    def __init__(
        self, pool: asyncpg.Pool, outbox: Outbox, caller: Caller, settings: NightLogsSettings
    ) -> None:
        self.pool = pool
        self.outbox = outbox
        self.caller = caller
        self.settings = settings

    async def ingest(self, site: str, day: date, body: bytes, content_type: str | None) -> IngestReport:
        with collector_paused():
            return await self._ingest(site, day, body, content_type)

    async def _ingest(self, site: str, day: date, body: bytes, content_type: str | None) -> IngestReport:
        if not night_started(day):
            raise NIGHT_NOT_FOUND(f"the night of {day} at {site} has not begun: it has no log yet")
        night = Night.of(day)
        clock = [time.perf_counter()]
        try:
            parsed = await asyncio.to_thread(
                parse_log, body, content_type, night, self.settings.default_exposure_seconds
            )
        except LogError as exc:
            raise exc.kind(
                str(exc),
                errors=[FieldError(e.where, e.message) for e in exc.errors] or None,
            ) from None
        if parsed.errors:
            raise line_problem(parsed, self.settings.max_listed_errors)
        if parsed.total > self.settings.log_max_lines:
            raise LOG_TOO_LONG(f"a log holds at most {self.settings.log_max_lines} lines, not {parsed.total}")
        digest = log_digest(parsed)
        clock.append(time.perf_counter())
        async with self.pool.acquire() as conn:
            latest = await LogStore(conn).latest(site, day)
            if latest is not None and latest["digest"] == digest:
                return _report(latest, created=False)
            plan = planned_of(await PlanStore(conn).latest(site, day))
            generation = await TargetStore(conn).generation()
            named, positioned = await candidates(conn, parsed)
        clock.append(time.perf_counter())
        prepared = await asyncio.to_thread(
            prepare, site, night, parsed, plan, named, positioned, self.settings.match_radius_arcsec
        )
        clock.append(time.perf_counter())
        report = await self._write(site, night, parsed, prepared, digest, body, plan, generation)
        clock.append(time.perf_counter())
        parse_s, load_s, match_s, write_s = (round(b - a, 3) for a, b in itertools.pairwise(clock))
        log.info(
            "night log ingested", site=site, night=str(day), version=report.version, lines=parsed.total,
            created=report.created, parse_s=parse_s, load_s=load_s, match_s=match_s, write_s=write_s,
        )  # fmt: skip
        return report

    async def _write(
        self, site: str, night: Night, parsed: ParsedLog, prepared: list[Prepared], digest: str, body: bytes,
        plan: list[Planned], generation: int,
    ) -> IngestReport:  # fmt: skip
        now = datetime.now(UTC)
        day = night.date
        async with transaction(self.pool) as conn:
            # Read FOR SHARE (before the night's lock: a change of the targets copy takes them in the same
            # order), the copy's generation waits for a change being committed and keeps the next one
            # (whose re-match must see this log's observations) waiting until this log is committed.
            current = await TargetStore(conn).generation(share=True)
            night_row = await NightStore(conn).lock(site, day, night.start, night.end)
            latest = await LogStore(conn).latest(site, day)
            if latest is not None and latest["digest"] == digest:  # the same log, posted concurrently
                return _report(latest, created=False)
            if current != generation:  # the copy changed since the lines were matched: match them again
                named, positioned = await candidates(conn, parsed)
                prepared = await asyncio.to_thread(
                    prepare, site, night, parsed, plan, named, positioned, self.settings.match_radius_arcsec
                )
            version = night_row["log_version"] + 1
            known = {r["id"]: r for r in await ObservationStore(conn).of_night(site, day)}
            new_rows, rewritten, events = [], [], []
            added: list[UUID] = []
            changed: list[UUID] = []
            present = set()
            for item in prepared:
                present.add(item.id)
                before = known.get(item.id)
                if before is None:
                    added.append(item.id)
                    new_rows.append(self._row(site, day, item, version, version, now))
                elif before["withdrawn_in"] is not None or before["content_hash"] != item.hash:
                    (added if before["withdrawn_in"] is not None else changed).append(item.id)
                    rewritten.append(self._row(site, day, item, version, version, now))
                else:
                    continue
                event = self._logged(site, day, item, version, now)
                if before is not None and before["programme_assigned_by"] is not None:
                    # an admin's programme stands (the row keeps it: migration 0003)
                    event = msgspec.structs.replace(event, programme=before["programme"])
                events.append((str(item.id), event))
            gone = [i for i, r in known.items() if r["withdrawn_in"] is None and i not in present]
            store = ObservationStore(conn)
            await store.copy_new(new_rows)
            await store.rewrite(rewritten)
            for row in await store.withdraw(gone, version):
                events.append((str(row["id"]), logged_of_row(row, version, now, withdrawn=True)))
            unmatched = sum(1 for item in prepared if item.match.matched_by == "none")
            log = {
                "site": site,
                "night": day,
                "version": version,
                "digest": digest,
                "format": parsed.format,
                "lines": parsed.total,
                "skipped": parsed.skipped,
                "unmatched": unmatched,
                "added": added,
                "changed": changed,
                "withdrawn": gone,
                "content": body,
                "ingested_by": self.caller.username,
                "ingested_at": now,
            }
            await LogStore(conn).insert(log)
            await NightStore(conn).set_versions(site, day, log=version)
            summary = NightLogIngested(
                site=site,
                night=day,
                version=version,
                lines=parsed.total,
                added=added,
                changed=changed,
                withdrawn=gone,
                unmatched=unmatched,
                ingested_by=self.caller.username,
                ingested_at=now,
            )
            everything: list[tuple[str, Event]] = [*events, (f"{site}/{day.isoformat()}", summary)]
            await self.outbox.add_many(conn, everything)
        return IngestReport(
            site=site,
            night=day,
            version=version,
            created=True,
            format=parsed.format,
            lines=parsed.total,
            observations=len(prepared),
            skipped_lines=parsed.skipped,
            unmatched=unmatched,
            added=added,
            changed=changed,
            withdrawn=gone,
        )

    @staticmethod
    def _row(
        site: str, day: date, item: Prepared, first: int, version: int, now: datetime
    ) -> tuple[Any, ...]:
        line, match = item.line, item.match
        assert line.mjd_end is not None
        mode = spica.mode(line.mode)
        return (
            item.id,
            site,
            day,
            item.key,
            first,
            version,
            None,
            line.line,
            item.hash,
            line.star,
            line.type,
            line.kind,
            line.pi,
            line.program,
            line.combiner,
            match.programme,
            match.target_id,
            match.ra,
            match.dec,
            match.matched_by,
            match.planned_sequence,
            line.mode,
            mode.em_min,
            mode.em_max,
            mode.resolving_power,
            line.stations,
            line.mjd_start,
            line.mjd_end,
            nights.datetime_of_mjd(line.mjd_start),
            nights.datetime_of_mjd(line.mjd_end),
            line.seeing,
            line.tau0,
            line.t0_obs,
            line.wind,
            line.airmass,
            line.temperature,
            line.b1,
            line.b2,
            line.b3,
            line.comments,
            line.raw_files,
            item.rows,
            now,
        )

    @staticmethod
    def _logged(site: str, day: date, item: Prepared, version: int, now: datetime) -> ObservationLogged:
        line, match = item.line, item.match
        assert line.mjd_end is not None
        mode = spica.mode(line.mode)
        return ObservationLogged(
            observation_id=item.id,
            site=site,
            night=day,
            log_version=version,
            target_name=line.star,
            mode=line.mode,
            stations=line.stations,
            mjd_start=line.mjd_start,
            mjd_end=line.mjd_end,
            logged_at=now,
            programme=match.programme,
            target_id=match.target_id,
            ra=match.ra,
            dec=match.dec,
            kind=line.kind,
            seeing=line.seeing,
            tau0=line.tau0,
            wind=line.wind,
            airmass=line.airmass,
            temperature=line.temperature,
            comments=line.comments,
            raw_files=line.raw_files,
            baselines=item.baselines,
            planned_sequence=match.planned_sequence,
            matched_by=match.matched_by,
            em_min=mode.em_min,
            em_max=mode.em_max,
            resolving_power=mode.resolving_power,
        )


def logged_of_row(row: asyncpg.Record, version: int, now: datetime, *, withdrawn: bool) -> ObservationLogged:
    """The ``observation.logged`` of a stored observation (withdrawn by a log, or matched again)."""
    baselines = for_event(row["stations"], row["baselines"])
    return row_to(
        ObservationLogged,
        row,
        observation_id=row["id"],
        log_version=version,
        logged_at=now,
        withdrawn=withdrawn,
        baselines=baselines,
    )


def _report(row: asyncpg.Record, *, created: bool) -> IngestReport:
    observations = row["lines"] - len(row["skipped"])
    return row_to(IngestReport, row, created=created, observations=observations, skipped_lines=row["skipped"])
