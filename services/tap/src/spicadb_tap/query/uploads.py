"""TAP UPLOAD: a VOTable sent with the query (``UPLOAD=name,param:part`` and a multipart part), read
with astropy, bounded, and loaded into a temporary table of the query's transaction (COPY, as the tap
role, dropped with the transaction), readable by the reader role as ``TAP_UPLOAD.name``.

An upload by URL (``name,http(s)://...``) is fetched by :mod:`.remote` (bounded, public addresses only)
and read here the same way."""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import numpy as np

from ..adql import UPLOAD_NAME, upload_relation

__all__ = [
    "UploadColumn",
    "UploadError",
    "UploadTable",
    "load_upload",
    "parse_upload_parameter",
    "read_upload",
]

_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# VOTable datatype -> PostgreSQL type of the temporary table's column
_PG_TYPES = {
    "boolean": "boolean",
    "bit": "boolean",
    "unsignedByte": "smallint",
    "short": "smallint",
    "int": "integer",
    "long": "bigint",
    "float": "real",
    "double": "double precision",
    "char": "text",
    "unicodeChar": "text",
}


class UploadError(Exception):
    """An upload refused: the message names the upload."""


@dataclass(frozen=True)
class UploadColumn:
    name: str  # lower case: ADQL's regular identifiers fold to it
    pgtype: str


@dataclass(frozen=True)
class UploadTable:
    """An uploaded table: its ADQL name (``TAP_UPLOAD.<name>``), columns and rows."""

    name: str
    columns: tuple[UploadColumn, ...]
    rows: list[tuple[Any, ...]]


def parse_upload_parameter(value: str) -> list[tuple[str, str]]:
    """``UPLOAD``'s pairs: ``name,source`` separated by ``;``."""
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for item in (v.strip() for v in value.split(";")):
        if not item:
            continue
        name, comma, source = item.partition(",")
        name, source = name.strip(), source.strip()
        if not comma or not source:
            raise UploadError(f"UPLOAD {item!r}: write it as name,param:part")
        if not UPLOAD_NAME.match(name):
            raise UploadError(f"UPLOAD {name!r}: a table name is a letter then letters, digits or _")
        if name.lower() in seen:
            raise UploadError(f"UPLOAD {name}: named twice")
        seen.add(name.lower())
        pairs.append((name, source))
    return pairs


def _value(value: Any, pgtype: str) -> Any:
    if value is np.ma.masked or value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if pgtype == "text":
        return str(value)
    if pgtype == "timestamp":
        return _timestamp(str(value))
    if isinstance(value, float) and value != value:
        return None
    return value


def _timestamp(text: str) -> datetime | None:
    """A DALI timestamp (ISO 8601, UTC when no offset is given) as a naive UTC datetime."""
    if not text.strip():
        return None
    moment = datetime.fromisoformat(text.strip())
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def read_upload(name: str, data: bytes, max_rows: int) -> UploadTable:
    """The first table of a VOTable (any serialisation astropy reads), at most ``max_rows`` rows;
    array columns are refused."""
    from astropy.io.votable import parse

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            document = parse(io.BytesIO(data), verify="ignore")
            table = document.get_first_table()
    except Exception as exc:  # astropy raises many kinds on a malformed document
        raise UploadError(f"UPLOAD {name}: not a VOTable astropy can read ({type(exc).__name__})") from None
    columns: list[UploadColumn] = []
    for f in table.fields:
        field_name = f.name or f.ID or ""
        if not _COLUMN_NAME.match(field_name):
            raise UploadError(f"UPLOAD {name}: column {field_name!r} is not an ADQL name")
        strings = f.datatype in ("char", "unicodeChar")
        if not strings and f.arraysize not in (None, "1"):
            raise UploadError(f"UPLOAD {name}: column {field_name} is an array (not supported)")
        # a DALI timestamp stays one (its xtype comes back on the result's FIELD)
        pgtype = "timestamp" if strings and f.xtype == "timestamp" else _PG_TYPES.get(f.datatype)
        if pgtype is None:
            raise UploadError(
                f"UPLOAD {name}: column {field_name} has a datatype not supported ({f.datatype})"
            )
        if field_name.lower() in {c.name for c in columns}:
            raise UploadError(f"UPLOAD {name}: column {field_name} twice")
        columns.append(UploadColumn(field_name.lower(), pgtype))
    array = table.array
    if len(array) > max_rows:
        raise UploadError(f"UPLOAD {name}: {len(array)} rows, more than {max_rows}")
    rows = []
    for number, record in enumerate(array, start=1):
        try:
            rows.append(tuple(_value(record[i], c.pgtype) for i, c in enumerate(columns)))
        except ValueError:
            raise UploadError(f"UPLOAD {name}: row {number} has a timestamp that is not ISO 8601") from None
    return UploadTable(name, tuple(columns), rows)


async def load_upload(conn: asyncpg.Connection, upload: UploadTable, reader: str) -> None:
    """The upload as a temporary table of the current transaction (dropped at its end), readable by
    ``reader``."""
    relation = upload_relation(upload.name)
    columns = ", ".join(f'"{c.name}" {c.pgtype}' for c in upload.columns)
    await conn.execute(f'CREATE TEMPORARY TABLE "{relation}" ({columns}) ON COMMIT DROP')
    if upload.rows:
        await conn.copy_records_to_table(
            relation, records=upload.rows, columns=[c.name for c in upload.columns], schema_name="pg_temp"
        )
    await conn.execute(f'GRANT SELECT ON pg_temp."{relation}" TO "{reader}"')
