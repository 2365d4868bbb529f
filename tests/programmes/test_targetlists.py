"""Target lists: the Aspro2-ready VOTable export, VOTable/CSV/JSON import with per-row errors, and duplicates."""

from __future__ import annotations

import io
import json
import math
import warnings
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from uuid import uuid4

import astropy.units as u
import numpy as np
import pytest
from astropy.io.votable import parse
from astropy.io.votable.tree import CooSys, Field, Resource, TableElement, VOTableFile
from astropy.io.votable.ucd import check_ucd
from spicadb_programmes.models import TargetIn, TargetOut
from spicadb_programmes.sky import propagate
from spicadb_programmes.targetlists import (
    ExportContext,
    ParsedList,
    TargetListError,
    find_duplicates,
    parse_target_list,
    write_csv,
    write_json,
    write_votable,
)
from spicadb_programmes.targetlists.votable import _read_tabledata, parse_votable

ALPHA_LYR = "\N{GREEK SMALL LETTER ALPHA} Lyr"  # a non-ASCII name
NS = {"v": "http://www.ivoa.net/xml/VOTable/v1.3"}
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
CONTEXT = ExportContext(
    programme="LP-YSO", title="Young stars", configurations=["E1 W2 W1 S2 S1 E2"], period="2026A"
)


def out(**fields: object) -> TargetOut:
    return TargetOut(id=uuid4(), created_at=NOW, updated_at=NOW, **fields)  # type: ignore[arg-type]


def sample() -> list[TargetOut]:
    return [
        out(
            name="alf Ori",
            ra=88.79293899,
            dec=7.407064,
            pmra=27.54,
            pmdec=11.3,
            parallax=6.55,
            radial_velocity=21.91,
            mag_v=0.42,
            mag_r=-0.57,
            mag_i=-1.39,
            mag_j=-2.99,
            mag_h=-4.01,
            mag_k=-4.38,
            spectral_type="M1-M2Ia-Iab",
            object_type="RedSG*",
            hd="HD 39801",
            hip="HIP 27989",
            tmass="J05551028+0724255",
            gaia="Gaia DR3 3334265848418470784",
            notes="Betelgeuse & friends <bright>",
            work_package="WP1",
        ),
        out(name="HD 1234 <A&B>", ra=0.0, dec=-45.123456789012, work_package="WP-2"),
        out(name="Minimal", ra=359.999999999, dec=89.9),
    ]


def votable_tree(data: bytes) -> ET.Element:
    return ET.fromstring(data)


def fields_by_name(root: ET.Element) -> dict[str, ET.Element]:
    return {f.get("name"): f for f in root.iterfind(".//v:FIELD", NS)}


# --------------------------------------------------------------------------------------- VOTable export


def test_export_is_one_resource_one_table_in_tabledata_votable_1_4() -> None:
    root = votable_tree(write_votable(sample(), CONTEXT))
    assert root.tag == f"{{{NS['v']}}}VOTABLE"
    assert root.get("version") in ("1.3", "1.4")
    assert len(root.findall("v:RESOURCE", NS)) == 1
    assert len(root.findall(".//v:TABLE", NS)) == 1
    assert root.find(".//v:TABLEDATA", NS) is not None
    assert root.find(".//v:BINARY", NS) is None
    assert root.find(".//v:BINARY2", NS) is None
    assert len(root.findall(".//v:TR", NS)) == 3


def test_export_coosys_icrs_sits_inside_the_resource_and_positions_refer_to_it() -> None:
    root = votable_tree(write_votable(sample(), CONTEXT))
    assert root.find("v:COOSYS", NS) is None  # at VOTABLE level Aspro2 imports nothing
    coosys = root.findall("v:RESOURCE/v:COOSYS", NS)
    assert len(coosys) == 1
    assert coosys[0].get("system") == "ICRS"
    fields = fields_by_name(root)
    assert fields["RA"].get("ref") == coosys[0].get("ID") == fields["DEC"].get("ref")


# (name, datatype, unit, ucd) as Aspro2 reads them (vo-interop.md §10)
EXPECTED_FIELDS = [
    ("NAME", "char", None, "meta.id;meta.main"),
    ("RA", "double", "deg", "pos.eq.ra;meta.main"),
    ("DEC", "double", "deg", "pos.eq.dec;meta.main"),
    ("PMRA", "double", "mas/yr", "pos.pm;pos.eq.ra"),
    ("PMDEC", "double", "mas/yr", "pos.pm;pos.eq.dec"),
    ("PARALLAX", "double", "mas", "pos.parallax.trig"),
    ("SYSVEL", "double", "km/s", "spect.dopplerVeloc.opt"),
    ("SPECTYP", "char", None, "src.spType"),
    ("OBJTYP", "char", None, "src.class"),
    ("FLUX_V", "double", "mag", "phot.mag;em.opt.V"),
    ("FLUX_R", "double", "mag", "phot.mag;em.opt.R"),
    ("FLUX_I", "double", "mag", "phot.mag;em.opt.I"),
    ("FLUX_J", "double", "mag", "phot.mag;em.IR.J"),
    ("FLUX_H", "double", "mag", "phot.mag;em.IR.H"),
    ("FLUX_K", "double", "mag", "phot.mag;em.IR.K"),
    ("HD", "char", None, "meta.id"),
    ("HIP", "char", None, "meta.id"),
    ("2MASS", "char", None, "meta.id"),
    ("GAIA", "char", None, "meta.id"),
    ("NOTES", "char", None, "meta.note"),
    ("GROUP", "char", None, "meta.code.class;meta.id"),
]


@pytest.mark.parametrize(("name", "datatype", "unit", "ucd"), EXPECTED_FIELDS)
def test_export_columns_carry_the_ucds_and_units_aspro2_looks_for(
    name: str, datatype: str, unit: str | None, ucd: str
) -> None:
    field = fields_by_name(votable_tree(write_votable(sample(), CONTEXT)))[name]
    assert field.get("datatype") == datatype
    assert field.get("unit") == unit
    assert field.get("ucd") == ucd
    if datatype == "char":
        assert field.get("arraysize") == "*"


def test_export_cells_hold_the_values_and_empty_cells_are_nulls_not_nan() -> None:
    data = write_votable(sample(), CONTEXT)
    root = votable_tree(data)
    texts = [td.text for td in root.iterfind(".//v:TD", NS)]
    assert texts.count(None) > 20  # empty <TD/> for every missing value
    assert not any(x.lower() in ("nan", "none", "null") for x in texts if x is not None)
    names = [f.get("name") for f in root.iterfind(".//v:FIELD", NS)]
    rows = [[td.text for td in tr.findall("v:TD", NS)] for tr in root.iterfind(".//v:TR", NS)]
    first, second = (dict(zip(names, r, strict=True)) for r in rows[:2])
    assert first["NAME"] == "alf Ori"
    assert first["GROUP"] == "WP1"  # the work package as an Aspro2 group
    assert first["2MASS"] == "J05551028+0724255"
    assert float(first["FLUX_K"]) == -4.38
    assert float(second["DEC"]) == -45.123456789012  # decimal degrees, full precision
    assert second["PMRA"] is None
    assert second["HD"] is None
    assert second["FLUX_V"] is None
    assert second["GROUP"] == "WP-2"


def test_export_escapes_xml_special_characters_in_names_and_notes() -> None:
    data = write_votable(sample(), ExportContext(programme="A&B", title="x <y>"))
    root = votable_tree(data)  # well-formed
    tds = [tr.find("v:TD", NS).text for tr in root.iterfind(".//v:TR", NS)]
    assert tds[1] == "HD 1234 <A&B>"
    assert b"Betelgeuse &amp; friends &lt;bright&gt;" in data
    assert root.find("v:RESOURCE", NS).get("name") == "A&B"


def test_export_context_params_in_the_resource() -> None:
    root = votable_tree(write_votable(sample(), CONTEXT))
    params = {p.get("name"): p.get("value") for p in root.findall("v:RESOURCE/v:PARAM", NS)}
    assert params == {
        "INTERFEROMETER": "CHARA",
        "INSTRUMENT": "SPICA",
        "CONFIGURATIONS": "E1 W2 W1 S2 S1 E2",
        "PERIOD": "2026A",
    }
    several = ExportContext(programme="P", title="t", configurations=["E1 W2 W1 S2", "S1 E2 W1 W2"])
    root = votable_tree(write_votable([], several))
    params = {p.get("name"): p.get("value") for p in root.findall("v:RESOURCE/v:PARAM", NS)}
    assert params["CONFIGURATIONS"] == "E1 W2 W1 S2,S1 E2 W1 W2"
    assert "PERIOD" not in params


def test_export_moves_positions_to_j2000_for_aspro2() -> None:
    gaia = out(name="Gaia star", ra=100.0, dec=20.0, epoch=2016.0, pmra=500.0, pmdec=-300.0)
    still = out(name="No motion", ra=10.0, dec=-5.0, epoch=2016.0)
    root = votable_tree(write_votable([gaia, still], CONTEXT))
    rows = [[td.text for td in tr.findall("v:TD", NS)] for tr in root.iterfind(".//v:TR", NS)]
    ra2000, dec2000 = propagate(100.0, 20.0, 500.0, -300.0, 2016.0, 2000.0)
    assert float(rows[0][1]) == pytest.approx(float(ra2000), abs=1e-12)
    assert float(rows[0][2]) == pytest.approx(float(dec2000), abs=1e-12)
    assert float(rows[0][2]) == pytest.approx(
        20.0 + 16 * 0.3 / 3600, abs=1e-6
    )  # 16 yr x 300 mas/yr back north
    assert (float(rows[1][1]), float(rows[1][2])) == (10.0, -5.0)
    assert root.find("v:RESOURCE/v:COOSYS", NS).get("epoch") == "J2000.0"


def test_astropy_reads_the_export_and_accepts_its_ucds_and_units() -> None:
    data = write_votable(sample(), CONTEXT)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = parse(io.BytesIO(data), verify="warn").get_first_table()
    # the one thing astropy objects to is Aspro2's own groups convention (vo-interop.md §10):
    # meta.id is a primary-only word in UCD1+, yet Aspro2 finds groups by "meta.code.class;meta.id"
    assert [str(w.message).split(": ", 1)[1][:40] for w in caught] == [
        "W06: Invalid UCD 'meta.code.class;meta.i"
    ]
    assert len(table.array) == 3
    for field in table.fields:
        strict = field.name != "GROUP"
        assert check_ucd(field.ucd, check_controlled_vocabulary=strict), field.ucd
    root = votable_tree(data)
    for f in root.iterfind(".//v:FIELD", NS):
        unit = f.get("unit")
        if unit is None:
            continue
        if f.get("ucd", "").startswith("pos.pm"):
            # Aspro2's rule, not vounit's preference: the unit must contain mas/yr or mas.yr-1
            assert "mas/yr" in unit or "mas.yr-1" in unit
        else:
            u.Unit(unit, format="vounit")  # raises when not a VOUnit


# --------------------------------------------------------------------------------------- round trips


def same_target(a: TargetIn, b: TargetIn) -> None:
    for field in TargetIn.__struct_fields__:
        x, y = getattr(a, field), getattr(b, field)
        if isinstance(x, float) and y is not None:
            assert y == pytest.approx(x, abs=1e-9), field
        else:
            assert x == y, field


@pytest.mark.parametrize(
    ("writer", "media"),
    [
        (lambda ts: write_votable(ts, CONTEXT), "application/x-votable+xml"),
        (write_csv, "text/csv"),
        (write_json, "application/json"),
    ],
    ids=["votable", "csv", "json"],
)
def test_export_then_import_gives_back_the_same_targets(writer, media) -> None:  # type: ignore[no-untyped-def]
    targets = sample()
    parsed = parse_target_list(writer(targets), media)
    assert parsed.errors == []
    # VOTable and JSON count data rows from 1; CSV counts file lines, the header being line 1
    assert parsed.rows == ([2, 3, 4] if media == "text/csv" else [1, 2, 3])
    assert len(parsed.targets) == 3
    for a, b in zip(targets, parsed.targets, strict=True):
        same_target(a, b)


def test_json_export_reimports_with_its_read_only_keys_ignored() -> None:
    parsed = parse_target_list(write_json(sample()), "application/json")
    assert parsed.format == "json"
    assert parsed.ignored_columns == ["created_at", "id", "progress", "updated_at"]


# --------------------------------------------------------------------------------------- VOTable import


def simbad_like(ra_unit: str = '"h:m:s"', extra: str = "") -> bytes:
    """Written the way Simbad writes sexagesimal tables (UCD1-free, quoted units, COOSYS in RESOURCE)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE version="1.3" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
<RESOURCE><COOSYS ID="COOSYS" system="ICRS" {extra}/>
<TABLE>
<FIELD name="MAIN_ID" datatype="char" arraysize="*" ucd="meta.id;meta.main"/>
<FIELD name="RA" datatype="char" arraysize="13" unit='{ra_unit}' ucd="pos.eq.ra;meta.main" ref="COOSYS"/>
<FIELD name="DEC" datatype="char" arraysize="13" unit='"d:m:s"' ucd="pos.eq.dec;meta.main" ref="COOSYS"/>
<FIELD name="PMRA" datatype="double" unit="mas.yr-1" ucd="pos.pm;pos.eq.ra"/>
<FIELD name="PMDEC" datatype="double" unit="mas.yr-1" ucd="pos.pm;pos.eq.dec"/>
<FIELD name="FLUX_V" datatype="float" unit="mag" ucd="phot.mag;em.opt.V"/>
<FIELD name="SP_TYPE" datatype="char" arraysize="*" ucd="src.spType"/>
<FIELD name="HIP" datatype="int" ucd="meta.id"/>
<FIELD name="OTHER" datatype="char" arraysize="*"/>
<DATA><TABLEDATA>
<TR><TD>* alf Ori</TD><TD>05 55 10.3053</TD><TD>+07 24 25.426</TD><TD>27.54</TD><TD>11.30</TD><TD>0.42</TD><TD>M1-M2Ia-Iab</TD><TD>27989</TD><TD>x</TD></TR>
<TR><TD>* del Ori</TD><TD>05:32:00.40</TD><TD>-00:17:56.7</TD><TD/><TD/><TD/><TD/><TD/><TD/></TR>
</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>""".encode()


def test_import_simbad_style_sexagesimal_votable() -> None:
    parsed = parse_target_list(simbad_like(), "application/x-votable+xml")
    assert parsed.format == "votable"
    assert parsed.errors == []
    # every column is kept: the one no rule maps is a property (issue 14)
    assert parsed.ignored_columns == []
    assert parsed.properties == ["OTHER"]
    assert parsed.targets[0].properties == {"OTHER": "x"}
    ori, delta = parsed.targets
    assert ori.name == "* alf Ori"
    assert ori.ra == pytest.approx(15 * (5 + 55 / 60 + 10.3053 / 3600), abs=1e-9)
    assert ori.dec == pytest.approx(7 + 24 / 60 + 25.426 / 3600, abs=1e-9)
    assert (ori.pmra, ori.pmdec, ori.mag_v, ori.spectral_type, ori.hip) == (
        27.54,
        11.3,
        pytest.approx(0.42),
        "M1-M2Ia-Iab",
        "27989",
    )
    assert delta.dec == pytest.approx(-(17 / 60 + 56.7 / 3600), abs=1e-9)  # the sign of "-00"
    assert delta.pmra is None
    assert delta.mag_v is None
    assert delta.hip is None


def test_import_takes_the_epoch_of_the_coosys() -> None:
    parsed = parse_target_list(simbad_like(extra='epoch="J2016.0"'), "text/xml")
    assert {t.epoch for t in parsed.targets} == {2016.0}


def test_import_refuses_positions_in_another_system() -> None:
    with pytest.raises(TargetListError) as err:
        parse_target_list(simbad_like().replace(b'system="ICRS"', b'system="galactic"'), "text/xml")
    assert err.value.status == 422
    assert "galactic" in err.value.detail


def astropy_votable(serialisation: str = "tabledata", coosys: bool = True) -> bytes:
    """A table as astropy writes one (PM unit mas.yr**-1, unicodeChar names)."""
    vot = VOTableFile()
    resource = Resource()
    vot.resources.append(resource)
    if coosys:
        resource.coordinate_systems.append(CooSys(ID="sys", system="ICRS", epoch="J2000.0"))
    table = TableElement(vot)
    resource.tables.append(table)
    ref = "sys" if coosys else None
    table.fields.extend(
        [
            Field(vot, name="target", datatype="unicodeChar", arraysize="*", ucd="meta.id;meta.main"),
            Field(vot, name="ra_icrs", datatype="double", unit="deg", ucd="pos.eq.ra", ref=ref),
            Field(vot, name="ra", datatype="double", unit="deg", ucd="pos.eq.ra;meta.main", ref=ref),
            Field(vot, name="dec", datatype="double", unit="deg", ucd="pos.eq.dec;meta.main", ref=ref),
            Field(vot, name="pmra", datatype="double", unit="mas/yr", ucd="pos.pm;pos.eq.ra"),
            Field(vot, name="plx", datatype="double", unit="arcsec", ucd="pos.parallax.trig"),
            Field(vot, name="Kmag", datatype="double", unit="mag", ucd="phot.mag;em.IR.K"),
        ]
    )
    table.create_arrays(2)
    table.array[0] = (ALPHA_LYR, 1.0, 279.23473479, 38.78368896, 200.94, 0.13023, 0.13)
    table.array[1] = ("Vega B", 2.0, 279.2, 38.7, np.nan, np.nan, np.nan)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vot.to_xml(buffer, tabledata_format=serialisation)
    return buffer.getvalue()


@pytest.mark.parametrize("serialisation", ["tabledata", "binary", "binary2"])
def test_import_astropy_written_votable_prefers_the_main_position(serialisation: str) -> None:
    data = astropy_votable(serialisation)
    assert b"mas.yr**-1" in data  # astropy's spelling, which Aspro2 drops: we still read it
    parsed = parse_target_list(data, None)
    assert parsed.errors == []
    vega, other = parsed.targets
    assert vega.name == ALPHA_LYR
    assert (vega.ra, vega.dec) == (279.23473479, 38.78368896)  # the meta.main column, not ra_icrs
    assert vega.pmra == 200.94
    assert vega.parallax == pytest.approx(130.23)  # arcsec converted to mas
    assert vega.mag_k == 0.13
    assert other.pmra is None
    assert other.parallax is None
    assert parsed.ignored_columns == []
    assert vega.properties == {"ra_icrs": 1.0}  # the other position is kept, as it came


def test_import_votable_without_coosys() -> None:
    parsed = parse_target_list(astropy_votable(coosys=False), "application/x-votable+xml")
    assert [t.name for t in parsed.targets] == [ALPHA_LYR, "Vega B"]
    assert {t.epoch for t in parsed.targets} == {2000.0}


def bad_votable() -> bytes:
    return b"""<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>
<FIELD name="Star" datatype="char" arraysize="*" ucd="meta.id;meta.main"/>
<FIELD name="RAdeg" datatype="double" unit="deg" ucd="pos.eq.ra;meta.main"/>
<FIELD name="DEdeg" datatype="char" arraysize="*" unit="deg" ucd="pos.eq.dec;meta.main"/>
<FIELD name="pm_RA" datatype="double" unit="mas/yr" ucd="pos.pm;pos.eq.ra"/>
<FIELD name="Vmag" datatype="double" unit="mag" ucd="phot.mag;em.opt.V"/>
<DATA><TABLEDATA>
<TR><TD>good</TD><TD>10.5</TD><TD>-20.25</TD><TD>1</TD><TD>5</TD></TR>
<TR><TD/><TD>400</TD><TD>north</TD><TD>1</TD><TD>5</TD></TR>
<TR><TD>fast</TD><TD>10</TD><TD>95</TD><TD>900000</TD><TD>99.99</TD></TR>
<TR><TD>no position</TD><TD/><TD/><TD/><TD/></TR>
<TR><TD>also good</TD><TD>359.5</TD><TD>+89.5</TD><TD/><TD/></TR>
</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"""


def test_import_reports_every_bad_cell_by_row_and_file_column() -> None:
    parsed = parse_target_list(bad_votable(), "application/x-votable+xml")
    assert [t.name for t in parsed.targets] == ["good", "also good"]
    assert parsed.rows == [1, 5]
    cells = [(e.row, e.column) for e in parsed.errors]
    assert cells == [
        (2, "Star"),
        (2, "RAdeg"),
        (2, "DEdeg"),
        (3, "DEdeg"),
        (3, "pm_RA"),
        (3, "Vmag"),
        (4, "RAdeg"),
        (4, "DEdeg"),
    ]
    messages = {(e.row, e.column): e.message for e in parsed.errors}
    assert "name" in messages[(2, "Star")]
    assert "400" in messages[(2, "RAdeg")]
    assert "north" in messages[(2, "DEdeg")]
    assert "95" in messages[(3, "DEdeg")]
    assert "proper motion" in messages[(3, "pm_RA")]
    assert "required" in messages[(4, "RAdeg")]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"<html><body>not a votable</body>", "VOTable"),
        (b"<VOTABLE", "VOTable"),
        (
            bad_votable().replace(
                b'name="Star" datatype="char" arraysize="*" ucd="meta.id;meta.main"',
                b'name="Designation" datatype="char" arraysize="*" ucd="meta.id"',
            ),
            "name",
        ),
        (
            bad_votable()
            .replace(b'name="DEdeg"', b'name="GLAT"')
            .replace(b"pos.eq.dec;meta.main", b"pos.galactic.lat"),
            "DEC",
        ),
        (
            bad_votable()
            .replace(b'name="RAdeg"', b'name="GLON"')
            .replace(b"pos.eq.ra;meta.main", b"pos.galactic.lon"),
            "RA",
        ),
        (
            bad_votable().split(b"<TR>")[0] + b"</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>",
            "no data rows",
        ),
        (bad_votable().replace(b'unit="mas/yr"', b'unit="km/s"'), "pm_RA"),
    ],
    ids=["html", "truncated", "no-name", "no-dec", "no-ra", "empty", "pm-unit"],
)
def test_unreadable_votables_are_422_with_a_clear_detail(body: bytes, needle: str) -> None:
    with pytest.raises(TargetListError) as err:
        parse_target_list(body, "application/x-votable+xml")
    assert err.value.status == 422
    assert needle in err.value.detail


# ------------------------------------------------------------------ VOTable import: fast TABLEDATA reader


def both_readers(body: bytes) -> ParsedList:
    """The fast reader's result, once checked that it read the table and that astropy reads the same."""
    assert _read_tabledata(body) is not None, "the fast reader should read this table"
    fast = parse_votable(body)
    assert fast == parse_votable(body, fast=False)  # targets, rows, errors, ignored columns
    assert parse_target_list(body, "application/x-votable+xml") == fast
    return fast


def many(n: int) -> list[TargetOut]:
    rng = np.random.default_rng(7)
    return [
        out(
            name=f"HD {i} <{i % 7}> & co",
            ra=float(rng.uniform(0, 360)),
            dec=float(rng.uniform(-90, 90)),
            pmra=float(rng.normal(0, 40)) if i % 2 else None,
            pmdec=float(rng.normal(0, 40)) if i % 2 else None,
            parallax=float(abs(rng.normal(5, 4))) if i % 3 else None,
            mag_v=round(float(rng.uniform(2, 12)), 2),
            mag_k=round(float(rng.uniform(0, 10)), 2) if i % 5 else None,
            epoch=2016.0 if i % 11 == 0 else 2000.0,
            spectral_type="K0III" if i % 4 else None,
            notes=f"n\u00b0{i}" if i % 13 == 0 else None,
            work_package=f"WP{i % 3}",
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("targets", [sample(), many(500)], ids=["sample", "500"])
def test_fast_reader_reads_our_export_as_astropy_does(targets: list[TargetOut]) -> None:
    parsed = both_readers(write_votable(targets, CONTEXT))
    assert parsed.errors == []
    assert len(parsed.targets) == len(targets)
    assert parsed.targets[1].name == targets[1].name  # "HD 1234 <A&B>" / "HD 1 <1> & co", unescaped


def plain_table(rows: str, fields: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE>
<COOSYS ID="c" system="ICRS" epoch="J2016.0"/><TABLE nrows="99">
<FIELD name="Star" datatype="char" arraysize="*" ucd="meta.id;meta.main"/>
<FIELD name="RAdeg" datatype="double" unit="deg" ucd="pos.eq.ra;meta.main" ref="c"/>
<FIELD name="DEdeg" datatype="float" unit="deg" ucd="pos.eq.dec;meta.main" ref="c"/>
<FIELD name="Vmag" datatype="double" unit="mag" ucd="phot.mag;em.opt.V"/>
<FIELD name="Note" datatype="unicodeChar" arraysize="*" ucd="meta.note"/>{fields}
<DATA><TABLEDATA>
{rows}
</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>""".encode()


def test_fast_reader_unescapes_entities_as_the_xml_parser_does() -> None:
    parsed = both_readers(
        plain_table(
            "<TR><TD>A&amp;B &lt;x&gt; &quot;q&apos;</TD><TD>1</TD><TD>2</TD><TD/><TD>caf&#233; &#xE9;t&#xe9;</TD></TR>\n"
            "<TR><TD>&#32; &#x3B1; Lyr&#9;</TD><TD> 2.5 </TD><TD>\n-3\n</TD><TD>&#49;.5</TD><TD>&#60;&amp;&#62;</TD></TR>\r\n"
        )
    )
    assert [t.name for t in parsed.targets] == ["A&B <x> \"q'", "\N{GREEK SMALL LETTER ALPHA} Lyr"]
    assert [t.notes for t in parsed.targets] == ["caf\u00e9 \u00e9t\u00e9", "<&>"]
    assert (parsed.targets[1].ra, parsed.targets[1].dec, parsed.targets[1].mag_v) == (2.5, -3.0, 1.5)
    assert {t.epoch for t in parsed.targets} == {2016.0}


def test_fast_reader_empty_cells_are_nulls_as_in_astropy() -> None:
    parsed = both_readers(
        plain_table(
            "<TR><TD>a</TD><TD>1</TD><TD>2</TD><TD/><TD></TD></TR>"
            "<TR><TD>b</TD><TD>1</TD><TD>2</TD><TD></TD><TD/></TR>\n"
            "<TR>\n <TD>c</TD>\n <TD>1</TD>\n <TD>2</TD>\n <TD>NaN</TD>\n <TD>  </TD>\n</TR>"
            "<TR><TD/><TD/><TD></TD><TD>4</TD><TD>x</TD></TR>"
        )
    )
    assert [(t.name, t.mag_v, t.notes) for t in parsed.targets] == [
        ("a", None, None),
        ("b", None, None),
        ("c", None, None),
    ]
    assert [(e.row, e.column) for e in parsed.errors] == [(4, "Star"), (4, "RAdeg"), (4, "DEdeg")]


def test_fast_reader_reports_bad_cells_on_the_same_rows_and_columns() -> None:
    parsed = both_readers(bad_votable())
    assert parsed.rows == [1, 5]
    assert [(e.row, e.column) for e in parsed.errors][:3] == [(2, "Star"), (2, "RAdeg"), (2, "DEdeg")]
    # a double cell that is no number is a missing one for astropy: so here
    parsed = both_readers(
        plain_table(
            "<TR><TD>a</TD><TD>east</TD><TD>2</TD><TD>bright</TD><TD/></TR>"
            "<TR><TD>b</TD><TD>1e400</TD><TD>95</TD><TD>99</TD><TD/></TR>"
            "<TR><TD>c</TD><TD>360</TD><TD>-90</TD><TD>1_0</TD><TD/></TR>"
        )
    )
    assert [(e.row, e.column) for e in parsed.errors] == [
        (1, "RAdeg"),
        (2, "RAdeg"),
        (2, "DEdeg"),
        (2, "Vmag"),
    ]
    assert "required" in parsed.errors[0].message
    assert [(t.name, t.ra, t.mag_v) for t in parsed.targets] == [("c", 0.0, 10.0)]


def test_fast_reader_reads_sexagesimal_and_typed_columns_through_astropys_converters() -> None:
    parsed = both_readers(simbad_like())
    assert [t.name for t in parsed.targets] == ["* alf Ori", "* del Ori"]
    assert parsed.targets[0].hip == "27989"  # an int column
    padded = simbad_like().replace(b"<TD>05 55 10.3053</TD>", b"<TD>\n 05 55 10.3053 </TD>")
    assert both_readers(padded).targets == parsed.targets
    wrong = simbad_like().replace(b"<TD>+07 24 25.426</TD>", b"<TD> north </TD>")
    errors = both_readers(wrong).errors
    assert [(e.row, e.column) for e in errors] == [(1, "DEC")]
    assert "'north'" in errors[0].message  # quoted as astropy hands it over, without the blanks


@pytest.mark.parametrize("serialisation", ["binary", "binary2"])
def test_binary_votables_still_go_through_astropy(serialisation: str) -> None:
    data = astropy_votable(serialisation)
    assert _read_tabledata(data) is None
    assert parse_votable(data) == parse_votable(data, fast=False)
    assert [t.name for t in parse_votable(data).targets] == [ALPHA_LYR, "Vega B"]


@pytest.mark.parametrize(
    "body",
    [
        plain_table("<TR><TD>a</TD><TD>1</TD><TD>2</TD><TD/></TR>"),  # a cell short
        plain_table("<TR><TD>a</TD><TD>1</TD><TD>2</TD><TD/><TD/><TD/></TR>"),  # a cell too many
        plain_table("<TR><TD>a &eacute;</TD><TD>1</TD><TD>2</TD><TD/><TD/></TR>"),  # no such entity
        plain_table("<TR><TD>a & b</TD><TD>1</TD><TD>2</TD><TD/><TD/></TR>"),  # a bare ampersand
        plain_table("<TR><TD>a</TD><TD>1</TD><TD>2</TD><TD/><TD/></TR>", '<FIELD name="n" datatype="int"/>')[
            :-60
        ],
        plain_table(
            "<TR><TD>a</TD><TD>1</TD><TD>2</TD><TD/><TD/><TD>x</TD></TR>", '<FIELD name="n" datatype="int"/>'
        ),
        plain_table("<TR><TD><![CDATA[a <b>]]></TD><TD>1</TD><TD>2</TD><TD/><TD/></TR>"),
        plain_table("<TR><TD>a<!-- c --></TD><TD>1</TD><TD>2</TD><TD/><TD/></TR>"),
        plain_table('<TR ID="r1"><TD>a</TD><TD>1</TD><TD>2</TD><TD/><TD/></TR>'),
        plain_table("<TR><TD>a</TD><TD>1</TD><TD>2</TD><TD/><TD/></TR>").replace(b"UTF-8", b"ISO-8859-1"),
        plain_table("<TR><TD>a</TD><TD>1</TD><TD>2</TD><TD/><TD/></TR>") + b"<!-- <TABLEDATA> -->",
    ],
    ids=[
        "short-row",
        "long-row",
        "unknown-entity",
        "bare-ampersand",
        "truncated",
        "bad-int",
        "cdata",
        "comment",
        "tr-attribute",
        "latin-1",
        "two-tabledata",
    ],
)
def test_anything_but_plain_tabledata_is_left_to_astropy(body: bytes) -> None:
    assert _read_tabledata(body) is None

    def outcome(fast: bool) -> object:
        try:
            return parse_votable(body, fast=fast)
        except TargetListError as exc:
            return (exc.status, exc.detail)

    assert outcome(True) == outcome(False)


# --------------------------------------------------------------------------------------- content types


def test_unknown_content_type_is_415() -> None:
    with pytest.raises(TargetListError) as err:
        parse_target_list(b"\x89PNG", "image/png")
    assert err.value.status == 415
    assert "text/csv" in err.value.detail


@pytest.mark.parametrize("media", [None, "application/octet-stream"])
def test_format_is_sniffed_when_the_type_says_nothing(media: str | None) -> None:
    assert parse_target_list(write_votable(sample(), CONTEXT), media).format == "votable"
    assert parse_target_list(write_json(sample()), media).format == "json"
    assert parse_target_list(b'[{"name": "x", "ra": 1, "dec": 2}]', media).format == "json"
    assert parse_target_list(write_csv(sample()), media).format == "csv"


def test_content_type_parameters_are_ignored() -> None:
    parsed = parse_target_list(b"name,ra,dec\nx,1,2\n", "Text/CSV; charset=utf-8")
    assert parsed.format == "csv"
    assert parsed.targets[0].ra == 1.0


# --------------------------------------------------------------------------------------- CSV


def test_csv_with_aliases_sexagesimal_and_bom() -> None:
    body = (
        "\ufeffMAIN_ID,RAJ2000,DEJ2000,V,K,sp_type,2MASS,pmRA,pmDE,WP,Colour\r\n"
        "del Ori,05 32 00.40,-00 17 56.7,2.41,2.56,O9.5II,J05320039-0017567,0.64,-0.69,WP1,blue\r\n"
        "Vega,279.23473479,+38.78368896,0.03,,A0Va,,200.94,286.23,,white\r\n"
        "Sirius,06:45:08.917,-16:42:58.02,-1.46,,,,,,,\r\n"
    ).encode()
    parsed = parse_target_list(body, "text/csv")
    assert parsed.errors == []
    assert parsed.ignored_columns == []
    assert [t.properties.get("Colour") for t in parsed.targets] == ["blue", "white", None]
    assert parsed.rows == [2, 3, 4]
    delta, vega, sirius = parsed.targets
    assert delta.name == "del Ori"  # the BOM is not part of the first header
    assert delta.ra == pytest.approx(83.001666667, abs=1e-8)  # hours
    assert delta.dec == pytest.approx(-0.299083333, abs=1e-8)  # degrees, negative despite "-00"
    assert (delta.mag_v, delta.mag_k, delta.spectral_type, delta.tmass) == (
        2.41,
        2.56,
        "O9.5II",
        "J05320039-0017567",
    )
    assert (delta.pmra, delta.pmdec, delta.work_package) == (0.64, -0.69, "WP1")
    assert (vega.ra, vega.dec, vega.mag_k, vega.work_package) == (279.23473479, 38.78368896, None, None)
    assert sirius.ra == pytest.approx(15 * (6 + 45 / 60 + 8.917 / 3600), abs=1e-9)
    assert sirius.mag_v == -1.46


def test_csv_bad_cells_are_reported_with_file_line_numbers_and_header_names() -> None:
    body = (
        b"# exported by hand\n"
        b"Name,RA,Dec,Vmag\n"
        b"ok,10,20,5\n"
        b"\n"
        b"bad ra,25:00:00,20,5\n"
        b",10,20,abc\n"
        b"ok too,10 30,-05 30,\n"
        b"wide,1,2,3,4\n"
    )
    parsed = parse_target_list(body, "text/csv")
    assert [t.name for t in parsed.targets] == ["ok", "ok too"]
    assert parsed.rows == [3, 7]
    assert [(e.row, e.column) for e in parsed.errors] == [(5, "RA"), (6, "Name"), (6, "Vmag"), (8, "")]
    assert "24h" in parsed.errors[0].message
    assert "abc" in parsed.errors[2].message
    assert parsed.targets[1].ra == pytest.approx(157.5)  # 10h30m
    assert parsed.targets[1].dec == pytest.approx(-5.5)


def test_csv_semicolon_delimited() -> None:
    parsed = parse_target_list(b"star;ra_d;dec_d\nx;1.5;-2.5\n", "text/csv")
    assert (parsed.targets[0].name, parsed.targets[0].ra, parsed.targets[0].dec) == ("x", 1.5, -2.5)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"ra,dec\n1,2\n", "name"),
        (b"name,ra\nx,1\n", "dec"),
        (b"name,ra,dec\n", "no data rows"),
        (b"\n\n", "empty"),
    ],
)
def test_csv_without_required_columns_or_rows_is_422(body: bytes, needle: str) -> None:
    with pytest.raises(TargetListError) as err:
        parse_target_list(body, "text/csv")
    assert err.value.status == 422
    assert needle in err.value.detail


def test_csv_that_is_not_utf8_is_422() -> None:
    with pytest.raises(TargetListError) as err:
        parse_target_list("name,ra,dec\nBételgeuse,1,2\n".encode("latin-1"), "text/csv")
    assert "UTF-8" in err.value.detail


# --------------------------------------------------------------------------------------- JSON


def test_json_list_with_unknown_keys_and_bad_values_names_every_field() -> None:
    body = json.dumps(
        [
            {"name": "ok", "ra": 1.0, "dec": 2.0, "pmra": 3.0},
            {"name": "typo", "ra": 1.0, "dec": 2.0, "magv": 3.0},
            {"name": "bad", "ra": "east", "dec": 2.0, "mag_k": True},
            {"ra": 1.0, "dec": 2.0},
            "not an object",
            {"name": "sexagesimal", "ra": "01 00 00", "dec": "-10 30 00", "work_package": "WP 1"},
            {"name": "fine", "ra": 359.0, "dec": -89.0, "work_package": "WP1", "epoch": 2016.0},
        ]
    ).encode()
    parsed = parse_target_list(body, "application/json")
    assert [t.name for t in parsed.targets] == ["ok", "fine"]
    assert parsed.rows == [1, 7]
    assert [(e.row, e.column) for e in parsed.errors] == [
        (2, "magv"),
        (3, "ra"),
        (3, "mag_k"),
        (4, "name"),
        (5, ""),
        (6, "work_package"),
    ]
    assert parsed.targets[1].epoch == 2016.0


def test_json_object_form() -> None:
    parsed = parse_target_list(b'{"targets": [{"name": "x", "ra": 1, "dec": 2}]}', "application/json")
    assert parsed.targets == [TargetIn(name="x", ra=1.0, dec=2.0)]


@pytest.mark.parametrize("body", [b"{not json", b'{"stars": []}', b'"text"', b"[]"])
def test_unusable_json_is_422(body: bytes) -> None:
    with pytest.raises(TargetListError) as err:
        parse_target_list(body, "application/json")
    assert err.value.status == 422


# --------------------------------------------------------------------------------------- duplicates


def t(name: str, ra: float, dec: float, **kw: object) -> TargetIn:
    return TargetIn(name=name, ra=ra, dec=dec, **kw)  # type: ignore[arg-type]


def test_same_name_ignoring_case_and_spaces_within_the_list_and_against_stored_targets() -> None:
    new = [t("HD 1234", 10, 10), t("hd  1234 ", 50, 50), t("Vega", 279.2, 38.7)]
    existing = [("VEGA", 100.0, -10.0, 2000.0, None, None)]
    found = find_duplicates(new, [2, 3, 4], existing)
    assert [(d.row, d.other_row, d.other_target, d.reason) for d in found] == [
        (3, 2, None, "same name"),
        (4, None, "VEGA", "same name"),
    ]


def test_positions_half_an_arcsec_apart_are_duplicates_one_and_a_half_are_not() -> None:
    step = 1 / 3600
    new = [
        t("a", 120.0, 30.0),
        t("b", 120.0, 30.0 + 0.5 * step),
        t("c", 200.0, -30.0),
        t("d", 200.0, -30.0 + 1.5 * step),
    ]
    found = find_duplicates(new, [1, 2, 3, 4], [])
    assert [(d.row, d.other_row) for d in found] == [(2, 1)]
    assert found[0].reason == "within 1.0 arcsec (0.50 arcsec)"
    # a larger radius catches the second pair
    assert [(d.row, d.other_row) for d in find_duplicates(new, [1, 2, 3, 4], [], radius_arcsec=2.0)] == [
        (2, 1),
        (4, 3),
    ]


def units_votable(version: str, ra_unit: str, pm_unit: str) -> bytes:
    """Units as the SPICA science database and VizieR write them: sexagesimal, scaled, unparseable."""
    return f"""<?xml version="1.0"?>
<VOTABLE version="{version}"><RESOURCE><TABLE>
<FIELD name="Star" datatype="char" arraysize="*" ucd="meta.id;meta.main"/>
<FIELD name="RA" datatype="char" arraysize="*" unit="{ra_unit}" ucd="pos.eq.ra;meta.main"/>
<FIELD name="DEC" datatype="char" arraysize="*" unit='d:m:s' ucd="pos.eq.dec;meta.main"/>
<FIELD name="pmRA" datatype="double" unit="{pm_unit}" ucd="pos.pm;pos.eq.ra"/>
<FIELD name="plx" datatype="double" unit="arcsec" ucd="pos.parallax.trig"/>
<FIELD name="logg" datatype="double" unit="log(cm.s**-2)" ucd="phys.gravity"/>
<FIELD name="Teff" datatype="double"
  unit="K" ucd="phys.temperature.effective"/>
<DATA><TABLEDATA>
<TR><TD>a</TD><TD>01:02:03.5</TD><TD>-20:15:00</TD><TD>1.5</TD><TD>0.01</TD><TD>4.4</TD><TD>5800</TD></TR>
</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>""".encode()


@pytest.mark.parametrize("version", ["1.3", "1.4"])
def test_fast_reader_reads_units_as_astropy_does(version: str) -> None:
    parsed = both_readers(units_votable(version, "h:m:s", "arcsec/yr"))
    target = parsed.targets[0]
    assert target.ra == pytest.approx(15.5145833, abs=1e-6)
    assert target.pmra == pytest.approx(1500.0)
    assert target.parallax == pytest.approx(10.0)
    units = {c.name: c.unit for c in parsed.columns}
    assert (units["logg"], units["DEC"], units["pmRA"]) == ("log(cm.s**-2)", "d:m:s", "arcsec/yr")
    for body in (units_votable(version, "h:m:s", "km/s"), units_votable(version, "furlong", "mas/yr")):
        with pytest.raises(TargetListError) as fast:
            parse_votable(body)
        with pytest.raises(TargetListError) as slow:
            parse_votable(body, fast=False)
        assert fast.value.detail == slow.value.detail


def test_a_fast_star_at_two_epochs_is_one_star_after_proper_motion() -> None:
    # Barnard's star, Simbad (J2000) against a Gaia-like position at J2016
    pm = (-801.551, 10362.394)
    ra16, dec16 = propagate(269.45207511, 4.69339088, *pm, 2000.0, 2016.0)
    stored = [("Barnard's star", 269.45207511, 4.69339088, 2000.0, *pm)]
    new = [
        t("Gaia DR3 4472832130942575872", float(ra16), float(dec16), epoch=2016.0, pmra=pm[0], pmdec=pm[1])
    ]
    found = find_duplicates(new, [7], stored)
    assert len(found) == 1
    assert (found[0].row, found[0].other_target) == (7, "Barnard's star")
    assert found[0].reason.startswith("within 1.0 arcsec after proper motion (")
    # without the proper motion the two positions are 166 arcsec apart: not the same star
    bare = [t("Gaia", float(ra16), float(dec16), epoch=2016.0)]
    assert (
        find_duplicates(bare, [7], [("Barnard's star", 269.45207511, 4.69339088, 2000.0, None, None)]) == []
    )


def test_planted_duplicate_among_100k_random_targets() -> None:
    rng = np.random.default_rng(42)
    n = 100_000
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    new = [
        TargetIn(name=f"S{i}", ra=float(r), dec=float(d))
        for i, (r, d) in enumerate(zip(ra, dec, strict=True))
    ]
    new.append(TargetIn(name="twin", ra=float(ra[12345]), dec=float(min(dec[12345] + 0.3 / 3600, 90.0))))
    existing = [("stored twin", float(ra[777]), float(dec[777]), 2000.0, 0.0, 0.0)]
    found = find_duplicates(new, list(range(2, n + 3)), existing)
    assert [(d.row, d.other_row, d.other_target) for d in found] == [
        (779, None, "stored twin"),
        (n + 2, 12347, None),
    ]
    assert math.isclose(float(found[1].reason.split("(")[1].split()[0]), 0.30, abs_tol=0.01)
