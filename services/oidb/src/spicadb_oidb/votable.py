"""DataLink 1.1 {links} answers and DALI errors: VOTable 1.4 (namespace VOTable/v1.3, as the standard
keeps it), TABLEDATA, written by hand (the fixed columns of DataLink, no astropy writer)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' xsi:schemaLocation="http://www.ivoa.net/xml/VOTable/v1.3 http://www.ivoa.net/xml/VOTable/v1.4">\n'
)
TAIL = "</VOTABLE>\n"
MEDIA_TYPE = "application/x-votable+xml"
DATALINK_MEDIA_TYPE = "application/x-votable+xml;content=datalink"
STANDARD_ID = "ivo://ivoa.net/std/DataLink#links-1.1"

# XML special characters; the control characters XML 1.0 cannot carry are dropped
_ESCAPES: dict[int, str | None] = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;"}
_ESCAPES.update({c: None for c in range(32) if c not in (9, 10, 13)})


def escape(text: str) -> str:
    return text.translate(_ESCAPES)


class Link(NamedTuple):
    """One row of a {links} table: exactly one of access_url, service_def, error_message is set."""

    id: str
    access_url: str | None = None
    service_def: str | None = None
    error_message: str | None = None
    description: str | None = None
    semantics: str | None = None
    content_type: str | None = None
    content_length: int | None = None


# DataLink 1.1 §3.2: the required columns, in this order, with their UCDs (strings are char, "*")
_FIELDS = (
    ("ID", "char", "meta.id;meta.main", None),
    ("access_url", "char", "meta.ref.url", None),
    ("service_def", "char", "meta.ref", None),
    ("error_message", "char", "meta.code.error", None),
    ("description", "char", "meta.note", None),
    ("semantics", "char", "meta.code", None),
    ("content_type", "char", "meta.code.mime", None),
    ("content_length", "long", "phys.size;meta.file", "byte"),
)


def _field(name: str, datatype: str, ucd: str, unit: str | None) -> str:
    size = ' arraysize="*"' if datatype == "char" else ""
    units = f' unit="{unit}"' if unit else ""
    return f'   <FIELD name="{name}" datatype="{datatype}"{size} ucd="{ucd}"{units}/>\n'


def _cell(value: str | int | None) -> str:
    if value is None:
        return "<TD/>"
    if isinstance(value, int):
        return f"<TD>{value}</TD>"
    return f"<TD>{escape(value)}</TD>"


def links(rows: Iterable[Link]) -> str:
    """A whole {links} response: RESOURCE type="results" with the DataLink 1.1 standardID."""
    parts = [
        HEAD,
        ' <RESOURCE type="results">\n',
        f'  <INFO name="standardID" value="{STANDARD_ID}"/>\n',
        '  <INFO name="QUERY_STATUS" value="OK"/>\n',
        "  <TABLE>\n",
        *(_field(*f) for f in _FIELDS),
        "   <DATA>\n    <TABLEDATA>\n",
    ]
    parts += [f"<TR>{''.join(_cell(v) for v in row)}</TR>\n" for row in rows]
    parts.append("    </TABLEDATA>\n   </DATA>\n  </TABLE>\n </RESOURCE>\n")
    parts.append(TAIL)
    return "".join(parts)


def error(message: str) -> str:
    """A DALI error document: INFO QUERY_STATUS=ERROR with the message, in the results RESOURCE."""
    return (
        f'{HEAD} <RESOURCE type="results">\n'
        f'  <INFO name="QUERY_STATUS" value="ERROR">{escape(message)}</INFO>\n'
        f" </RESOURCE>\n{TAIL}"
    )
