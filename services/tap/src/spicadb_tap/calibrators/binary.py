"""A VOTable's BINARY or BINARY2 data read as a stream: the inline base64 STREAM decoded a block at a
time and cut into rows, each cell given as the text TABLEDATA would hold (so one row mapper serves both).

VOTable 1.4 §5: cells in FIELD order, big-endian; a variable-length array (``arraysize="*"`` or ``"n*"``)
is preceded by its element count (4 bytes); BINARY2 puts before each row a bitmap of its null cells (one
bit per FIELD, most significant first). Only inline streams are read (``encoding="base64"``); a STREAM
that points elsewhere (``href``) is refused.
"""

from __future__ import annotations

import base64
import math
import re
import struct
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .votable import Field, VOTableError

__all__ = ["binary_rows"]

_STREAM = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(BINARY2?)\b[^>]*>\s*<(?:[A-Za-z_][\w.-]*:)?STREAM\b([^>]*)>")
_STREAM_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?STREAM\s*>")
_WHITESPACE = re.compile(rb"\s+")
_BLOCK = 1 << 20

# datatype -> (struct code, bytes per element)
_NUMBERS = {
    "unsignedByte": ("B", 1),
    "short": ("h", 2),
    "int": ("i", 4),
    "long": ("q", 8),
    "float": ("f", 4),
    "double": ("d", 8),
    "floatComplex": ("ff", 8),
    "doubleComplex": ("dd", 16),
}
_COUNT = struct.Struct(">i")

# a cell reader: (the decoded bytes, where the cell starts) -> (its text or None, where the next starts);
# it raises IndexError/struct.error when the bytes end inside the cell (the row is read again with more)
Reader = Callable[[bytes, int], tuple[str | None, int]]


def _elements(arraysize: str) -> int | None:
    """The element count of a fixed arraysize ("3", "2x3"); None when variable ("*", "10*")."""
    size = arraysize.strip()
    if not size:
        return 1
    if size.endswith("*"):
        return None
    return math.prod(int(part) for part in size.split("x"))


def _number_text(value: float | int) -> str | None:
    if isinstance(value, float):
        return None if value != value else repr(value)
    return str(value)


def _reader(field: Field) -> Reader:
    count = _elements(field.arraysize)
    if field.datatype in ("char", "unicodeChar"):
        width, codec = (1, "latin-1") if field.datatype == "char" else (2, "utf-16-be")

        def text(data: bytes, at: int) -> tuple[str | None, int]:
            n = count
            if n is None:
                n = _COUNT.unpack_from(data, at)[0]
                at += 4
            end = at + n * width
            if end > len(data):
                raise IndexError
            value = data[at:end].decode(codec).split("\0", 1)[0].strip()
            return value or None, end

        return text
    if field.datatype == "boolean":

        def flag(data: bytes, at: int) -> tuple[str | None, int]:
            n = count if count is not None else _COUNT.unpack_from(data, at)[0]
            start = at if count is not None else at + 4
            end = start + n
            if end > len(data):
                raise IndexError
            first = data[start : start + 1]
            return ("T" if first in b"Tt1" else "F" if first in b"Ff0" else None) if n else None, end

        return flag
    if field.datatype in _NUMBERS:
        code, size = _NUMBERS[field.datatype]
        scalar = struct.Struct(">" + code) if count == 1 else None

        def numbers(data: bytes, at: int) -> tuple[str | None, int]:
            if scalar is not None:
                return _number_text(scalar.unpack_from(data, at)[0]), at + size
            n = count if count is not None else _COUNT.unpack_from(data, at)[0]
            start = at if count is not None else at + 4
            end = start + n * size
            if end > len(data):
                raise IndexError
            values = struct.unpack_from(f">{n * len(code)}{code[0]}", data, start)
            return " ".join(t for v in values if (t := _number_text(v)) is not None) or None, end

        return numbers
    raise VOTableError(f"FIELD {field.name}: datatype {field.datatype!r} cannot be read from a BINARY stream")


# a run of fixed-size scalar cells read by one struct: (the decoded bytes, where the run starts) ->
# (the cells' texts, where the next starts)
Segment = Callable[[bytes, int], tuple[list[str | None], int]]


def _fixed(field: Field) -> tuple[str, Callable[[Any], str | None]] | None:
    """(struct code, converter) of a fixed-size scalar cell; None for arrays and variable lengths."""
    count = _elements(field.arraysize)
    if field.datatype == "char" and count is not None:
        return f"{count}s", _latin1
    if field.datatype == "unicodeChar" and count is not None:
        return f"{2 * count}s", _utf16
    if count != 1:
        return None
    if field.datatype == "boolean":
        return "c", _FLAGS.get
    if field.datatype in ("float", "double"):
        return _NUMBERS[field.datatype][0], _float_text
    if field.datatype in ("unsignedByte", "short", "int", "long"):
        return _NUMBERS[field.datatype][0], str
    return None


def _latin1(value: bytes) -> str | None:
    return value.decode("latin-1").split("\0", 1)[0].strip() or None


def _utf16(value: bytes) -> str | None:
    return value.decode("utf-16-be").split("\0", 1)[0].strip() or None


def _float_text(value: float) -> str | None:
    return None if value != value else repr(value)


_FLAGS: dict[bytes, str] = {b"T": "T", b"t": "T", b"1": "T", b"F": "F", b"f": "F", b"0": "F"}


def _segments(fields: Sequence[Field]) -> list[Segment]:
    """The row's layout: runs of fixed-size scalars (one struct each), and the other cells one by one."""
    segments: list[Segment] = []
    codes: list[str] = []
    converters: list[Callable[[Any], str | None]] = []

    def close_run() -> None:
        if codes:
            segments.append(_run(struct.Struct(">" + "".join(codes)), list(converters)))
            codes.clear()
            converters.clear()

    for field in fields:
        fixed = _fixed(field)
        if fixed is None:
            close_run()
            segments.append(_single(_reader(field)))
        else:
            codes.append(fixed[0])
            converters.append(fixed[1])
    close_run()
    return segments


def _run(layout: struct.Struct, converters: list[Callable[[Any], str | None]]) -> Segment:
    size = layout.size

    def read(data: bytes, at: int) -> tuple[list[str | None], int]:
        values = layout.unpack_from(data, at)
        return [convert(v) for convert, v in zip(converters, values, strict=True)], at + size

    return read


def _single(reader: Reader) -> Segment:
    def read(data: bytes, at: int) -> tuple[list[str | None], int]:
        value, after = reader(data, at)
        return [value], after

    return read


def binary_rows(path: Path, fields: Sequence[Field]) -> Iterator[list[str | None]]:
    """The rows of the document's first BINARY or BINARY2 STREAM (inline, base64)."""
    readers = _segments(fields)
    width = len(fields)
    with path.open("rb") as stream:
        text = stream.read(_BLOCK)
        start = _STREAM.search(text)
        while start is None:
            more = stream.read(_BLOCK)
            if not more:
                raise VOTableError("the table's BINARY STREAM cannot be found")
            text = text[-4096:] + more
            start = _STREAM.search(text)
        attributes = start[2].decode("ascii", "replace")
        if "href" in attributes:
            raise VOTableError(
                "the table's BINARY STREAM points to another file (href): only inline streams are read"
            )
        if "base64" not in attributes:
            raise VOTableError("the table's BINARY STREAM is not base64-encoded")
        nulls = (width + 7) // 8 if start[1] == b"BINARY2" else 0
        yield from _decode(stream, text[start.end() :], readers, nulls)


def _decode(stream: object, pending: bytes, readers: list[Segment], nulls: int) -> Iterator[list[str | None]]:
    read = stream.read  # type: ignore[attr-defined]
    data = b""
    characters = b""
    ended = False
    while not ended:
        end = _STREAM_END.search(pending)
        if end is not None:
            characters += _WHITESPACE.sub(b"", pending[: end.start()])
            ended = True
        else:
            more = read(_BLOCK)
            if not more:
                raise VOTableError("the file ends inside the table's BINARY STREAM")
            # keep a possible partial end tag for the next search
            characters += _WHITESPACE.sub(b"", pending[:-16])
            pending = pending[-16:] + more
            if len(characters) < 4:
                continue
        usable = len(characters) if ended else len(characters) - len(characters) % 4
        try:
            data += base64.b64decode(characters[:usable], validate=True)
        except ValueError:
            raise VOTableError("the table's BINARY STREAM is not valid base64") from None
        characters = characters[usable:]
        at = 0
        while at < len(data):
            row, after = _row(data, at, readers, nulls)
            if row is None:
                break
            yield row
            at = after
        data = data[at:]
    if data:
        raise VOTableError("the table's BINARY STREAM ends inside a row")


def _row(data: bytes, at: int, readers: list[Segment], nulls: int) -> tuple[list[str | None] | None, int]:
    """One row from ``at`` (and where the next starts), or (None, at) when the bytes end inside it."""
    try:
        flags = data[at : at + nulls]
        if len(flags) < nulls:
            return None, at
        at += nulls
        cells: list[str | None] = []
        for read in readers:
            values, at = read(data, at)
            cells += values
        if nulls and any(flags):
            for index in range(len(cells)):
                if flags[index >> 3] & (0x80 >> (index & 7)):
                    cells[index] = None
        return cells, at
    except (IndexError, struct.error):
        return None, at
