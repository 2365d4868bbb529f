"""The one VOTable writer of SPICA-DB: VOTable 1.4 documents (namespace still VOTable/v1.3, as the standard
says; Aspro2's XSL ignores namespaces), TABLEDATA, written by hand and streamed.

Why by hand: astropy's writer spells units its own way (``mas.yr**-1``, which Aspro2 drops), fixes string
sizes, and builds the whole table in memory; a cone search's latency budget and a 100,000-row export want
neither. What this module writes:

- RESOURCE with DESCRIPTION, INFO, COOSYS (system, epoch, equinox), PARAM, and one TABLE;
- TABLE with DESCRIPTION, FIELD (datatype, arraysize, unit, ucd, utype, xtype, ref, DESCRIPTION), PARAM,
  GROUP (FIELDref, PARAM), INFO after the data (TAP's OVERFLOW);
- INFO directly under VOTABLE (Simple Cone Search errors);
- rows as an iterator of bytes chunks (:func:`stream`), for a streamed response: TABLEDATA, or BINARY2
  (``binary2=True``: TAP's ``votable/b2``, base64 in the document);
- RESOURCEs of DataLink service descriptors after the results (:class:`ServiceDescriptor`).

One escaping rule for every text, attribute or element content (:func:`escape`). A null cell (``None``, or a
floating NaN) is an empty ``<TD/>`` whatever the datatype (VOTable 1.3 §6.1, the rule every reader follows;
Aspro2 takes a ``NaN`` text as a value).
"""

from __future__ import annotations

import base64
import functools
import re
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple

__all__ = [
    "HEAD",
    "MEDIA_TYPE",
    "SCHEMA_LOCATION",
    "TAIL",
    "Binary2Encoder",
    "Coosys",
    "Field",
    "Group",
    "Info",
    "Param",
    "Resource",
    "ServiceDescriptor",
    "binary2_cell",
    "cell",
    "document",
    "escape",
    "field_ids",
    "info",
    "param",
    "pieces",
    "stream",
    "table",
    "tabledata",
]

NAMESPACE = "http://www.ivoa.net/xml/VOTable/v1.3"
SCHEMA_LOCATION = "http://www.ivoa.net/xml/VOTable/votable-1.4.xsd"
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<VOTABLE version="1.4" xmlns="{NAMESPACE}"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    f' xsi:schemaLocation="{NAMESPACE} {SCHEMA_LOCATION}">\n'
)
TAIL = "</VOTABLE>\n"
MEDIA_TYPE = "application/x-votable+xml"

_FLOAT32 = struct.Struct("<f")
_CHUNK_BYTES = 64 * 1024  # a streamed piece: big enough to cost little per write, small enough to stream

# XML special characters, and what XML 1.0 cannot carry at all (C0 controls but tab and line ends, lone
# surrogates, U+FFFE and U+FFFF: dropped, or the document would not parse, or not encode)
_ESCAPES: dict[int, str | None] = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;"}
_ESCAPES.update({c: None for c in range(32) if c not in (9, 10, 13)})
_ESCAPES.update({c: None for c in range(0xD800, 0xE000)})
_ESCAPES.update({0xFFFE: None, 0xFFFF: None})


def escape(text: str) -> str:
    """``text`` as XML attribute value or element content: ``& < > "`` escaped, characters XML 1.0 cannot
    carry dropped. The one escaping rule of every VOTable SPICA-DB writes."""
    # most texts need nothing: a few scans in C, not a translation call (~1 us each, 20 a row)
    if text.isprintable() and "&" not in text and "<" not in text and ">" not in text and '"' not in text:
        return text
    return text.translate(_ESCAPES)


_NCNAME = re.compile(r"[A-Za-z_][\w.\-]*")
_NOT_NCNAME = re.compile(r"[^\w.\-]")


@functools.lru_cache(maxsize=4096)
def xml_id(name: str) -> str:
    """An XML ID (an NCName) for ``name``: itself when it is one, else with ``_`` for what cannot be
    (``2MASS`` becomes ``_2MASS``, ``Fe/H`` ``Fe_H``)."""
    if _NCNAME.fullmatch(name) and name.isascii():
        return name
    ident = _NOT_NCNAME.sub("_", name.encode("ascii", "replace").decode())
    return ident if ident[:1].isalpha() or ident[:1] == "_" else "_" + ident


def _attributes(pairs: Iterable[tuple[str, str | None]]) -> str:
    return "".join(f' {key}="{escape(value)}"' for key, value in pairs if value is not None)


def _description(text: str | None, indent: str) -> str:
    return f"{indent}<DESCRIPTION>{escape(text)}</DESCRIPTION>\n" if text else ""


_STRINGS = frozenset({"char", "unicodeChar"})


class Field(NamedTuple):
    """A FIELD. Strings default to ``arraysize="*"``; ``id`` defaults to the name made an XML ID."""

    name: str
    datatype: str  # boolean, short, int, long, float, double, char, unicodeChar (unsignedByte too)
    ucd: str | None = None
    unit: str | None = None
    ref: str | None = None
    arraysize: str | None = None
    utype: str | None = None
    xtype: str | None = None
    description: str | None = None
    id: str | None = None
    width: int | None = None
    precision: str | None = None

    def resolved_arraysize(self) -> str | None:
        """The arraysize written: ``*`` for strings unless said otherwise."""
        if self.arraysize is None and self.datatype in _STRINGS:
            return "*"
        return self.arraysize

    def xml(self, indent: str = "   ", ident: str | None = None) -> str:
        """The FIELD element (``ident``: its XML ID, unique in the document)."""
        return _field_xml(self, indent, ident)

    def _xml(self, indent: str, ident: str | None) -> str:
        attributes = _attributes(
            (
                ("ID", ident or self.id or xml_id(self.name)),
                ("name", self.name),
                ("datatype", self.datatype),
                ("arraysize", self.resolved_arraysize()),
                ("width", None if self.width is None else str(self.width)),
                ("precision", self.precision),
                ("ucd", self.ucd),
                ("unit", self.unit),
                ("utype", self.utype),
                ("xtype", self.xtype),
                ("ref", self.ref),
            )
        )
        if not self.description:
            return f"{indent}<FIELD{attributes}/>\n"
        return f"{indent}<FIELD{attributes}>{_description(self.description, indent + ' ').strip()}</FIELD>\n"


@functools.lru_cache(maxsize=4096)
def _field_xml(field: Field, indent: str, ident: str | None) -> str:
    """A FIELD element, once per field (the VO endpoints write the same few fields at every request)."""
    return field._xml(indent, ident)


class Param(NamedTuple):
    """A PARAM: a FIELD with one value (strings written as they are, numbers as cells are)."""

    name: str
    value: object
    datatype: str = "unicodeChar"
    ucd: str | None = None
    unit: str | None = None
    arraysize: str | None = None
    utype: str | None = None
    xtype: str | None = None
    description: str | None = None
    id: str | None = None
    ref: str | None = None

    def xml(self, indent: str = "  ") -> str:
        """The PARAM element."""
        arraysize = self.arraysize if self.arraysize is not None or self.datatype not in _STRINGS else "*"
        value = self.value if isinstance(self.value, str) else cell(self.datatype, arraysize)(self.value)
        attributes = _attributes(
            (
                ("ID", self.id or xml_id(self.name)),
                ("name", self.name),
                ("datatype", self.datatype),
                ("arraysize", arraysize),
                ("ucd", self.ucd),
                ("unit", self.unit),
                ("utype", self.utype),
                ("xtype", self.xtype),
                ("ref", self.ref),
            )
        )
        value_attribute = f' value="{escape(value)}"'
        if not self.description:
            return f"{indent}<PARAM{attributes}{value_attribute}/>\n"
        return f"{indent}<PARAM{attributes}{value_attribute}>{_description(self.description, '').strip()}</PARAM>\n"


class Info(NamedTuple):
    """An INFO (``text``: its content, e.g. a DALI error message)."""

    name: str
    value: str
    text: str = ""
    id: str | None = None

    def xml(self, indent: str = "  ") -> str:
        """The INFO element."""
        attributes = _attributes((("ID", self.id), ("name", self.name), ("value", self.value)))
        if self.text:
            return f"{indent}<INFO{attributes}>{escape(self.text)}</INFO>\n"
        return f"{indent}<INFO{attributes}/>\n"


class Coosys(NamedTuple):
    """A COOSYS, for the FIELDs whose ``ref`` names its ``id`` (``epoch``/``equinox`` as ``J2000.0``)."""

    id: str
    system: str = "ICRS"
    epoch: str | None = None
    equinox: str | None = None

    def xml(self, indent: str = "  ") -> str:
        """The COOSYS element."""
        attributes = _attributes(
            (("ID", self.id), ("system", self.system), ("equinox", self.equinox), ("epoch", self.epoch))
        )
        return f"{indent}<COOSYS{attributes}/>\n"


class Group(NamedTuple):
    """A GROUP of the table's FIELDs (by name) and PARAMs: columns that belong together."""

    name: str
    fields: Sequence[str] = ()
    params: Sequence[Param] = ()
    description: str | None = None
    ucd: str | None = None
    utype: str | None = None

    def xml(self, ids: dict[str, str], indent: str = "   ") -> str:
        """The GROUP element (``ids``: the XML ID of each field by name)."""
        inner = indent + " "
        attributes = _attributes((("name", self.name), ("ucd", self.ucd), ("utype", self.utype)))
        parts = [f"{indent}<GROUP{attributes}>\n", _description(self.description, inner)]
        parts += [p.xml(inner) for p in self.params]
        parts += [f'{inner}<FIELDref ref="{escape(ids[name])}"/>\n' for name in self.fields]
        parts.append(f"{indent}</GROUP>\n")
        return "".join(parts)


class Resource(NamedTuple):
    """A RESOURCE's own elements, in the order the schema wants them around the TABLE."""

    type: str | None = "results"
    name: str | None = None
    description: str | None = None
    infos: Sequence[Info] = ()
    coosys: Sequence[Coosys] = ()
    params: Sequence[Param] = ()


class ServiceDescriptor(NamedTuple):
    """A DataLink service descriptor (DataLink 1.1 §4): a RESOURCE type="meta" utype="adhoc:service" after
    the results, whose input parameter ``ID`` takes its values from the FIELD named ``field`` (pyvo's
    ``iter_datalinks`` follows it)."""

    access_url: str
    field: str
    standard_id: str = "ivo://ivoa.net/std/DataLink#links-1.1"
    name: str = "datalink"
    description: str | None = None

    def xml(self, ids: dict[str, str], indent: str = " ") -> str:
        """The RESOURCE (``ids``: the XML ID of each field by name)."""
        inner, group = indent + " ", indent + "  "
        attributes = _attributes((("type", "meta"), ("utype", "adhoc:service"), ("name", self.name)))
        return (
            f"{indent}<RESOURCE{attributes}>\n"
            + _description(self.description, inner)
            + f'{inner}<PARAM name="standardID" datatype="char" arraysize="*" value="{escape(self.standard_id)}"/>\n'
            + f'{inner}<PARAM name="accessURL" datatype="char" arraysize="*" value="{escape(self.access_url)}"/>\n'
            + f'{inner}<GROUP name="inputParams">\n'
            + f'{group}<PARAM name="ID" datatype="char" arraysize="*" value="" ref="{escape(ids[self.field])}"/>\n'
            + f"{inner}</GROUP>\n{indent}</RESOURCE>\n"
        )


# ------------------------------------------------------------------------------------------------ cells


def _double(value: object) -> str:
    if value is None:
        return ""
    text = repr(value if value.__class__ is float else float(value))  # type: ignore[arg-type]
    if "n" not in text:  # not nan, inf or -inf: the common case, one test
        return text
    return "" if text == "nan" else ("+Inf" if text == "inf" else "-Inf")


def _single(value: object) -> str:
    """A single-precision value (``float``) as its shortest text: 0.9 stored as 0.8999999761581421."""
    text = _double(value)
    if not text or text[-1] == "f" or len(text) <= 9:  # null, +Inf/-Inf, or already short
        return text
    single = _FLOAT32.unpack(_FLOAT32.pack(float(text)))[0]
    for digits in range(6, 10):
        short = f"{single:.{digits}g}"
        if _FLOAT32.unpack(_FLOAT32.pack(float(short)))[0] == single:
            return short
    return repr(single)


def _integer(value: object) -> str:
    return "" if value is None else str(int(value))  # type: ignore[call-overload]


def _boolean(value: object) -> str:
    return "" if value is None else ("T" if value else "F")


def _text(value: object) -> str:
    if value is None:
        return ""
    text = value if value.__class__ is str else str(value)
    # escape()'s test inlined: most cells need nothing (a call saved per cell)
    if text.isprintable() and "&" not in text and "<" not in text and ">" not in text and '"' not in text:  # type: ignore[operator, union-attr]
        return text  # type: ignore[return-value]
    return text.translate(_ESCAPES)  # type: ignore[union-attr]


_CELLS: dict[str, Callable[[object], str]] = {
    "double": _double,
    "float": _single,
    "int": _integer,
    "long": _integer,
    "short": _integer,
    "unsignedByte": _integer,
    "boolean": _boolean,
    "char": _text,
    "unicodeChar": _text,
}


@functools.lru_cache(maxsize=256)
def cell(datatype: str, arraysize: str | None = None) -> Callable[[object], str]:
    """The TD text of a value of this datatype: an array of numbers (a list) space-separated, a null
    (``None``, NaN) empty."""
    scalar = _CELLS[datatype]
    floating = scalar is _double or scalar is _single
    if arraysize is None or datatype in _STRINGS:
        return scalar
    # a null fixed-size array of floats is as many NaNs (an empty one would be the wrong size)
    size = arraysize.rstrip("*")
    null = " ".join(["NaN"] * int(size)) if size.isdigit() and floating else ""

    def array(value: object) -> str:
        if value is None:
            return null
        if isinstance(value, (list, tuple)):
            return " ".join("NaN" if v is None else (scalar(v) or "NaN") for v in value)
        return scalar(value)

    return array


# -------------------------------------------------------------------------------------------- documents


def _ids(fields: Sequence[Field], taken: Iterable[str] = ()) -> list[str]:
    """One XML ID per field, unique within the document (``taken``: the IDs of its other elements)."""
    seen: set[str] = set(taken)
    ids = []
    for f in fields:
        ident = f.id or xml_id(f.name)
        base, n = ident, 1
        while ident in seen:
            n += 1
            ident = f"{base}_{n}"
        seen.add(ident)
        ids.append(ident)
    return ids


def stream(
    fields: Sequence[Field] | None,
    rows: Iterable[Sequence[object]] = (),
    **options: Any,
) -> Iterator[bytes]:
    """A whole VOTable in UTF-8 pieces of about ``chunk_bytes`` (see :func:`pieces` for the options)."""
    for piece in pieces(fields, rows, **options):
        yield piece.encode()


def pieces(
    fields: Sequence[Field] | None,
    rows: Iterable[Sequence[object]] = (),
    *,
    resource: Resource = Resource(),
    table_name: str | None = None,
    table_description: str | None = None,
    nrows: int | None = None,
    table_params: Sequence[Param] = (),
    groups: Sequence[Group] = (),
    infos: Sequence[Info] = (),
    infos_after: Sequence[Info] = (),
    cells: Sequence[Callable[[object], str] | None] = (),
    chunk_bytes: int = _CHUNK_BYTES,
    binary2: bool = False,
    descriptors: Sequence[ServiceDescriptor] = (),
) -> Iterator[str]:
    """A whole VOTable in text pieces of about ``chunk_bytes`` characters: ``infos`` under VOTABLE, one RESOURCE
    and, unless ``fields`` is None, one TABLE of ``fields`` holding ``rows`` (values in the order of the
    fields; values past the last field are not written), then ``infos_after`` (after the TABLE), then the
    ``descriptors``' RESOURCEs. ``cells``: a TD writer per field instead of :func:`cell`'s (None: the
    default), which must escape. ``binary2``: the rows as a BINARY2 stream (``cells`` do not apply)."""
    head = [HEAD, *(i.xml(" ") for i in infos)]
    rtype = _attributes((("type", resource.type), ("name", resource.name)))
    resource_body = [
        _description(resource.description, "  "),
        *(i.xml("  ") for i in resource.infos),
        *(c.xml("  ") for c in resource.coosys),
        *(p.xml("  ") for p in resource.params),
    ]
    if fields is None and not infos_after and not any(resource_body):
        yield "".join(head) + f" <RESOURCE{rtype}/>\n" + TAIL
        return
    head.append(f" <RESOURCE{rtype}>\n")
    head += resource_body
    if fields is not None:
        taken = [c.id for c in resource.coosys]
        taken += [p.id or xml_id(p.name) for p in (*resource.params, *table_params)]
        ids = _ids(fields, taken)
        table_attributes = _attributes(
            (("name", table_name), ("nrows", None if nrows is None else str(nrows)))
        )
        head.append(f"  <TABLE{table_attributes}>\n")
        head.append(_description(table_description, "   "))
        head += [f.xml("   ", ident) for f, ident in zip(fields, ids, strict=True)]
        head += [p.xml("   ") for p in table_params]
        head += [g.xml(dict(zip([f.name for f in fields], ids, strict=True))) for g in groups]
        if binary2:
            head.append('   <DATA>\n    <BINARY2>\n     <STREAM encoding="base64">\n')
            yield "".join(head)
            yield from _binary2_rows(fields, rows, chunk_bytes)
            tail = ["\n     </STREAM>\n    </BINARY2>\n   </DATA>\n  </TABLE>\n"]
        else:
            head.append("   <DATA>\n    <TABLEDATA>\n")
            yield "".join(head)
            yield from _rows(fields, rows, cells, chunk_bytes)
            tail = ["    </TABLEDATA>\n   </DATA>\n  </TABLE>\n"]
        by_name = {f.name: i for f, i in zip(fields, ids, strict=True)}
    else:
        tail = ["".join(head)]
        by_name = {}
    tail += [i.xml("  ") for i in infos_after]
    tail.append(" </RESOURCE>\n")
    tail += [d.xml(by_name) for d in descriptors if d.field in by_name]
    tail.append(TAIL)
    yield "".join(tail)


def _rows(
    fields: Sequence[Field],
    rows: Iterable[Sequence[object]],
    writers: Sequence[Callable[[object], str] | None],
    chunk_bytes: int,
) -> Iterator[str]:
    given = list(writers) + [None] * (len(fields) - len(writers))
    formats = [w or cell(f.datatype, f.arraysize) for f, w in zip(fields, given, strict=False)]
    join = "</TD><TD>".join
    parts: list[str] = []
    append = parts.append
    size = 0
    for row in rows:
        tds = [fmt(v) for fmt, v in zip(formats, row, strict=False)]  # every writer takes None
        line = f"<TR><TD>{join(tds)}</TD></TR>\n"
        append(line)
        size += len(line)
        if size >= chunk_bytes:
            yield "".join(parts)
            parts.clear()
            size = 0
    if parts:
        yield "".join(parts)


# ---------------------------------------------------------------------------------------------- BINARY2

_BINARY_SCALARS: dict[str, tuple[struct.Struct, object]] = {
    "double": (struct.Struct(">d"), float("nan")),
    "float": (struct.Struct(">f"), float("nan")),
    "long": (struct.Struct(">q"), 0),
    "int": (struct.Struct(">i"), 0),
    "short": (struct.Struct(">h"), 0),
    "unsignedByte": (struct.Struct(">B"), 0),
}
_LENGTH = struct.Struct(">I")


def _binary_boolean(value: object) -> bytes:
    return b"?" if value is None else (b"T" if value else b"F")


@functools.lru_cache(maxsize=256)
def binary2_cell(datatype: str, arraysize: str | None = None) -> Callable[[object], bytes]:
    """The BINARY2 bytes of a value of this datatype (a null written as its placeholder: the row's
    null mask says it is null). Strings and variable arrays carry their length first."""
    if datatype == "boolean":
        return _binary_boolean
    if datatype in _STRINGS:
        wide = datatype == "unicodeChar"
        size = (arraysize or "*").rstrip("*")
        fixed = int(size) if size.isdigit() and not (arraysize or "").endswith("*") else None

        def string(value: object) -> bytes:
            text = "" if value is None else str(value)
            # char is ASCII in a binary serialisation (readers refuse more): unicodeChar carries the rest
            data = text.encode("utf-16-be") if wide else text.encode("ascii", "replace")
            if fixed is not None:
                width = fixed * (2 if wide else 1)
                return data[:width].ljust(width, b"\0")
            return _LENGTH.pack(len(data) // (2 if wide else 1)) + data

        return string
    packer, null = _BINARY_SCALARS[datatype]
    pack = packer.pack
    if arraysize is None:

        def scalar(value: object) -> bytes:
            return pack(null if value is None else value)

        return scalar
    size = arraysize.rstrip("*")
    count = int(size) if size.isdigit() and not arraysize.endswith("*") else None

    def array(value: object) -> bytes:
        items = list(value) if isinstance(value, (list, tuple)) else ([] if value is None else [value])
        items = [null if v is None else v for v in items]
        if count is not None:
            items = (items + [null] * count)[:count]
            return b"".join(pack(v) for v in items)
        return _LENGTH.pack(len(items)) + b"".join(pack(v) for v in items)

    return array


class Binary2Encoder:
    """Rows to BINARY2 text, batch by batch (a streamed answer whose rows come in batches): base64 in
    lines of 76 characters, the bytes that do not fill a line kept for the next batch, padding only at
    :meth:`end` (base64 allows it nowhere else)."""

    def __init__(self, fields: Sequence[Field]) -> None:
        self._writers = [binary2_cell(f.datatype, f.resolved_arraysize()) for f in fields]
        self._mask_bytes = (len(fields) + 7) // 8
        self._buffer = bytearray()

    def rows(self, rows: Iterable[Sequence[object]]) -> str:
        """The base64 lines of these rows that are complete so far."""
        buffer, writers = self._buffer, self._writers
        for row in rows:
            mask = bytearray(self._mask_bytes)
            cells = []
            for i, (write, value) in enumerate(zip(writers, row, strict=False)):
                if value is None or (value.__class__ is float and value != value):
                    mask[i >> 3] |= 0x80 >> (i & 7)
                    value = None
                cells.append(write(value))
            buffer += mask
            buffer += b"".join(cells)
        cut = len(buffer) // 57 * 57
        if not cut:
            return ""
        text = base64.encodebytes(bytes(buffer[:cut])).decode()
        del buffer[:cut]
        return text

    def end(self) -> str:
        """The last bytes' base64 (padded)."""
        text = base64.encodebytes(bytes(self._buffer)).decode() if self._buffer else ""
        self._buffer.clear()
        return text


def _binary2_rows(
    fields: Sequence[Field], rows: Iterable[Sequence[object]], chunk_bytes: int
) -> Iterator[str]:
    """The rows as BINARY2 (each row: a null mask, then its cells), in pieces of about ``chunk_bytes``."""
    encoder = Binary2Encoder(fields)
    batch: list[Sequence[object]] = []
    row_bytes = 8 * max(1, len(fields))  # a rough size: pieces need not be exact
    for row in rows:
        batch.append(row)
        if len(batch) * row_bytes >= chunk_bytes:
            yield encoder.rows(batch)
            batch.clear()
    text = encoder.rows(batch) + encoder.end()
    if text:
        yield text


def tabledata(
    fields: Sequence[Field],
    rows: Iterable[Sequence[object]],
    cells: Sequence[Callable[[object], str] | None] = (),
    chunk_bytes: int = _CHUNK_BYTES,
) -> Iterator[str]:
    """Only the TR elements of these rows (a streamed answer writes its head and tail itself)."""
    return _rows(fields, rows, cells, chunk_bytes)


def field_ids(fields: Sequence[Field], taken: Iterable[str] = ()) -> dict[str, str]:
    """The XML ID the writer gives each field, by name (``taken``: IDs of other elements)."""
    return dict(zip([f.name for f in fields], _ids(fields, taken), strict=True))


def document(fields: Sequence[Field] | None, rows: Iterable[Sequence[object]] = (), **options: Any) -> bytes:
    """The whole of :func:`stream` in one piece."""
    return "".join(pieces(fields, rows, **options)).encode()


# ---------------------------------------------------------------- the shorthands the VO endpoints use


def param(name: str, value: str, *, ucd: str | None = None) -> Param:
    """A string PARAM (ObsPortal's ``status``, ``last_mod_date``)."""
    return Param(name, value, ucd=ucd, id=name)


def info(name: str, value: str, text: str = "") -> Info:
    """An INFO (``text``: its content)."""
    return Info(name, value, text)


def table(
    fields: Sequence[Field],
    rows: Iterable[Sequence[object]],
    *,
    resource: Resource = Resource(),
    infos_after: Sequence[Info] = (),
) -> str:
    """A whole one-table VOTable as text (the VO endpoints' small answers)."""
    return "".join(pieces(fields, rows, resource=resource, infos_after=infos_after))
