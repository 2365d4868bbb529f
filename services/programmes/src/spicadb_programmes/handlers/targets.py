"""Targets one by one, target lists in (VOTable, CSV, JSON) and out (Aspro2 VOTable, CSV, JSON)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any, Literal, get_args
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Stream

from spicadb_kit.auth import requires
from spicadb_kit.errors import FieldError
from spicadb_kit.openapi import answers
from spicadb_kit.pagination import DEFAULT_LIMIT, LINK_HEADER, CursorParameter, Limit, paged
from spicadb_kit.problems import VALIDATION
from spicadb_kit.responses import content_disposition

from ..models import ImportReport, TargetIn, TargetOut, TargetPage, TargetPatch
from ..services.targets import Observability, TargetService
from ..storage.targets import BANDS, SORTS, TargetFilter, TargetKey
from ..targetlists import iter_csv, iter_spicadb, iter_votable, write_json
from ..targetlists.jsonlist import TargetExport
from .bodies import IMPORT_BODY

READ = [requires("programmes:read")]
WRITE = [requires("programmes:write")]
Sort = Literal["name", "ra", "dec", "created", "mag_v", "mag_r", "mag_i", "mag_j", "mag_h", "mag_k"]
Progress = Literal["not-observed", "partial", "done"]
Degrees = Annotated[float | None, QueryParameter(ge=0.0, le=360.0)]
Declination = Annotated[float | None, QueryParameter(ge=-90.0, le=90.0)]
# format -> (media type, file name ending)
EXPORTS = {
    "votable": ("application/x-votable+xml", "xml"),
    "spicadb": ("application/x-votable+xml", "spicadb.xml"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "json": ("application/json", "json"),
}
ExportFormat = Literal["votable", "spicadb", "csv", "json"]
# targets an export may name one by one (a URL of about 8 KB)
EXPORT_IDS = 200
assert set(get_args(Sort)) == set(SORTS)


def magnitude_ranges(values: list[str]) -> list[tuple[str, float | None, float | None]]:
    """``V:4:8`` (V between 4 and 8), ``K::6`` (K at most 6), ``R:10:`` (R at least 10)."""
    ranges = []
    for value in values:
        band, _, bounds = value.partition(":")
        low, _, high = bounds.partition(":")
        try:
            if band.lower() not in BANDS or not bounds:
                raise ValueError
            ranges.append((band.lower(), float(low) if low else None, float(high) if high else None))
        except ValueError:
            raise VALIDATION(
                f"mag={value!r}: write BAND:MIN:MAX with BAND one of V R I J H K (e.g. V:4:8, K::6)",
                errors=[FieldError("query.mag", "expected BAND:MIN:MAX")],
            ) from None
    return ranges


def property_filters(request: Request[Any, Any, Any]) -> list[tuple[str, Any]]:
    """The ``prop.NAME=value`` query parameters, as (NAME, value) pairs."""
    found = [(key[5:], value) for key, value in request.query_params.items() if key.startswith("prop.")]
    for name, _ in found:
        if not name or len(name) > 128:
            raise VALIDATION(
                "prop.NAME=value: NAME is the name of a column of the programme's lists",
                errors=[FieldError(f"query.prop.{name}", "a column name of at most 128 characters")],
            )
    return found


# the nights the sky computation is asked for: its time scales and the calendar's next noon exist
FIRST_NIGHT, LAST_NIGHT = date(1900, 1, 1), date(2200, 12, 31)


class TargetQuery:
    """The filters shared by the listing and the export."""

    @staticmethod
    def build(
        work_package: str | None,
        priority: int | None,
        mag: list[str] | None,
        ra_min: float | None,
        ra_max: float | None,
        dec_min: float | None,
        dec_max: float | None,
        progress: str | None,
        q: str | None,
        observable_on: date | None,
        min_altitude: float,
        min_hours: float,
    ) -> tuple[TargetFilter, Observability | None]:
        flt = TargetFilter(
            work_package=work_package,
            priority=priority,
            magnitudes=magnitude_ranges(mag or []),
            ra_min=ra_min,
            ra_max=ra_max,
            dec_min=dec_min,
            dec_max=dec_max,
            progress=progress,
            search=q,
        )
        if observable_on and not FIRST_NIGHT <= observable_on <= LAST_NIGHT:
            raise VALIDATION(
                f"observable_on={observable_on}: a night from {FIRST_NIGHT} to {LAST_NIGHT}",
                errors=[FieldError("query.observable_on", f"a night from {FIRST_NIGHT} to {LAST_NIGHT}")],
            )
        seen = Observability(observable_on, min_altitude, min_hours) if observable_on else None
        return flt, seen


class TargetController(Controller):
    path = "/programmes/{code:str}/targets"
    tags = ["targets"]

    @get("/", guards=READ, operation_id="listTargets", response_headers=[LINK_HEADER])
    async def listing(
        self,
        request: Request[Any, Any, Any],
        code: FromPath[str],
        targets: NamedDependency[TargetService],
        work_package: Annotated[str | None, QueryParameter(description="work package code")] = None,
        priority: Annotated[
            int | None, QueryParameter(ge=1, le=5, description="with a request of this priority")
        ] = None,
        mag: Annotated[
            list[str] | None, QueryParameter(description="magnitude range BAND:MIN:MAX, repeatable")
        ] = None,
        ra_min: Degrees = None,
        ra_max: Degrees = None,
        dec_min: Declination = None,
        dec_max: Declination = None,
        progress: Annotated[Progress | None, QueryParameter()] = None,
        q: Annotated[str | None, QueryParameter(description="part of the name")] = None,
        observable_on: Annotated[
            date | None, QueryParameter(description="night (local date at its start) at CHARA")
        ] = None,
        min_altitude: Annotated[float, QueryParameter(ge=0, le=90, description="degrees")] = 30.0,
        min_hours: Annotated[
            float, QueryParameter(ge=0, le=24, description="hours above min_altitude")
        ] = 1.0,
        sort: Annotated[Sort, QueryParameter()] = "name",
        order: Annotated[Literal["asc", "desc"], QueryParameter()] = "asc",
        cursor: CursorParameter = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Response[TargetPage]:
        """Targets with filters and keyset pagination. ``ra_min`` > ``ra_max`` is a window across 0h.
        ``observable_on`` keeps the targets above ``min_altitude`` for ``min_hours`` during that night's
        darkness (Sun below -12 degrees) at CHARA. ``prop.NAME=value`` (repeatable, any NAME of
        ``GET /programmes/{code}/columns``) keeps the targets whose property NAME has that value."""
        flt, seen = TargetQuery.build(
            work_package, priority, mag, ra_min, ra_max, dec_min, dec_max, progress, q,
            observable_on, min_altitude, min_hours,
        )  # fmt: skip
        flt.properties = property_filters(request)
        after = TargetKey.decode(cursor)
        page = await targets.listing(
            code, flt, sort=sort, descending=order == "desc", after=after, limit=limit, observability=seen
        )
        return paged(request, page)

    @post("/", guards=WRITE, operation_id="createTarget", status_code=201)
    async def create(
        self, code: FromPath[str], data: JSONBody[TargetIn], targets: NamedDependency[TargetService]
    ) -> TargetOut:
        return await targets.create(code, data)

    @post(
        "/import",
        guards=WRITE,
        operation_id="importTargets",
        status_code=201,
        opt=IMPORT_BODY,
        # a dry run answers 200 with the same report: what the import would do, nothing written
        responses={
            200: ResponseSpec(
                ImportReport,
                description="dry_run=true: the report of the import, nothing written",
                generate_examples=False,
            )
        },
    )
    async def import_list(
        self,
        request: Request[Any, Any, Any],
        code: FromPath[str],
        targets: NamedDependency[TargetService],
        dry_run: Annotated[bool, QueryParameter(description="check everything, write nothing")] = False,
        work_package: Annotated[
            str | None, QueryParameter(description="work package of the rows that name none")
        ] = None,
        duplicates: Annotated[
            Literal["keep", "skip", "refuse"],
            QueryParameter(
                description=(
                    "two rows of the same name are an error, unless skip (the later row is not imported);"
                    " two names closer than the duplicate radius (a double star) are imported and reported,"
                    " unless refuse (an error)"
                )
            ),
        ] = "keep",
    ) -> Response[ImportReport]:
        """A whole target list, all or nothing: a VOTable (``application/x-votable+xml``; TABLEDATA,
        BINARY, BINARY2 or inline FITS; columns found by UCD as Aspro2 does), CSV (``text/csv``), JSON
        (``application/json``) or a FITS binary table (``application/fits``). Every column is kept: the
        known ones fill the target's fields, the others its ``properties`` (described in
        ``GET /programmes/{code}/columns``). Read as TOPCAT and Aspro2 read: a row a cell short gets
        nulls, a row too long loses its extra cells, placeholders ("TBD by PI", "-", "NaN") are null, each
        reported in ``warnings``. A row without a name or a position, or with a position out of range,
        a bad cell, or a duplicate the ``duplicates`` policy refuses is reported with its row and column,
        and nothing is imported; ``duplicates`` in the answer lists every pair with its separation."""
        body = await request.body()
        report = await targets.import_list(
            code,
            body,
            request.headers.get("content-type"),
            dry_run=dry_run,
            work_package=work_package,
            duplicates=duplicates,
        )
        return Response(report, status_code=200 if dry_run else 201)

    @get(
        "/export",
        guards=READ,
        operation_id="exportTargets",
        # format=json answers a target list object; votable, spicadb and csv answer text
        responses={
            200: ResponseSpec(
                TargetExport,
                description=(
                    "The matching targets: `format=votable` and `format=spicadb` as"
                    " `application/x-votable+xml` (VOTable 1.4, TABLEDATA), `format=csv` as"
                    " `text/csv; charset=utf-8`, `format=json` as `application/json` (this schema)."
                    " Sent as it is written (chunked); `Content-Disposition` names the file."
                ),
                generate_examples=False,
            )
        },
        opt=answers("application/x-votable+xml", "text/csv"),
    )
    async def export(
        self,
        request: Request[Any, Any, Any],
        code: FromPath[str],
        targets: NamedDependency[TargetService],
        format: Annotated[
            ExportFormat,
            QueryParameter(
                description=(
                    "votable: for Aspro2 (its columns, then the requests and the kept list columns);"
                    " spicadb: the SPICA science database layout (TARGET_* columns); csv; json"
                )
            ),
        ] = "votable",
        period: Annotated[
            str | None, QueryParameter(pattern=r"^\d{4}[AB]$", description="PERIOD for Aspro2")
        ] = None,
        work_package: Annotated[str | None, QueryParameter()] = None,
        priority: Annotated[int | None, QueryParameter(ge=1, le=5)] = None,
        mag: Annotated[list[str] | None, QueryParameter()] = None,
        ra_min: Degrees = None,
        ra_max: Degrees = None,
        dec_min: Declination = None,
        dec_max: Declination = None,
        progress: Annotated[Progress | None, QueryParameter()] = None,
        q: Annotated[str | None, QueryParameter()] = None,
        observable_on: Annotated[date | None, QueryParameter()] = None,
        min_altitude: Annotated[float, QueryParameter(ge=0, le=90)] = 30.0,
        min_hours: Annotated[float, QueryParameter(ge=0, le=24)] = 1.0,
        id: Annotated[
            list[UUID] | None,
            QueryParameter(
                max_items=EXPORT_IDS,
                description=f"only these targets (their ids, repeated; at most {EXPORT_IDS}): a selection",
            ),
        ] = None,
    ) -> Stream:
        """The matching targets, same filters as the listing (``prop.NAME=value`` too), ``id`` to export a
        selection (the console's "send to Aspro2/TOPCAT"):

        - ``votable``: a VOTable Aspro2 imports completely (File > Import, or SAMP): its columns, then per
          target the observation requests (SETUPS with mode and configuration, VISITS, PRIORITY, PLANNED,
          OBSERVED, GOOD, PROGRESS) and the columns of the imported lists kept as properties, with their
          FIELD as they came;
        - ``spicadb``: the SPICA science database layout: its TARGET_* columns in their order, names,
          units, UCDs and descriptions, sexagesimal positions as they came, TARGET_ID, TARGET_Nobs,
          TARGET_Nobs_Done and TARGET_Completion_Rate filled from the targets and their progress;
        - ``csv``: a header of the target fields, magnitudes and diameters as columns, then the properties;
        - ``json``: ``{"targets": [...]}``, properties included."""
        flt, seen = TargetQuery.build(
            work_package, priority, mag, ra_min, ra_max, dec_min, dec_max, progress, q,
            observable_on, min_altitude, min_hours,
        )  # fmt: skip
        flt.properties = property_filters(request)
        if id is not None:
            flt.ids = id
        found = await targets.export(code, flt, seen)
        rows = found.targets
        context = TargetService.export_context(found.seen, found.configurations, period)
        body: Iterator[bytes]
        if format == "votable":
            body = iter_votable(rows, context, len(rows), columns=found.columns, requests=found.requests)
        elif format == "spicadb":
            body = iter_spicadb(rows, context, found.columns, found.requests, len(rows))
        elif format == "csv":
            body = iter_csv(rows, [c.name for c in found.columns if c.maps_to is None])
        else:
            body = iter([await asyncio.to_thread(write_json, rows)])
        media_type, extension = EXPORTS[format]
        return Stream(
            body,
            media_type=media_type,
            headers={"Content-Disposition": content_disposition(f"{found.seen.code}-targets.{extension}")},
        )

    @get("/{target_id:uuid}", guards=READ, operation_id="getTarget")
    async def detail(
        self, code: FromPath[str], target_id: FromPath[UUID], targets: NamedDependency[TargetService]
    ) -> TargetOut:
        return await targets.get(code, target_id)

    @patch("/{target_id:uuid}", guards=WRITE, operation_id="updateTarget")
    async def update(
        self,
        code: FromPath[str],
        target_id: FromPath[UUID],
        data: JSONBody[TargetPatch],
        targets: NamedDependency[TargetService],
    ) -> TargetOut:
        return await targets.update(code, target_id, data)

    @delete("/{target_id:uuid}", guards=WRITE, operation_id="deleteTarget")
    async def remove(
        self, code: FromPath[str], target_id: FromPath[UUID], targets: NamedDependency[TargetService]
    ) -> None:
        await targets.delete(code, target_id)
