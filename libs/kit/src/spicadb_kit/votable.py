"""VOTable 1.4 answers of the VO endpoints (whose namespace is still VOTable/v1.3, as the standard says;
Aspro2's XSL ignores namespaces), written by hand (TABLEDATA, strings with arraysize="*"): fast enough for a
cone search's latency budget, and exactly the shapes ObsPortal, Aspro2 and DataLink clients read (no astropy
unit rewriting, no fixed string sizes). The services add their protocol's documents (SCS and DALI errors,
DataLink tables) on top."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' xsi:schemaLocation="http://www.ivoa.net/xml/VOTable/v1.3 http://www.ivoa.net/xml/VOTable/v1.4">\n'
)
TAIL = "</VOTABLE>\n"
MEDIA_TYPE = "application/x-votable+xml"

# XML special characters, and the control characters XML 1.0 cannot carry at all (dropped)
_ESCAPES = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;"}
_ESCAPES.update({c: None for c in range(32) if c not in (9, 10, 13)})  # type: ignore[misc]


def escape(text: str) -> str:
    # most texts need nothing: a few scans in C, not a translation call (~1 us each, 20 a row)
    if text.isprintable() and "&" not in text and "<" not in text and ">" not in text and '"' not in text:
        return text
    return text.translate(_ESCAPES)


class Field(NamedTuple):
    name: str
    datatype: str  # unicodeChar, char, double, int or long
    ucd: str | None = None
    unit: str | None = None
    ref: str | None = None

    def xml(self) -> str:
        attributes = [f'ID="{self.name}"', f'name="{self.name}"', f'datatype="{self.datatype}"']
        if self.datatype in ("unicodeChar", "char"):
            attributes.append('arraysize="*"')
        if self.ucd:
            attributes.append(f'ucd="{self.ucd}"')
        if self.unit:
            attributes.append(f'unit="{self.unit}"')
        if self.ref:
            attributes.append(f'ref="{self.ref}"')
        return f"   <FIELD {' '.join(attributes)}/>\n"


def _double(value: float | None) -> str:
    if value is None or value != value:  # None or NaN
        return "NaN"
    return repr(float(value))


def _int(value: int | None) -> str:
    return "" if value is None else str(int(value))


def _char(value: str | None) -> str:
    """A cell's text: in element content only ``&`` and ``<`` (and ``>``, for ``]]>``) need escaping,
    so quotes stay as they are (a JSON log is full of them); control characters are dropped."""
    if value is None:
        return ""
    if value.isprintable() and "&" not in value and "<" not in value and ">" not in value:
        return value
    return value.translate(_ESCAPES)


_FORMATS = {"double": _double, "int": _int, "long": _int, "unicodeChar": _char, "char": _char}


def param(name: str, value: str, *, ucd: str | None = None) -> str:
    extra = f' ucd="{ucd}"' if ucd else ""
    return (
        f'  <PARAM ID="{name}" name="{name}" datatype="unicodeChar" arraysize="*"{extra}'
        f' value="{escape(value)}"/>\n'
    )


def info(name: str, value: str, indent: str = "  ", text: str = "") -> str:
    if text:
        return f'{indent}<INFO name="{name}" value="{escape(value)}">{escape(text)}</INFO>\n'
    return f'{indent}<INFO name="{name}" value="{escape(value)}"/>\n'


def table(
    fields: Sequence[Field],
    rows: Iterable[Sequence[object]],
    *,
    resource_head: str = "",
    resource_tail: str = "",
) -> str:
    """A whole VOTable: one RESOURCE type="results" with ``resource_head`` (PARAMs, INFOs, COOSYS)
    and one TABLE of ``fields`` holding ``rows`` (values in the order of the fields; any value past
    the last field is not written)."""
    formats = [_FORMATS[f.datatype] for f in fields]
    parts = [HEAD, ' <RESOURCE type="results">\n', resource_head, "  <TABLE>\n"]
    parts += [f.xml() for f in fields]
    parts.append("   <DATA>\n    <TABLEDATA>\n")
    join = "</TD><TD>".join
    append = parts.append
    for row in rows:
        cells = join([fmt(v) for fmt, v in zip(formats, row, strict=False)])  # type: ignore[operator]
        append(f"<TR><TD>{cells}</TD></TR>\n")
    parts.append("    </TABLEDATA>\n   </DATA>\n  </TABLE>\n")
    parts.append(resource_tail)
    parts.append(" </RESOURCE>\n")
    parts.append(TAIL)
    return "".join(parts)
