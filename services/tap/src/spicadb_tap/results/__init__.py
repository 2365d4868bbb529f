"""A query's result in the format the client asked for: VOTable (TABLEDATA or BINARY2, written by the
kit's one VOTable writer), CSV (RFC 4180), TSV, or JSON, streamed.

VOTables follow TAP 1.1: ``QUERY_STATUS=OK`` before the TABLE, ``QUERY_STATUS=OVERFLOW`` after
``</TABLE>`` when MAXREC cut the result (``ERROR`` there when the query failed while its rows were
being written), a DataLink service descriptor when a column holds ObsCore publisher DIDs or L0 ids.
JSON is ``{"columns": [{"name", "datatype", "arraysize", "xtype", "unit", "ucd", "utype",
"description"}], "rows": [[...]], "overflow": bool}`` (plus ``"error"`` when the query failed midway).
Regions (pgSphere values) are STC-S strings; a DALI point is two numbers.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, NamedTuple, Protocol
from uuid import UUID

import msgspec

from spicadb_kit import votable
from spicadb_kit.logs import get_logger

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "ResultColumn",
    "ResultRows",
    "StreamError",
    "descriptors_for",
    "error_document",
    "stream",
]


log = get_logger(__name__)


class ResultColumn(NamedTuple):
    """A column of a result as its FIELD says it (``convert``: the cell value from the database's)."""

    name: str
    datatype: str
    arraysize: str | None = None
    xtype: str | None = None
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    description: str | None = None
    convert: Callable[[Any], Any] | None = None

    def field(self) -> votable.Field:
        return votable.Field(
            self.name,
            self.datatype,
            ucd=self.ucd,
            unit=self.unit,
            arraysize=self.arraysize,
            utype=self.utype,
            xtype=self.xtype,
            description=self.description,
        )


class ResultRows(Protocol):
    """What :func:`stream` writes: columns, batches of rows, and (known after the last batch) whether
    MAXREC cut the result. ``spicadb_tap.query.Rows`` is one."""

    columns: list[ResultColumn]

    @property
    def overflow(self) -> bool: ...

    def __aiter__(self) -> AsyncIterator[Sequence[Sequence[Any]]]: ...


class StreamError(Exception):
    """Raised by a rows' iteration when the query fails midway: the answer ends with the message."""


# RESPONSEFORMAT (and FORMAT) values, lower case -> format
FORMATS: dict[str, str] = {
    "votable": "votable",
    "application/x-votable+xml": "votable",
    "text/xml": "votable",
    "votable/td": "votable",
    "application/x-votable+xml;serialization=tabledata": "votable",
    "ivo://ivoa.net/std/tapregext#output-votable-td": "votable",
    "votable/b2": "votable-b2",
    "application/x-votable+xml;serialization=binary2": "votable-b2",
    "ivo://ivoa.net/std/tapregext#output-votable-binary2": "votable-b2",
    "csv": "csv",
    "text/csv": "csv",
    "text/csv;header=present": "csv",
    "ivo://ivoa.net/std/tapregext#output-csv": "csv",
    "tsv": "tsv",
    "text/tab-separated-values": "tsv",
    "ivo://ivoa.net/std/tapregext#output-tsv": "tsv",
    "json": "json",
    "application/json": "json",
}
# the TAPRegExt ivo-ids carry "TAPRegExt" in mixed case: keys are compared in lower case
MEDIA_TYPES: dict[str, str] = {
    "votable": votable.MEDIA_TYPE,
    "votable-b2": votable.MEDIA_TYPE,
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "json": "application/json",
}


def format_of(value: str | None) -> str | None:
    """The format of a RESPONSEFORMAT value (None for an unknown one); no value is VOTable."""
    if not value:
        return "votable"
    key = re.sub(r"\s+", "", value.lower())
    return FORMATS.get(key)


def descriptors_for(columns: Sequence[ResultColumn], links_url: str) -> list[votable.ServiceDescriptor]:
    """DataLink service descriptors for the columns holding DataLink ids: ObsCore's ``obs_publisher_did``
    and any published column declared as an IVOA identifier (an L0 observation's DID)."""
    for column in columns:
        if column.name.lower() == "obs_publisher_did" or (column.ucd or "").lower() == "meta.ref.ivoid":
            return [votable.ServiceDescriptor(links_url, column.name)]
    return []


def error_document(message: str) -> bytes:
    """A TAP error document: RESOURCE type="results" with INFO QUERY_STATUS=ERROR holding the message."""
    resource = votable.Resource(infos=(votable.Info("QUERY_STATUS", "ERROR", message),))
    return votable.document(None, resource=resource)


_OK = votable.Info("QUERY_STATUS", "OK")
_OVERFLOW = votable.Info("QUERY_STATUS", "OVERFLOW")


async def stream(
    fmt: str,
    rows: ResultRows,
    *,
    descriptors: Sequence[votable.ServiceDescriptor] = (),
    runid: str | None = None,
    chunk_bytes: int = 64 * 1024,
    failed: list[str] | None = None,
) -> AsyncIterator[bytes]:
    """The result as bytes chunks in format ``fmt`` (a value of :data:`FORMATS`); a VOTable echoes
    ``runid`` (INFO name="RUNID"). A failure midway (the query's, or a value that cannot be written)
    ends the answer with its message, also appended to ``failed``."""
    failed = failed if failed is not None else []
    if fmt in ("votable", "votable-b2"):
        writer = _votable(
            rows,
            descriptors,
            binary2=fmt == "votable-b2",
            chunk_bytes=chunk_bytes,
            runid=runid,
            failed=failed,
        )
    elif fmt in ("csv", "tsv"):
        writer = _delimited(rows, "," if fmt == "csv" else "\t", chunk_bytes, failed)
    elif fmt == "json":
        writer = _json(rows, chunk_bytes, failed)
    else:
        raise ValueError(f"unknown format {fmt}")
    async for chunk in writer:
        yield chunk


def _failure(exc: Exception, failed: list[str]) -> str:
    """The message a failure midway ends the answer with (noted in ``failed``)."""
    if isinstance(exc, StreamError):
        message = str(exc)
    else:  # a value this writer cannot write: ours to fix, logged; the user is told plainly
        log.exception("a TAP answer could not be written")
        message = "the service could not write a value of the answer"
    failed.append(message)
    return message


async def _converted(rows: ResultRows) -> AsyncIterator[list[list[Any]]]:
    converters = [c.convert for c in rows.columns]
    if not any(converters):
        async for batch in rows:
            yield [list(r) for r in batch]
        return
    async for batch in rows:
        yield [
            [v if f is None or v is None else f(v) for f, v in zip(converters, r, strict=False)]
            for r in batch
        ]


def _td_writer(column: ResultColumn, field: votable.Field) -> Callable[[object], str] | None:
    convert = column.convert
    if convert is None:
        return None
    write = votable.cell(field.datatype, field.resolved_arraysize())

    def converted(value: object) -> str:
        return "" if value is None else write(convert(value))

    return converted


async def _raw(rows: ResultRows) -> AsyncIterator[Sequence[Sequence[Any]]]:
    async for batch in rows:
        yield batch


async def _votable(
    rows: ResultRows,
    descriptors: Sequence[votable.ServiceDescriptor],
    *,
    binary2: bool,
    chunk_bytes: int,
    runid: str | None = None,
    failed: list[str] | None = None,
) -> AsyncIterator[bytes]:
    failed = failed if failed is not None else []
    fields = [c.field() for c in rows.columns]
    resource = votable.Resource(infos=(_OK,) if runid is None else (_OK, votable.Info("RUNID", runid)))
    # the document's head: the writer with no rows, cut before its data ends
    empty = votable.document(fields, [], resource=resource, binary2=binary2).decode()
    marker = '     <STREAM encoding="base64">\n' if binary2 else "    <TABLEDATA>\n"
    head = empty[: empty.index(marker) + len(marker)]
    yield head.encode()
    encoder = votable.Binary2Encoder(fields) if binary2 else None
    # TABLEDATA: each column's conversion folded into its TD writer (no converted copy of each row)
    writers = [_td_writer(c, f) for c, f in zip(rows.columns, fields, strict=True)]
    batches = _converted(rows) if encoder is not None else _raw(rows)
    error: str | None = None
    try:
        async for batch in batches:
            if encoder is not None:
                body = encoder.rows(batch)
            else:
                body = "".join(votable.tabledata(fields, batch, writers, chunk_bytes=chunk_bytes))
            if body:
                yield body.encode()
    except Exception as exc:
        error = _failure(exc, failed)
    close = (encoder.end() + "\n     </STREAM>\n    </BINARY2>\n") if encoder else "    </TABLEDATA>\n"
    trailer = [close, "   </DATA>\n  </TABLE>\n"]
    if error is not None:
        trailer.append(votable.Info("QUERY_STATUS", "ERROR", error).xml("  "))
    elif rows.overflow:
        trailer.append(_OVERFLOW.xml("  "))
    trailer.append(" </RESOURCE>\n")
    ids = votable.field_ids(fields)
    trailer += [d.xml(ids) for d in descriptors if d.field in ids]
    trailer.append(votable.TAIL)
    yield "".join(trailer).encode()


# ------------------------------------------------------------------------------------------ delimited


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return " ".join(_text(v) for v in value)
    return str(value)


async def _delimited(
    rows: ResultRows, delimiter: str, chunk_bytes: int, failed: list[str]
) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def write(values: Sequence[str]) -> None:
        if delimiter == ",":
            writer.writerow(values)
        else:  # TSV: tabs and line ends inside a value become spaces (TSV has no quoting)
            buffer.write("\t".join(re.sub(r"[\t\r\n]", " ", v) for v in values) + "\n")

    write([c.name for c in rows.columns])
    try:
        async for batch in _converted(rows):
            for row in batch:
                write([_text(v) for v in row])
            if buffer.tell() >= chunk_bytes:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
    except Exception as exc:  # the file ends with the message where a reader will see it
        write([f"ERROR: {_failure(exc, failed)}"])
    yield buffer.getvalue().encode()


# ------------------------------------------------------------------------------------------------ JSON


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (datetime, date, time, UUID, Decimal)):
        return str(value)
    return value


async def _json(rows: ResultRows, chunk_bytes: int, failed: list[str]) -> AsyncIterator[bytes]:
    columns = [
        {k: v for k, v in c._asdict().items() if k != "convert" and v is not None} for c in rows.columns
    ]
    yield b'{"columns":' + msgspec.json.encode(columns) + b',"rows":['
    first = True
    error: str | None = None
    try:
        async for batch in _converted(rows):
            parts = []
            for row in batch:
                encoded = msgspec.json.encode([_json_value(v) for v in row])
                parts.append(encoded if first else b"," + encoded)
                first = False
            if parts:
                yield b"".join(parts)
    except Exception as exc:
        error = _failure(exc, failed)
    tail = b'],"overflow":' + (b"true" if rows.overflow and error is None else b"false")
    if error is not None:
        tail += b',"error":' + msgspec.json.encode(error)
    yield tail + b"}"
