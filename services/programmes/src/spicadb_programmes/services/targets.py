"""Targets: one by one, and whole lists in (all or nothing) and out (Aspro2 VOTable, CSV, JSON)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal, NamedTuple, TypeVar
from uuid import UUID

import asyncpg
import msgspec
import numpy as np

from spicadb_contracts.programmes import TargetChanged, TargetsImported, TargetSnapshot
from spicadb_kit.bulk import collector_paused
from spicadb_kit.db import transaction
from spicadb_kit.errors import FieldError, Problem
from spicadb_kit.events import Outbox
from spicadb_kit.pagination import keyset
from spicadb_kit.problems import VALIDATION
from spicadb_kit.rows import row_to, rows_to

from .. import sky
from ..config import ProgrammesSettings
from ..models import (
    Diameter,
    DuplicatePair,
    ImportReport,
    Photometry,
    TargetColumnOut,
    TargetIn,
    TargetOut,
    TargetPage,
    TargetPatch,
)
from ..problems import (
    DUPLICATE_TARGET,
    EMPTY_TARGET_LIST,
    INVALID_TARGET,
    INVALID_TARGET_LIST,
    TARGET_NOT_FOUND,
    TOO_MANY_TARGETS,
    WORK_PACKAGE_NOT_FOUND,
)
from ..storage.columns import TargetColumnStore
from ..storage.exports import ExportStore
from ..storage.programmes import WorkPackageStore
from ..storage.targets import FIELDS, TargetFilter, TargetKey, TargetStore, name_key
from ..targetlists import ExportContext, ParsedList, RowError, TargetListError, chunked, parse_target_list
from ..targetlists.duplicates import Duplicate, find_duplicates
from ..targetlists.export_votable import ListColumn, Request
from .access import Caller, Seen, see

# a target's stored columns are TargetIn's fields but the last (work_package, a join): COPY rows
# are built from the struct's tuple
assert TargetIn.__struct_fields__[:-1] == FIELDS
assert TargetIn.__struct_fields__[-1] == "work_package"
astuple = msgspec.structs.astuple

# problem documents list at most this many row errors (the count says how many there were)
MAX_LISTED_ERRORS = 1000


class Export(NamedTuple):
    """What a target export writes (:meth:`TargetService.export`)."""

    seen: Seen
    configurations: list[str]
    targets: list[TargetOut]
    columns: list[ListColumn]
    requests: dict[UUID, list[Request]]


class Observability(msgspec.Struct, frozen=True):
    """Keep the targets above ``min_altitude`` for at least ``min_hours`` of night ``night`` at CHARA."""

    night: date
    min_altitude: float = 30.0
    min_hours: float = 1.0


T = TypeVar("T")
_MAGNITUDES = dict[str, Photometry]
_DIAMETERS = list[Diameter]


def target_out(row: Mapping[str, Any]) -> TargetOut:
    """A stored target (storage.targets.SELECT's columns are TargetOut's fields)."""
    try:
        return row_to(TargetOut, row)
    except msgspec.ValidationError:
        return _stored_before_the_rules(row)


def targets_out(rows: Sequence[Mapping[str, Any]]) -> list[TargetOut]:
    """Stored targets, in their order (as :func:`target_out`)."""
    try:
        return rows_to(TargetOut, rows)
    except msgspec.ValidationError:
        return [target_out(row) for row in rows]


async def _batches(rows: AsyncIterator[T], size: int = 2000) -> AsyncIterator[list[T]]:
    """``rows`` in lists of ``size``: converted a list at a time, an export's records are not all held."""
    batch: list[T] = []
    async for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _stored_before_the_rules(row: Mapping[str, Any]) -> TargetOut:
    """A target stored before the rules were what they are now, as it is: it is read without checks
    (the rules name what breaks them when it is changed, see _valid_target)."""
    values = {f: row[f] for f in TargetOut.__struct_fields__ if f in row and row[f] is not None}
    # jsonb comes back as dicts: the structs they were
    values["magnitudes"] = msgspec.convert(values.get("magnitudes", {}), _MAGNITUDES)
    values["diameters"] = msgspec.convert(values.get("diameters", []), _DIAMETERS)
    return TargetOut(**values)


def snapshot(target_id: UUID, target: TargetIn) -> TargetSnapshot:
    identifiers = {k: v for k in ("hd", "hip", "tmass", "gaia") if (v := getattr(target, k)) is not None}
    return TargetSnapshot(
        target_id=target_id,
        name=target.name,
        ra=target.ra,
        dec=target.dec,
        epoch=target.epoch,
        pmra=target.pmra,
        pmdec=target.pmdec,
        parallax=target.parallax,
        work_package=target.work_package,
        identifiers=identifiers,
    )


def _valid_target(values: dict[str, Any]) -> TargetIn:
    """The merged target as TargetIn, or a 422 naming the field that breaks a rule (a value stored
    before the rules were what they are now stays refused until it is corrected)."""
    try:
        return msgspec.convert(values, TargetIn)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `$.")
        field = path.rstrip("`").split(".")[0].split("[")[0] or "body"
        raise INVALID_TARGET(
            f"{field}: {message}",
            errors=[FieldError(field=f"body.{field}", message=message)],
        ) from exc


def row_problem(errors: list[RowError], total_rows: int, what: str, **extensions: Any) -> Problem:
    listed = [FieldError(field=f"rows[{e.row}].{e.column}".rstrip("."), message=e.message) for e in errors]
    rows = len({e.row for e in errors})
    return INVALID_TARGET_LIST(
        f"{what}: {rows} of {total_rows} rows have errors; nothing was imported",
        errors=listed[:MAX_LISTED_ERRORS],
        error_count=len(errors),
        rows_with_errors=rows,
        **extensions,
    )


DuplicatePolicy = Literal["keep", "skip", "refuse"]


def judge_duplicates(
    found: list[Duplicate], targets: list[TargetIn], policy: DuplicatePolicy
) -> tuple[list[DuplicatePair], list[RowError], set[int]]:
    """(every pair with what became of it, the errors, the indices of the rows skipped). The same name
    twice is an error unless ``skip`` (the later row is not imported); two names closer than the radius
    are imported (often the components of a double star) unless ``refuse``."""
    skipped = {d.index for d in found if d.same_name} if policy == "skip" else set()
    pairs: list[DuplicatePair] = []
    errors: list[RowError] = []
    for d in found:
        refused = policy == "refuse" or (d.same_name and policy == "keep")
        if refused:
            errors.append(RowError(row=d.row, column="name", message=_duplicate_message(d)))
        other = d.other_target if d.other_index is None else targets[d.other_index].name
        pairs.append(
            DuplicatePair(
                row=d.row,
                name=targets[d.index].name,
                other_name=other or "",
                other_row=d.other_row,
                other_target=d.other_target,
                same_name=d.same_name,
                separation=round(d.separation, 4),
                outcome="refused" if refused else "skipped" if d.index in skipped else "imported",
            )
        )
    return pairs, errors, skipped


class TargetService:
    def __init__(
        self, pool: asyncpg.Pool, outbox: Outbox, caller: Caller, settings: ProgrammesSettings
    ) -> None:
        self.pool = pool
        self.outbox = outbox
        self.caller = caller
        self.settings = settings

    # one target --------------------------------------------------------------------------------

    async def get(self, code: str, target_id: UUID) -> TargetOut:
        async with self.pool.acquire() as conn:
            seen = await see(conn, self.caller, code)
            row = await TargetStore(conn).get(seen.id, target_id)
        if row is None:
            raise TARGET_NOT_FOUND(f"{code} has no target {target_id}")
        return target_out(row)

    async def create(self, code: str, target: TargetIn) -> TargetOut:
        report = await self.import_targets(code, [target], [1], "json", dry_run=False, single=True)
        return await self.get(code, report.targets[0])

    async def update(self, code: str, target_id: UUID, patch: TargetPatch) -> TargetOut:
        changes = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not msgspec.UNSET}
        now = datetime.now(UTC)
        async with transaction(self.pool) as conn:
            seen = await see(conn, self.caller, code, lock=True)
            seen.require_editor()
            row = await TargetStore(conn).get(seen.id, target_id, lock=True)
            if row is None:
                raise TARGET_NOT_FOUND(f"{code} has no target {target_id}")
            merged = {
                **{f: row[f] for f in FIELDS if row[f] is not None},
                "work_package": row["work_package"],
            }
            merged.update(changes)
            target = _valid_target({k: v for k, v in merged.items() if v is not None})
            columns = {k: v for k, v in changes.items() if k != "work_package"}
            if "name" in changes:
                if await TargetStore(conn).name_taken(seen.id, name_key(target.name), other_than=target_id):
                    raise DUPLICATE_TARGET(f"{code} has a target named {target.name} already")
                columns["name_key"] = name_key(target.name)
            if "work_package" in changes:
                columns["work_package_id"] = await self._work_package_id(conn, seen, target.work_package)
            if columns:
                await TargetStore(conn).update(target_id, columns, now)
                await self._changed(conn, seen, target_id, "updated", snapshot(target_id, target), now)
            updated = await TargetStore(conn).get(seen.id, target_id)
        assert updated is not None  # locked above, in this transaction
        return target_out(updated)

    async def delete(self, code: str, target_id: UUID) -> None:
        async with transaction(self.pool) as conn:
            seen = await see(conn, self.caller, code, lock=True)
            seen.require_editor()
            if not await TargetStore(conn).delete(seen.id, target_id):
                raise TARGET_NOT_FOUND(f"{code} has no target {target_id}")
            await self._changed(conn, seen, target_id, "deleted", None, datetime.now(UTC))

    async def _work_package_id(self, conn: asyncpg.Connection, seen: Seen, wp: str | None) -> UUID | None:
        if wp is None:
            return None
        found = (await WorkPackageStore(conn).ids_by_code(seen.id)).get(wp)
        if found is None:
            raise WORK_PACKAGE_NOT_FOUND(f"{seen.code} has no work package {wp}", status=422)
        return found

    async def _changed(
        self, conn: asyncpg.Connection, seen: Seen, target_id: UUID, change: str, target: TargetSnapshot | None,
        now: datetime,
    ) -> None:  # fmt: skip
        event = TargetChanged(
            programme_id=seen.id,
            code=seen.code,
            target_id=target_id,
            change=change,
            target=target,
            changed_by=self.caller.username,
            changed_at=now,
        )
        await self.outbox.add(conn, event, aggregate_id=str(seen.id))

    # lists in ----------------------------------------------------------------------------------

    async def import_list(
        self,
        code: str,
        body: bytes,
        content_type: str | None,
        *,
        dry_run: bool,
        work_package: str | None,
        duplicates: DuplicatePolicy = "keep",
    ) -> ImportReport:
        async with self.pool.acquire() as conn:  # rights first: only editors make the service parse a list
            (await see(conn, self.caller, code)).require_editor()
        # a whole list: rows, COPY records and events are a few hundred thousand objects in no cycle; the
        # collector walking them again and again was 0.3-0.4 s of a 3,000-target SPICA-layout import
        # outside the parse (bench breakdown), as the kit's note says (nightlogs pauses it the same way)
        with collector_paused():
            if not dry_run:
                sliced = await self._import_in_slices(code, body, content_type, work_package)
                if sliced is not None:
                    return sliced
            parsed: ParsedList = await asyncio.to_thread(parse_target_list, body, content_type)
            if parsed.errors:
                raise row_problem(
                    parsed.errors, len(parsed.targets) + len({e.row for e in parsed.errors}), "target list"
                )
            if not parsed.targets:
                raise EMPTY_TARGET_LIST("the target list has no rows")
            if work_package is not None:
                parsed.targets = [
                    t if t.work_package else msgspec.structs.replace(t, work_package=work_package)
                    for t in parsed.targets
                ]
            report = await self.import_targets(
                code,
                parsed.targets,
                parsed.rows,
                parsed.format,
                dry_run=dry_run,
                policy=duplicates,
                listed=parsed,
            )
            report.ignored_columns = parsed.ignored_columns
            report.properties = parsed.properties
            report.warnings = parsed.warnings
            return report

    async def _import_in_slices(
        self, code: str, body: bytes, content_type: str | None, work_package: str | None
    ) -> ImportReport | None:
        """A large VOTable imported slice by slice: each slice's rows COPYed while the next one is read
        (the parse and PostgreSQL's side of the COPY on the two cores at once), the list then checked
        whole (duplicates, limit) before the commit. Only the common case, a list that imports as it is:
        for anything else (bad rows, duplicates, a list that does not read in slices exactly as whole)
        nothing is written and None sends the import to the whole-list path, which answers it."""
        slices = chunked.split_rows(body, content_type, most=self.settings.import_max_targets)
        if slices is None:
            return None
        now = datetime.now(UTC)
        import_id = uuid.uuid4()
        parts: list[ParsedList] = []
        ids: list[UUID] = []
        created: dict[str, str] = {}  # work package code -> the title it was created with
        reading: asyncio.Future[ParsedList] | None = None
        checking: asyncio.Future[tuple[ParsedList | None, list[Duplicate]]] | None = None
        try:
            async with transaction(self.pool) as conn:
                seen = await see(conn, self.caller, code, lock=True)
                seen.require_editor()
                existing = await conn.fetch(
                    "SELECT name, ra, dec, epoch, pmra, pmdec FROM target WHERE programme_id = $1", seen.id
                )
                reading = asyncio.ensure_future(asyncio.to_thread(chunked.read_slice, *slices[0]))
                for k in range(len(slices)):
                    current, reading = reading, None
                    assert current is not None  # started before the loop, then before each COPY
                    part = await current
                    if part.errors or not part.targets:
                        raise _WholeList
                    if work_package is not None:
                        part.targets = [
                            t if t.work_package else msgspec.structs.replace(t, work_package=work_package)
                            for t in part.targets
                        ]
                    parts.append(part)
                    wp_ids, missing = await self._work_packages(
                        conn, seen, part.targets, create=True, titles=part.work_package_titles
                    )
                    created |= {wp: part.work_package_titles.get(wp, wp) for wp in missing}
                    if k == 0:
                        await TargetColumnStore(conn).record(seen.id, part.columns, describes=True)
                    part_ids = [uuid.uuid4() for _ in part.targets]
                    ids += part_ids
                    # the next slice read from here: the round trips above wait for the reader's thread
                    # to let go of the interpreter, the COPY's only one
                    if k + 1 < len(slices):
                        reading = asyncio.ensure_future(asyncio.to_thread(chunked.read_slice, *slices[k + 1]))
                    else:  # the whole list checked while its last slice is COPYed
                        checking = asyncio.ensure_future(
                            asyncio.to_thread(
                                _whole_list,
                                parts,
                                [tuple(r) for r in existing],
                                self.settings.duplicate_radius_arcsec,
                            )
                        )
                    await TargetStore(conn).insert_many(
                        [
                            (tid, seen.id, wp_ids.get(t.work_package) if t.work_package else None,
                             name_key(t.name), *astuple(t)[:-1], import_id, now, now)
                            for tid, t in zip(part_ids, part.targets, strict=True)
                        ]
                    )  # fmt: skip
                assert checking is not None
                listed, duplicates = await checking
                if (
                    listed is None
                    or duplicates
                    or len(listed.targets) > self.settings.import_max_targets
                    or any(listed.work_package_titles.get(wp, wp) != title for wp, title in created.items())
                ):
                    raise _WholeList
                await self._imported_events(conn, seen, import_id, ids, listed.targets, now, False)
        except (_WholeList, TargetListError, asyncpg.IntegrityConstraintViolationError):
            return None
        finally:
            # a slice still being read, or the list checked, when the import stopped
            await asyncio.gather(*(f for f in (reading, checking) if f is not None), return_exceptions=True)
        report = ImportReport(import_id, listed.format, len(ids), False, ids, sorted(created))
        report.ignored_columns = listed.ignored_columns
        report.properties = listed.properties
        report.warnings = listed.warnings
        return report

    async def import_targets(
        self,
        code: str,
        targets: list[TargetIn],
        rows: list[int],
        fmt: str,
        *,
        dry_run: bool,
        single: bool = False,
        policy: DuplicatePolicy = "keep",
        listed: ParsedList | None = None,
    ) -> ImportReport:
        """All or nothing: every row valid, no refused duplicate within the list or with the programme's
        targets (see :func:`judge_duplicates`); ``listed``: the list they were read from (its columns)."""
        if len(targets) > self.settings.import_max_targets:
            raise TOO_MANY_TARGETS(
                f"{len(targets)} targets in one import; the limit is {self.settings.import_max_targets}",
            )
        now = datetime.now(UTC)
        import_id = uuid.uuid4()
        try:
            async with transaction(self.pool) as conn:
                # the programme row lock serialises imports: the duplicate check sees every committed target
                seen = await see(conn, self.caller, code, lock=True)
                seen.require_editor()
                existing = await conn.fetch(
                    "SELECT name, ra, dec, epoch, pmra, pmdec FROM target WHERE programme_id = $1", seen.id
                )
                duplicates = await asyncio.to_thread(
                    find_duplicates,
                    targets,
                    rows,
                    [tuple(r) for r in existing],
                    self.settings.duplicate_radius_arcsec,
                )
                if duplicates and single:
                    raise DUPLICATE_TARGET(_duplicate_message(duplicates[0]))
                pairs, errors, skipped = judge_duplicates(duplicates, targets, policy)
                if errors:
                    raise row_problem(
                        errors, len(targets), "duplicate targets", duplicates=msgspec.to_builtins(pairs)
                    )
                if skipped:
                    targets = [t for i, t in enumerate(targets) if i not in skipped]
                titles = listed.work_package_titles if listed is not None else {}
                wp_ids, created_wps = await self._work_packages(
                    conn, seen, targets, create=not single, titles=titles
                )
                ids = [uuid.uuid4() for _ in targets]
                if dry_run:
                    raise _DryRun(
                        ImportReport(
                            None,
                            fmt,
                            len(targets),
                            True,
                            [],
                            created_wps,
                            duplicates=pairs,
                            skipped=len(skipped),
                        )
                    )
                if listed is not None:
                    await TargetColumnStore(conn).record(
                        seen.id, listed.columns, describes=listed.format in ("votable", "fits")
                    )
                await TargetStore(conn).insert_many(
                    [
                        (tid, seen.id, wp_ids.get(t.work_package) if t.work_package else None, name_key(t.name),
                         *astuple(t)[:-1], import_id, now, now)
                        for tid, t in zip(ids, targets, strict=True)
                    ]
                )  # fmt: skip
                await self._imported_events(conn, seen, import_id, ids, targets, now, single)
        except _DryRun as outcome:
            return outcome.report
        return ImportReport(
            import_id, fmt, len(targets), False, ids, created_wps, duplicates=pairs, skipped=len(skipped)
        )

    async def _work_packages(
        self,
        conn: asyncpg.Connection,
        seen: Seen,
        targets: list[TargetIn],
        *,
        create: bool,
        titles: dict[str, str] | None = None,
    ) -> tuple[dict[str, UUID], list[str]]:
        """Work packages by code; a list naming new ones creates them (titled by their name in the list,
        TARGET_PROGNAME, or by their code)."""  # fmt: skip
        known = await WorkPackageStore(conn).ids_by_code(seen.id)
        missing = sorted({t.work_package for t in targets if t.work_package and t.work_package not in known})
        if missing and not create:
            raise WORK_PACKAGE_NOT_FOUND(f"{seen.code} has no work package {missing[0]}", status=422)
        for wp in missing:
            known[wp] = uuid.uuid4()
            title = (titles or {}).get(wp, wp)
            await WorkPackageStore(conn).insert(known[wp], seen.id, wp, title, "created by a target import")
        return known, missing

    async def _imported_events(
        self, conn: asyncpg.Connection, seen: Seen, import_id: UUID, ids: list[UUID], targets: list[TargetIn],
        now: datetime, single: bool,
    ) -> None:  # fmt: skip
        if single:
            await self._changed(conn, seen, ids[0], "created", snapshot(ids[0], targets[0]), now)
            return
        size = self.settings.import_event_batch
        batches = (len(targets) + size - 1) // size
        events = [
            TargetsImported(
                programme_id=seen.id,
                code=seen.code,
                import_id=import_id,
                batch=b + 1,
                batches=batches,
                total=len(targets),
                targets=[snapshot(i, t) for i, t in zip(ids[b * size : (b + 1) * size], targets[b * size : (b + 1) * size], strict=True)],
                imported_by=self.caller.username,
                imported_at=now,
            )
            for b in range(batches)
        ]  # fmt: skip
        await self.outbox.add_many(conn, [(str(seen.id), e) for e in events])

    # lists out ---------------------------------------------------------------------------------

    async def listing(
        self,
        code: str,
        flt: TargetFilter,
        *,
        sort: str,
        descending: bool,
        after: TargetKey | None,
        limit: int,
        observability: Observability | None,
    ) -> TargetPage:
        after = after.of(sort) if after else None
        async with self.pool.acquire() as conn:
            seen = await see(conn, self.caller, code)
            await self._typed_properties(conn, seen, flt)
            if observability is not None:
                flt.ids = await self._observable(conn, seen, flt, observability)
            rows = await TargetStore(conn).page(
                seen.id, flt, sort=sort, descending=descending, after=after, limit=limit + 1
            )
        rows, following = keyset(rows, limit, lambda r: TargetKey(sort, r["sort_value"], r["id"]))
        return TargetPage(items=targets_out(rows), next=following)

    async def columns(self, code: str) -> list[TargetColumnOut]:
        """The columns of the programme's target lists, in the order they first came."""
        async with self.pool.acquire() as conn:
            seen = await see(conn, self.caller, code)
            return await TargetColumnStore(conn).all(seen.id)

    async def _typed_properties(self, conn: asyncpg.Connection, seen: Seen, flt: TargetFilter) -> None:
        """``prop.NAME=value`` filters compare values of the column's datatype (text when unknown)."""
        if not flt.properties:
            return
        datatypes = await TargetColumnStore(conn).datatypes(seen.id, [name for name, _ in flt.properties])
        flt.properties = [
            (name, property_value(name, value, datatypes.get(name))) for name, value in flt.properties
        ]

    async def _observable(
        self, conn: asyncpg.Connection, seen: Seen, flt: TargetFilter, want: Observability
    ) -> list[UUID]:
        rows = await TargetStore(conn).positions(seen.id, flt)
        if not rows:
            return []

        def column(name: str) -> np.ndarray:
            return np.array([np.nan if r[name] is None else r[name] for r in rows], dtype=float)

        mask = await asyncio.to_thread(
            sky.observable,
            column("ra"),
            column("dec"),
            column("pmra"),
            column("pmdec"),
            column("epoch"),
            want.night,
            min_altitude_deg=want.min_altitude,
            min_hours=want.min_hours,
        )
        return [r["id"] for r, keep in zip(rows, mask, strict=True) if keep]

    async def export(self, code: str, flt: TargetFilter, observability: Observability | None) -> Export:
        """What the exports write: the programme and its SPICA configurations, the matching targets by
        name, the columns of the programme's lists and the targets' observation requests."""
        async with self.pool.acquire() as conn:
            seen = await see(conn, self.caller, code)
            await self._typed_properties(conn, seen, flt)
            if observability is not None:
                flt.ids = await self._observable(conn, seen, flt, observability)
            configurations = [
                " ".join(r["configuration"])
                for r in await conn.fetch(
                    "SELECT DISTINCT configuration FROM setup WHERE programme_id = $1 ORDER BY 1", seen.id
                )
            ]
            targets = [
                t
                async for rows in _batches(TargetStore(conn).stream(seen.id, flt))
                for t in targets_out(rows)
            ]
            extras = ExportStore(conn)
            columns = await extras.columns(seen.id)
            requests = await extras.requests(seen.id)
        return Export(seen, configurations, targets, columns, requests)

    @staticmethod
    def export_context(seen: Seen, configurations: list[str], period: str | None) -> ExportContext:
        return ExportContext(
            programme=seen.code, title=seen.programme["title"], configurations=configurations, period=period
        )


def property_value(name: str, value: Any, datatype: str | None) -> Any:
    """A ``prop.NAME`` query value as the column's datatype has it; 400 when it cannot be one."""
    if not isinstance(value, str) or datatype in (None, "char", "unicodeChar"):
        return value
    try:
        if datatype in ("short", "int", "long", "unsignedByte"):
            return int(value)
        if datatype in ("float", "double"):
            return float(value)
        if datatype == "boolean" and value.strip().lower() in ("true", "false", "t", "f", "1", "0"):
            return value.strip().lower() in ("true", "t", "1")
    except ValueError:
        pass
    raise VALIDATION(
        f"prop.{name}={value!r}: the column {name} holds {datatype} values",
        errors=[FieldError(f"query.prop.{name}", f"expected a {datatype} value")],
    )


def _whole_list(
    parts: list[ParsedList], existing: list[tuple[Any, ...]], radius: float
) -> tuple[ParsedList | None, list[Duplicate]]:
    """The slices as the list read whole (None when they do not merge exactly) and its duplicates."""
    listed = chunked.merge(parts)
    if listed is None:
        return None, []
    return listed, find_duplicates(listed.targets, listed.rows, existing, radius)


class _WholeList(Exception):
    """Unwinds a sliced import (nothing written): the list is imported whole instead."""


class _DryRun(Exception):
    """Unwinds the import transaction once everything was checked (dry runs write nothing)."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report


def _duplicate_message(d: Any) -> str:
    if d.other_target is not None:
        return f"duplicate of target {d.other_target} already in the programme ({d.reason})"
    return f"duplicate of row {d.other_row} ({d.reason})"
