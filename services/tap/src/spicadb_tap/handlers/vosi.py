"""VOSI and DALI endpoints of the TAP service: availability, capabilities, tables, examples. All are
anonymous (VO clients call them first, without a token) and answer XML documents."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import asyncpg
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter

from spicadb_kit.logs import get_logger
from spicadb_kit.openapi import answers
from spicadb_kit.problems import NOT_FOUND

from ..state import TapContext
from ..vosi import examples, xml
from ..vosi.availability import availability_document
from ..vosi.capabilities import capabilities_document
from ..vosi.tables import table_document, tableset_document

log = get_logger(__name__)

ANONYMOUS = {"anonymous": True}
XML = {**ANONYMOUS, **answers(xml.MEDIA_TYPE.split(";")[0])}
# how long availability waits for the database before it says the service is not available
DATABASE_CHECK_SECONDS = 5.0


def _xml(content: bytes) -> Response[bytes]:
    return Response(content=content, media_type=xml.MEDIA_TYPE)


async def _database_note(pool: asyncpg.Pool) -> str | None:
    """None when the database answers; otherwise why the service cannot answer queries."""
    try:
        async with asyncio.timeout(DATABASE_CHECK_SECONDS):
            async with pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
    except TimeoutError:
        return f"The database did not answer within {DATABASE_CHECK_SECONDS:g} s: queries cannot run now"
    except Exception as error:  # whatever the driver raises (a cut connection has several faces)
        log.warning("availability: the database does not answer", error=repr(error))
        return "The database cannot be reached: queries cannot run now"
    return None


@get("/tap/availability", opt=XML, operation_id="tapAvailability", tags=["vosi"])
async def availability(context: NamedDependency[TapContext]) -> Response[bytes]:
    """VOSI availability: ``available`` true when the database answers, false with a note otherwise
    (always 200: the document says it)."""
    note = await _database_note(context.pool)
    document = availability_document(
        note is None, note=note or "Queries are accepted", up_since=context.started_at
    )
    return _xml(document)


@get("/tap/capabilities", opt=XML, operation_id="tapCapabilities", tags=["vosi"])
async def capabilities(context: NamedDependency[TapContext]) -> Response[bytes]:
    """VOSI capabilities: TAP 1.1 (TAPRegExt ``tr:TableAccess``: ADQL 2.0 and its geometry functions and
    optional features, output formats, output/upload limits, execution duration, retention period,
    inline upload, the ObsCore 1.1 data model) and the VOSI and DALI endpoints; URLs under the public
    URL (``SPICADB_PUBLIC_URL``) + ``/tap``."""
    return _xml(capabilities_document(context.settings))


@get("/tap/tables", opt=XML, operation_id="tapTables", tags=["vosi"])
async def tables(
    context: NamedDependency[TapContext],
    detail: Literal["min", "max"] | None = Parameter(
        default=None, description="min: the tables without their columns; max (default): everything"
    ),
) -> Response[bytes]:
    """VOSI tables: the VODataService tableset of every published table the service offers (what
    TAP_SCHEMA says too): schemas, tables, columns (``vs:VOTableType`` with arraysize and extendedType,
    unit, UCD, utype, flags), foreign keys."""
    level = detail or "max"
    return _xml(context.state.document(f"tables?{level}", lambda c: tableset_document(c, level)))


@get("/tap/tables/{name:str}", opt=XML, operation_id="tapTable", tags=["vosi"])
async def table(context: NamedDependency[TapContext], name: FromPath[str]) -> Response[bytes]:
    """VOSI 1.1: one table (``schema.table``, any case) with its columns and keys; 404 for a name no
    published table has."""
    schema, _, table_name = name.partition(".")
    state = context.state
    found = state.catalogue.table(schema, table_name)
    if found is None:
        found = (await state.refresh_for_unknown()).table(schema, table_name)
    if found is None:
        raise NOT_FOUND(f"no published table {name}")
    return _xml(state.document(f"table {found.qualified}", lambda c: table_document(c, found)))


@get(
    "/tap/examples",
    opt={**ANONYMOUS, **answers(examples.MEDIA_TYPE.split(";")[0])},
    operation_id="tapExamples",
    tags=["vosi"],
)
async def examples_page() -> Response[bytes]:
    """DALI examples: ADQL queries to start from (ObsCore cone, a target's data, raw exposures near a
    position, a programme's targets, calibrators near a target), XHTML with DALI's RDFa terms."""
    return Response(content=examples.examples_document(), media_type=examples.MEDIA_TYPE)


ROUTES: list[Any] = [availability, capabilities, tables, table, examples_page]
