"""A large TABLEDATA list read in slices of rows, so that the import can COPY a slice while the next one
is read (the parse and PostgreSQL's side of the COPY then use the two cores at once).

Only what merges back exactly into the list :func:`parse_votable` reads whole is accepted: every slice
read with the same header (columns, properties, ignored columns), no notice tied to a row, placeholder
notices whose words are all shown. Anything else answers None, and the import reads the list whole.
"""

from __future__ import annotations

import ast
import re

import msgspec

from spicadb_kit.tabular import Placeholders

from ..models import ImportNotice
from .common import ParsedList
from .votable import parse_votable

_PLACEHOLDER_NOTICE = re.compile(r"(\d+) cells? read as null \((.*)\)")
SLICE_ROWS = 1000
MAX_SLICES = 8
_SHOWN = 5  # the words a placeholder notice shows (spicadb_kit.tabular.Placeholders.message)


def split_rows(
    body: bytes, content_type: str | None, *, most: int | None = None
) -> list[tuple[int, bytes]] | None:
    """Slices of a large VOTable list (at least two of at least SLICE_ROWS rows, at most MAX_SLICES):
    documents of the one TABLEDATA table's rows in order, each with the whole header, and the number of
    rows before each; None for any other list (a small one, other formats, comments, CDATA, rows with
    attributes, one of more than ``most`` rows)."""
    from . import MEDIA_TYPES, _sniff

    media = (content_type or "").split(";", 1)[0].strip().lower()
    if MEDIA_TYPES.get(media, _sniff(body) if media in ("", "application/octet-stream") else "") != "votable":
        return None
    start = body.find(b"<TABLEDATA>")
    if start < 0 or body.find(b"<TABLEDATA", start + 1) >= 0:
        return None
    start += len(b"<TABLEDATA>")
    end = body.find(b"</TABLEDATA>", start)
    if end < 0:
        return None
    content = body[start:end]
    if b"<!--" in content or b"<![CDATA[" in content or b"<TR " in content:
        return None
    opens = [m.start() for m in re.finditer(rb"<TR>", content)]
    parts = min(MAX_SLICES, len(opens) // SLICE_ROWS)
    if most is not None and len(opens) > most:
        return None
    if parts < 2 or content.count(b"</TR>") != len(opens) or content[: opens[0]].strip():
        return None
    size = -(-len(opens) // parts)
    head, tail = body[:start], body[end:]
    out = []
    for first in range(0, len(opens), size):
        last = first + size
        stop = opens[last] if last < len(opens) else len(content)
        out.append((first, head + content[opens[first] : stop] + tail))
    return out


def read_slice(before: int, document: bytes) -> ParsedList:
    """One slice read as :func:`parse_votable` reads a list, its rows numbered as in the whole list."""
    parsed = parse_votable(document)
    if before:
        parsed.rows = [r + before for r in parsed.rows]
        parsed.errors = [msgspec.structs.replace(e, row=e.row + before) for e in parsed.errors]
    return parsed


def merge(slices: list[ParsedList]) -> ParsedList | None:
    """The slices as one list, exactly as the whole list reads; None when that cannot be told."""
    first = slices[0]
    for s in slices[1:]:
        if (s.columns, s.properties, s.ignored_columns) != (
            first.columns,
            first.properties,
            first.ignored_columns,
        ):
            return None
    placeholders: dict[str, Placeholders] = {}
    for s in slices:
        for notice in s.warnings:
            match = _PLACEHOLDER_NOTICE.fullmatch(notice.message)
            if notice.row is not None or notice.column is None or match is None:
                return None
            words = ast.literal_eval(f"({match.group(2)},)")
            if len(words) >= _SHOWN:
                return None  # maybe more than it shows
            entry = placeholders.setdefault(notice.column, Placeholders())
            entry.count += int(match.group(1))
            entry.texts.update(words)
    # the whole list reports its columns in the order it reads them, which every slice follows: a slice
    # naming them all gives that order
    orders = [[n.column for n in s.warnings] for s in slices]
    whole = max(orders, key=len)
    if len(whole) != len(placeholders) or any(o != [c for c in whole if c in o] for o in orders):
        return None
    notices = [ImportNotice(placeholders[name].message(), column=name) for name in whole if name]
    titles: dict[str, str] = {}
    for s in slices:
        titles.update(s.work_package_titles)
    return ParsedList(
        format=first.format,
        targets=[t for s in slices for t in s.targets],
        rows=[r for s in slices for r in s.rows],
        errors=[e for s in slices for e in s.errors],
        ignored_columns=first.ignored_columns,
        warnings=notices,
        columns=first.columns,
        properties=first.properties,
        work_package_titles=titles,
    )
