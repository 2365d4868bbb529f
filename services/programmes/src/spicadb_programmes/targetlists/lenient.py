"""VOTables read the way TOPCAT and Aspro2 read them, where astropy's reader is strict or unsafe:

- a TABLEDATA row a cell short gets nulls for its missing cells, a row with cells too many loses the
  extras, each reported as a warning naming the row (astropy stops at "E21: Data has fewer columns");
- a FITS serialization whose STREAM holds the data inline (base64) is read with astropy.io.fits;
- data by reference (``STREAM href``) is refused: astropy would open the URL, a file of this machine
  included, on behalf of whoever sent the list;
- the units as the FIELDs write them (astropy rewrites ``mas/yr`` as ``mas / yr``), so that an export
  writes them back unchanged.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.io.votable import parse
from astropy.table import Table

from ..models import ImportNotice
from .common import TargetListError

_HREF = re.compile(rb"<STREAM\b[^>]*\bhref\s*=", re.IGNORECASE)
_FIELD = re.compile(r"<FIELD\b([^>]*?)/?>")
_ATTRIBUTE = re.compile(r"""([A-Za-z_:][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ROW = re.compile(r"<TR\b[^>]*>(.*?)</TR>", re.DOTALL)
_CELL = re.compile(r"<TD\b[^>]*?(?:/>|>.*?</TD>)", re.DOTALL)
_FITS = re.compile(rb"<FITS\b([^>]*)>\s*<STREAM\b([^>]*)>(.*?)</STREAM>\s*</FITS>", re.DOTALL | re.IGNORECASE)
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'"}


def refuse_references(body: bytes) -> None:
    if _HREF.search(body):
        raise TargetListError(
            "The VOTable points to its data elsewhere (STREAM href); SPICA-DB reads only the data the "
            "document holds: send it as TABLEDATA, BINARY, BINARY2 or inline FITS."
        )


def _attributes(text: str) -> dict[str, str]:
    out = {}
    for name, double, single in _ATTRIBUTE.findall(text):
        value = double if double or not single else single
        for entity, char in _ENTITIES.items():
            value = value.replace(entity, char)
        out[name] = value
    return out


def _header(body: bytes) -> str:
    end = body.find(b"<DATA")
    return body[: end if end >= 0 else len(body)].decode("utf-8", "replace")


def field_units(body: bytes) -> dict[str, str]:
    """FIELD name -> unit as written, for the FIELDs before the first DATA."""
    units: dict[str, str] = {}
    for match in _FIELD.finditer(_header(body)):
        attrs = _attributes(match.group(1))
        name = attrs.get("name") or attrs.get("ID")
        if name and "unit" in attrs:
            units.setdefault(name, attrs["unit"])
    return units


def field_unit_texts(body: bytes) -> list[str | None]:
    """The unit of each FIELD before the first DATA, in order, as an XML parser hands it (blanks as spaces)."""
    units = []
    for match in _FIELD.finditer(_header(body)):
        unit = _attributes(match.group(1)).get("unit")
        units.append(None if unit is None else unit.translate(_BLANKS))
    return units


_BLANKS = str.maketrans("\t\n\r", "   ")


def even_rows(body: bytes, notices: list[ImportNotice]) -> bytes | None:
    """The document with every TABLEDATA row of its one table as wide as its FIELDs (short rows padded
    with empty cells, long rows cut), one notice per row changed; None when no row was."""
    start = body.find(b"<TABLEDATA>")
    if start < 0 or body.find(b"<TABLEDATA", start + 1) >= 0:
        return None
    start += len(b"<TABLEDATA>")
    end = body.find(b"</TABLEDATA>", start)
    if end < 0:
        return None
    try:
        content = body[start:end].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "<![CDATA[" in content or "<!--" in content:
        return None
    names = [
        _attributes(m.group(1)).get("name") or _attributes(m.group(1)).get("ID") or f"#{k + 1}"
        for k, m in enumerate(_FIELD.finditer(_header(body)))
    ]
    width = len(names)
    if not width:
        return None
    rows: list[str] = []
    changed = False
    for number, row in enumerate(_ROW.finditer(content), start=1):
        cells = _CELL.findall(row.group(1))
        if len(cells) < width:
            missing = names[len(cells) :]
            shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            notices.append(
                ImportNotice(f"{len(cells)} cells for {width} columns: {shown} read as null", row=number)
            )
            cells += ["<TD/>"] * (width - len(cells))
            changed = True
        elif len(cells) > width:
            notices.append(
                ImportNotice(
                    f"{len(cells)} cells for {width} columns: the {len(cells) - width} last dropped",
                    row=number,
                )
            )
            cells = cells[:width]
            changed = True
        rows.append("<TR>" + "".join(cells) + "</TR>")
    if not changed:
        return None
    return body[:start] + ("\n" + "\n".join(rows) + "\n").encode("utf-8") + body[end:]


def read_fits(body: bytes) -> tuple[Any, Any, int, Any] | None:
    """(document, table, rows, values of column k) of a VOTable whose data is an inline FITS table;
    None when its data is not FITS."""
    match = _FITS.search(body)
    if match is None:
        return None
    fits_attrs = _attributes(match.group(1).decode("ascii", "replace"))
    stream_attrs = _attributes(match.group(2).decode("ascii", "replace"))
    encoding = stream_attrs.get("encoding", "").lower()
    try:
        raw = base64.b64decode(match.group(3), validate=False) if encoding == "base64" else match.group(3)
        if encoding == "gzip" or raw[:2] == b"\x1f\x8b":
            import gzip

            raw = gzip.decompress(raw)
        extension = int(fits_attrs.get("extnum", "1") or 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(io.BytesIO(raw), memmap=False) as hdus:
                data = Table(hdus[extension].data, masked=True)
    except (binascii.Error, OSError, ValueError, IndexError, TypeError) as exc:
        raise TargetListError(f"The VOTable's FITS data cannot be read: {exc}") from None
    rest = body[: body.rfind(b"<DATA", 0, match.start())] + body[body.find(b"</DATA>", match.end()) + 7 :]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            document = parse(io.BytesIO(rest), verify="ignore")
    except Exception as exc:
        raise TargetListError(f"Not a readable VOTable: {exc}") from None
    table = next(iter(document.iter_tables()), None)
    if table is None or len(table.fields) != len(data.columns):
        raise TargetListError("The VOTable's FITS data does not have one column per FIELD.")

    def column_values(k: int, field: str) -> Any:
        column = data.columns[k]
        array = np.ma.asarray(column)
        if array.ndim != 1:
            return None
        if array.dtype.kind in "fiu":
            return array
        values = array.tolist()
        out: list[Any] = []
        for v in values:
            if isinstance(v, bytes):
                v = v.decode("utf-8", "replace")
            out.append(v.strip() if isinstance(v, str) else v)
        return out

    return document, table, len(data), column_values
