"""The kit's one VOTable writer: streamed in bytes pieces as the rows come, nulls right for each datatype,
one escaping rule, COOSYS/GROUP/PARAM/INFO where the schema wants them, the VOTable 1.4 schema location;
astropy reads what it writes, votlint finds nothing wrong."""

from __future__ import annotations

import io
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from astropy.io.votable import parse
from votlint import votlint

from spicadb_kit import votable
from spicadb_kit.votable import Coosys, Field, Group, Info, Param, Resource

NS = {"v": "http://www.ivoa.net/xml/VOTable/v1.3"}
XSI = "{http://www.w3.org/2001/XMLSchema-instance}schemaLocation"

FIELDS = [
    Field("name", "char", "meta.id;meta.main", description='Target name, "as given"'),
    Field("ra", "double", "pos.eq.ra;meta.main", "deg", ref="icrs"),
    Field("dec", "double", "pos.eq.dec;meta.main", "deg", ref="icrs"),
    Field("visits", "int", "meta.number"),
    Field("count", "long", "meta.number"),
    Field("short", "short"),
    Field("flag", "boolean", "meta.code"),
    Field("mag", "float", "phot.mag;em.opt.V", "mag"),
    Field("label", "unicodeChar", "meta.note", utype="spica:label", xtype="x-label"),
    Field("2MASS", "char", "meta.id"),  # a name that is no XML ID
    Field("spectrum", "double", arraysize="3"),
]
NULL_ROW = ["null star", 10.0, -10.0, None, None, None, None, float("nan"), None, None, None]


def document(rows: list[list[object]], **options: object) -> bytes:
    return votable.document(
        FIELDS,
        rows,
        resource=Resource(
            name="test & <check>",
            description="A resource",
            infos=[Info("QUERY_STATUS", "OK")],
            coosys=[Coosys("icrs", "ICRS", epoch="J2016.0", equinox="J2000")],
            params=[Param("INSTRUMENT", "SPICA"), Param("MAX_SR", 0.5, datatype="double", unit="deg")],
        ),
        table_name="targets",
        table_description="Some targets",
        nrows=len(rows),
        groups=[Group("position", ["ra", "dec"], params=[Param("frame", "ICRS")], description="where")],
        infos_after=[Info("QUERY_STATUS", "OVERFLOW")],
        **options,  # type: ignore[arg-type]
    )


def read(data: bytes) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parse(io.BytesIO(data), verify="ignore")


def test_rows_stream_in_bytes_pieces_as_they_are_read() -> None:
    consumed = 0

    def rows() -> Iterator[list[object]]:
        nonlocal consumed
        for k in range(5000):
            consumed += 1
            yield [f"star {k}", k * 0.01, 1.0, k, k, 1, True, 5.0, "x", "J1", [1.0, 2.0, 3.0]]

    pieces = votable.stream(FIELDS, rows(), chunk_bytes=8192)
    head = next(pieces)
    assert head.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert consumed == 0
    first_rows = next(pieces)
    assert isinstance(first_rows, bytes)
    assert b"<TR>" in first_rows
    assert 0 < consumed < 5000  # the first rows are sent before the last are read
    rest = list(pieces)
    assert len(rest) > 10
    assert all(isinstance(p, bytes) and len(p) < 16384 for p in rest[:-1])
    table = read(b"".join([head, first_rows, *rest])).get_first_table()  # type: ignore[attr-defined]
    assert len(table.array) == 5000
    assert table.array["visits"][4999] == 4999


def test_null_cells_are_empty_for_every_datatype_and_read_as_masked() -> None:
    data = document([NULL_ROW])
    row = ET.fromstring(data).find(".//v:TR", NS)
    assert row is not None
    cells = [td.text for td in row.findall("v:TD", NS)]
    # an empty TD is null for any datatype (VOTable 1.3 §6.1); "NaN" would be a value to Aspro2
    # (a fixed-size array of floats: as many NaNs, the size it must have)
    assert cells == ["null star", "10.0", "-10.0", *[None] * 7, "NaN NaN NaN"]
    array = read(data).get_first_table().array  # type: ignore[attr-defined]
    for name in ("visits", "count", "short", "mag", "label", "2MASS"):
        assert array.mask[name][0] or array[name][0] in ("", b""), name


def test_one_escaping_rule_for_attributes_and_cells() -> None:
    nasty = 'A&B <x> "q" \x01\x1f\ufffe bell\x07 tab\tline\nend \ud800'
    data = document([[nasty, 1.0, 2.0, 1, 1, 1, False, 1.0, nasty, "J1", None]])
    text = data.decode("utf-8")  # lone surrogates and C0 controls are dropped: it encodes and parses
    assert "A&amp;B &lt;x&gt; &quot;q&quot;" in text
    assert 'name="test &amp; &lt;check&gt;"' in text
    table = read(data).get_first_table()  # type: ignore[attr-defined]
    assert str(table.array["name"][0]) == 'A&B <x> "q"  bell tab\tline\nend'  # (astropy strips the end)


def test_the_document_has_the_schema_location_and_every_element_in_place() -> None:
    data = document([NULL_ROW])
    root = ET.fromstring(data)
    assert root.get("version") == "1.4"
    assert (
        root.get(XSI)
        == "http://www.ivoa.net/xml/VOTable/v1.3 http://www.ivoa.net/xml/VOTable/votable-1.4.xsd"
    )
    resource = root.find("v:RESOURCE", NS)
    assert resource is not None
    tags = [child.tag.split("}")[1] for child in resource]
    assert tags == ["DESCRIPTION", "INFO", "COOSYS", "PARAM", "PARAM", "TABLE", "INFO"]
    coosys = resource.find("v:COOSYS", NS)
    assert coosys is not None
    assert coosys.attrib == {
        "ID": "icrs",
        "system": "ICRS",
        "equinox": "J2000",
        "epoch": "J2016.0",
    }
    fields = {f.get("name"): f for f in root.iterfind(".//v:FIELD", NS)}
    assert fields["2MASS"].get("ID") == "_2MASS"
    assert fields["name"].get("arraysize") == "*"
    assert fields["spectrum"].get("arraysize") == "3"
    assert fields["label"].get("utype") == "spica:label"
    assert fields["label"].get("xtype") == "x-label"
    description = fields["name"].find("v:DESCRIPTION", NS)
    assert description is not None
    assert description.text == 'Target name, "as given"'
    group = root.find(".//v:GROUP", NS)
    assert group is not None
    assert [r.get("ref") for r in group.iterfind("v:FIELDref", NS)] == ["ra", "dec"]
    document_ = read(data)
    table = document_.get_first_table()  # type: ignore[attr-defined]
    assert table.nrows == 1 if hasattr(table, "nrows") else True
    assert [f.name for f in table.fields] == [f.name for f in FIELDS]
    assert table.get_field_by_id("ra").ref == "icrs"
    assert [c.epoch for c in document_.iter_coosys()] == ["J2016.0"]  # type: ignore[attr-defined]


def test_documents_without_a_table() -> None:
    error = votable.document(None, infos=[Info("Error", "bad <RA>")])
    root = ET.fromstring(error)
    assert [child.tag.split("}")[1] for child in root] == ["INFO", "RESOURCE"]
    assert root.find("v:INFO", NS).get("value") == "bad <RA>"  # type: ignore[union-attr]


def test_votlint_finds_nothing_wrong(tmp_path: Path) -> None:
    rows = [
        NULL_ROW,
        [
            'A&B "x"',
            359.9,
            89.9,
            3,
            2**40,
            7,
            True,
            1.5,
            "\N{GREEK SMALL LETTER ALPHA} Lyr",
            "J1",
            [1.0, None, 3.0],
        ],
    ]
    assert votlint(document(rows), tmp_path) == []
    assert votlint(votable.document(None, infos=[Info("Error", "bad")]), tmp_path) == []


def test_a_field_named_like_a_param_gets_an_id_of_its_own() -> None:
    # Aspro2's context PARAM CONFIGURATIONS and the export's CONFIGURATIONS column: votlint refused the
    # document ("ID CONFIGURATIONS already defined")
    data = votable.document(
        [Field("CONFIGURATIONS", "char"), Field("CONFIGURATIONS", "char")],
        [["E1 W2", "S1 S2"]],
        resource=Resource(params=[Param("CONFIGURATIONS", "E1 W2 W1 S2 S1 E2")]),
    )
    root = ET.fromstring(data)
    ids = [e.get("ID") for e in root.iter() if e.get("ID")]
    assert len(ids) == len(set(ids)) == 3
