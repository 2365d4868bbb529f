"""A VOTable's first table read as a stream: its FIELDs, its COOSYS, then its rows one at a time.

Catalogues run to hundreds of thousands of rows, so the document is never held whole: ElementTree's
``iterparse`` (expat) reads the header, then the TABLEDATA is read in blocks of whole rows (about 1 MiB),
each dropped once its rows are read, so memory stays flat whatever the file's size. A block written as
SearchCal and VizieR write TABLEDATA (``<TR><TD>text</TD><TD/>...</TR>``, nothing else in it: no entity,
comment, CDATA or attribute, which a count of its ``<`` proves) is split by two regular expressions,
several times cheaper than building its elements; any other block is parsed by expat.

SearchCal, GetStar and VizieR's JSDC write TABLEDATA; inline BINARY and BINARY2 streams (TOPCAT's,
astropy's) are read by :mod:`.binary`; FITS is refused.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Coosys", "Field", "Header", "VOTableError", "read_header", "read_votable"]


class VOTableError(ValueError):
    """The file is not a VOTable this reader can read (message for the user)."""


@dataclass(frozen=True)
class Field:
    """One FIELD of the table, as declared (``index``: its cell's position in a row)."""

    index: int
    name: str
    datatype: str
    ucd: str = ""
    unit: str = ""
    arraysize: str = ""
    id: str = ""
    ref: str = ""


@dataclass(frozen=True)
class Coosys:
    """A COOSYS: the coordinate system of the positions that refer to it (or of all, when alone)."""

    id: str
    system: str
    equinox: str
    epoch: str


@dataclass(frozen=True)
class Header:
    """What a VOTable says about its first table before the rows."""

    fields: tuple[Field, ...]
    coosys: tuple[Coosys, ...]
    table_name: str


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def read_votable(path: Path) -> tuple[Header, Iterator[list[str | None]]]:
    """The first table's header, and an iterator over its rows (each the list of its cells' texts, one
    per FIELD, None or "" for an empty cell). Raises VOTableError when the file is not a readable VOTable."""
    rows = _rows(path)
    header = next(rows)
    assert isinstance(header, Header)
    return header, rows  # type: ignore[return-value]


def read_header(path: Path) -> Header:
    """The first table's header alone (the file closed after it)."""
    rows = _rows(path)
    try:
        header = next(rows)
    finally:
        rows.close()
    assert isinstance(header, Header)
    return header


def _rows(path: Path) -> Generator[Header | list[str | None], None, None]:
    fields: list[Field] = []
    coosys: list[Coosys] = []
    table_name = ""
    events = ET.iterparse(path, events=("start", "end"))
    try:
        # the header: everything up to the table's DATA
        for event, elem in events:
            tag = _local(elem.tag)
            if event == "start":
                if (
                    tag == "TABLE"
                ):  # the table with the data is the one read (a table before it may have none)
                    table_name = elem.get("name", "")
                    fields = []
                elif tag == "DATA":
                    break
                continue
            if tag == "FIELD":
                fields.append(
                    Field(
                        index=len(fields),
                        name=elem.get("name", ""),
                        datatype=elem.get("datatype", "char"),
                        ucd=elem.get("ucd", ""),
                        unit=elem.get("unit", ""),
                        arraysize=elem.get("arraysize", ""),
                        id=elem.get("ID", ""),
                        ref=elem.get("ref", ""),
                    )
                )
            elif tag == "COOSYS":
                coosys.append(
                    Coosys(
                        elem.get("ID", ""),
                        elem.get("system", ""),
                        elem.get("equinox", ""),
                        elem.get("epoch", ""),
                    )
                )
            if tag in ("FIELD", "PARAM", "GROUP", "INFO", "DESCRIPTION", "LINK", "VALUES"):
                elem.clear()
        else:
            raise VOTableError("the file has no table with data (no DATA element)")
        if not fields:
            raise VOTableError("the table declares no FIELD")
        tabledata = _serialisation(events)
        yield Header(tuple(fields), tuple(coosys), table_name)
    except ET.ParseError as exc:
        raise VOTableError(f"not well-formed XML: {exc}") from None
    if _local(tabledata.tag) == "TABLEDATA":
        yield from _tabledata(path, tabledata, len(fields))
    else:
        from .binary import binary_rows

        yield from binary_rows(path, fields)


def _serialisation(events: Iterator[tuple[str, ET.Element]]) -> ET.Element:
    """The DATA's first child (TABLEDATA, BINARY or BINARY2), read by the header's parser; VOTableError for
    FITS."""
    for event, elem in events:
        tag = _local(elem.tag)
        if event == "start":
            if tag in ("TABLEDATA", "BINARY", "BINARY2"):
                return elem
            if tag == "FITS":
                raise VOTableError(
                    "the table's data is FITS: the catalogue import reads TABLEDATA, BINARY and BINARY2 (write "
                    "the VOTable with TABLEDATA, e.g. with TOPCAT or STILTS tcopy ofmt=votable-tabledata)"
                )
    raise VOTableError("the table's DATA holds no TABLEDATA, BINARY or BINARY2")


_TABLEDATA = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?TABLEDATA\b[^>]*>")
_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding=["']([A-Za-z0-9._-]+)["']""")
_BLOCK = 1 << 20


def _tabledata(path: Path, tabledata: ET.Element, width: int) -> Iterator[list[str | None]]:
    """The rows of the document's TABLEDATA, read from the file in blocks of whole rows: each block is
    parsed by expat (entities, CDATA, attributes, comments as XML has them) and its rows iterated in C,
    which is several times cheaper than an event per cell."""
    namespace = tabledata.tag[1:].partition("}")[0] if tabledata.tag.startswith("{") else ""
    with path.open("rb") as stream:
        buffer = stream.read(_BLOCK)
        declared = _ENCODING.match(buffer)
        encoding = declared[1].decode() if declared else "utf-8"
        start = _TABLEDATA.search(buffer)
        while start is None:
            more = stream.read(_BLOCK)
            if not more:
                raise VOTableError("the table's TABLEDATA cannot be found")
            buffer = buffer[-64:] + more
            start = _TABLEDATA.search(buffer)
        prefix = start[1].decode() if start[1] else ""
        qualify = f"{prefix}:" if prefix else ""
        close = f"</{qualify}TABLEDATA>".encode()
        row_end = f"</{qualify}TR>".encode()
        xmlns = f' xmlns{":" + prefix if prefix else ""}="{namespace}"' if namespace else ""
        element = f"{prefix}:TABLEDATA" if prefix else "TABLEDATA"
        opening = f'<?xml version="1.0" encoding="{encoding}"?><{element}{xmlns}>'.encode(encoding)
        closing = f"</{element}>".encode(encoding)
        buffer = buffer[start.end() :]
        row = 0
        ended = False
        while not ended:
            end = buffer.find(close)
            if end >= 0:
                block, ended = buffer[:end], True
            else:
                more = stream.read(_BLOCK)
                if not more:
                    raise VOTableError("the file ends inside the table's TABLEDATA")
                cut = buffer.rfind(row_end)
                if cut < 0:
                    buffer += more
                    continue
                cut += len(row_end)
                block, buffer = buffer[:cut], buffer[cut:] + more
            plain = None if prefix else _plain_rows(block, encoding)
            if plain is None:
                try:
                    tree = ET.fromstring(opening + block + closing)
                except ET.ParseError as exc:
                    raise VOTableError(f"not well-formed XML after row {row}: {exc}") from None
                plain = [[td.text for td in tr] for tr in tree]
            for cells in plain:
                if len(cells) != width:
                    cells = (cells + [None] * width)[:width]
                row += 1
                yield cells


_TD = re.compile(r"<TD>([^<]*)</TD>|<TD/>")


def _plain_rows(block: bytes, encoding: str) -> list[list[str | None]] | None:
    """The rows of a block written as SearchCal and VizieR write them (``<TR><TD>text</TD><TD/>...``,
    nothing else), read without building elements; None when the block holds anything else (comments,
    CDATA, entities, attributes, other elements), which expat then reads. Exact: every ``<`` of the block
    must belong to a TR or TD tag that was read."""
    if b"&" in block:
        return None
    text = block.decode(encoding)
    cells: list[str | None] = _TD.findall(text)
    pieces = text.split("<TR>")[1:]  # one per row
    empty = text.count("<TD/>")
    if text.count("<") != 2 * len(pieces) + 2 * (len(cells) - empty) + empty:
        return None
    rows: list[list[str | None]] = []
    at = 0
    for piece in pieces:
        width = piece.count("<TD")
        rows.append(cells[at : at + width])
        at += width
    return rows
