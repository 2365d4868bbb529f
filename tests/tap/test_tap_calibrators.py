"""The calibrator catalogue (catalogues.calibrators): VOTables as JSDC, SearchCal and GetStar write them,
imported with `spicadb catalogue import`, then read as TAP's reader role reads it, with the cone query an
astronomer asks ("calibrators within 5 degrees of my target, V 4-8, LDD < 0.5 mas")."""

from __future__ import annotations

import asyncio
import io
import math
import multiprocessing
import os
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import asyncpg
import pytest
from astropy.io.votable import parse as parse_votable
from calibrator_votables import Star, make_star, stars, write_getstar, write_jsdc, write_searchcal
from queryparser.adql import ADQLQueryTranslator
from spicadb_tap.calibrators.columns import BadRow
from spicadb_tap.calibrators.importer import BadRowsRefused, CatalogueError, ImportRefused, import_catalogue
from spicadb_tap.spec import SPEC
from tap_query_support import rows_of as votable_rows
from tap_query_support import tap_alone, votable_table

from spicadb_kit.infra import NatsServer, PostgresCluster
from spicadb_kit.migrate import migrate_service
from spicadb_kit.published import READER_ROLE, read_catalogue
from spicadb_kit.testing.services import role_dsn
from spicadb_kit.testing.tokens import TokenFactory

VEGA = (279.2347, 38.7837)
SPICADB = Path(sys.executable).with_name("spicadb")


@pytest.fixture
async def tap_dsn(database: str) -> str:
    """A database with the tap service's migrations: its role's DSN."""
    conn = await asyncpg.connect(database)
    try:
        await migrate_service(conn, SPEC)
    finally:
        await conn.close()
    return role_dsn(database, SPEC.role)


@pytest.fixture
async def conn(tap_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """Connected as the tap service's role (as the command connects)."""
    connection = await asyncpg.connect(tap_dsn)
    yield connection
    await connection.close()


def jsdc_file(tmp_path: Path, rows: Iterable[Star], name: str = "jsdc.vot", **kw: bool) -> Path:
    path = tmp_path / name
    with path.open("w") as out:
        write_jsdc(out, rows, **kw)
    return path


def searchcal_file(tmp_path: Path, rows: Iterable[Star], name: str = "searchcal.vot") -> Path:
    path = tmp_path / name
    with path.open("w") as out:
        write_searchcal(out, rows)
    return path


async def rows_of(conn: asyncpg.Connection, source: str) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM catalogues.calibrators WHERE source = $1 ORDER BY name", source)


def close(a: float, b: float, arcsec: float = 0.01) -> bool:
    return abs(a - b) * 3600.0 < arcsec


# ------------------------------------------------------------------------------------- the three shapes


async def test_a_jsdc_catalogue_imports_with_its_names_positions_magnitudes_diameters_and_flags(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    generated = list(stars(40))
    summary = await import_catalogue(conn, jsdc_file(tmp_path, generated), source="jsdc")
    assert (summary.rows_read, summary.rows_imported, summary.rows_skipped) == (40, 40, 0)
    rows = {r["name"]: r for r in await rows_of(conn, "jsdc")}
    assert len(rows) == 40
    for star in generated:
        row = rows[star.label]
        assert close(row["ra"], star.ra)
        assert close(row["dec"], star.dec)
        assert row["vmag"] == star.mags["V"]
        assert row["kmag"] == star.mags["K"]
        assert row["rmag"] == star.mags["R"]  # None where JSDC writes NaN
        assert (row["ldd"], row["e_ldd"], row["uddk"]) == (star.ldd, star.e_ldd, star.ud["K"])
        assert (row["pmra"], row["pmdec"], row["parallax"]) == (star.pmra, star.pmdec, star.plx)
        assert (row["sptype"], row["calflag"], row["bad_calibrator"]) == (star.sptype, star.calflag, False)
        assert row["import_id"] == summary.import_id
    assert any(r["rmag"] is None for r in rows.values())


async def test_a_searchcal_answer_imports_with_names_built_from_its_identifiers(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    generated = list(stars(12, seed=3))
    await import_catalogue(conn, searchcal_file(tmp_path, generated), source="searchcal")
    rows = {r["name"]: r for r in await rows_of(conn, "searchcal")}
    # SearchCal's older servers write no Name: HD first, as SearchCal itself names a star
    assert set(rows) == {f"HD {s.hd}" for s in generated}
    for star in generated:
        row = rows[f"HD {star.hd}"]
        assert close(row["ra"], star.ra)
        assert close(row["dec"], star.dec)
        assert row["hip"] == str(star.hip)
        assert row["tyc"] == "-".join(map(str, star.tyc or ()))
        assert (row["vmag"], row["ldd"], row["diam_vk"], row["uddh"]) == (
            star.mags["V"],
            star.ldd,
            star.ldd,
            star.ud["H"],
        )
        assert row["diamflag"] is True
        assert row["calflag"] == star.calflag


async def test_a_getstar_answer_imports_its_one_star(conn: asyncpg.Connection, tmp_path: Path) -> None:
    path = tmp_path / "getstar.vot"
    with path.open("w") as out:
        write_getstar(out, make_star(7, *VEGA, name="alf Lyr", v=0.03, ldd=3.28))
    summary = await import_catalogue(conn, path, source="getstar")
    [row] = await rows_of(conn, "getstar")
    assert summary.rows_imported == 1
    assert row["name"] == "alf Lyr"
    assert close(row["ra"], VEGA[0])
    assert close(row["dec"], VEGA[1])
    assert (row["vmag"], row["ldd"]) == (0.03, 3.28)


async def test_sexagesimal_positions_of_both_hemispheres_and_of_the_first_degree_south(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    # "-00 30 00.000" is half a degree south: the sign is on a zero
    placed = [
        make_star(1, 279.23473479, 38.78368896, name="north"),
        make_star(2, 10.5, -0.5, name="first degree south"),
        make_star(3, 359.99999, -89.5, name="near the pole"),
        make_star(4, 0.0, 0.0, name="origin"),
    ]
    await import_catalogue(conn, jsdc_file(tmp_path, placed), source="sexagesimal")
    rows = {r["name"]: r for r in await rows_of(conn, "sexagesimal")}
    for star in placed:
        assert close(rows[star.label]["ra"], star.ra, 0.002), star.label
        assert close(rows[star.label]["dec"], star.dec, 0.002), star.label
    assert rows["first degree south"]["dec"] < 0


async def test_decimal_positions_import_too(conn: asyncpg.Connection, tmp_path: Path) -> None:
    generated = list(stars(5, seed=9))
    await import_catalogue(conn, jsdc_file(tmp_path, generated, sexagesimal=False), source="decimal")
    rows = {r["name"]: r for r in await rows_of(conn, "decimal")}
    assert all(rows[s.label]["ra"] == s.ra and rows[s.label]["dec"] == s.dec for s in generated)


async def test_rows_with_entities_comments_and_cdata_read_as_xml_means_them(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    text = io.StringIO()
    write_jsdc(text, [make_star(1, 10.0, 20.0, name="A"), make_star(2, 11.0, 21.0, name="B")])
    content = (
        text.getvalue()
        .replace("<TD>A</TD>", "<TD>HD 1 A&amp;B &lt;pair&gt;</TD>")
        .replace("</TR>\n<TR>", "</TR>\n<!-- a comment </TR> -->\n<TR>", 1)
        .replace("<TD>B</TD>", "<TD><![CDATA[B <CDATA>]]></TD>")
    )
    path = tmp_path / "escaped.vot"
    path.write_text(content)
    await import_catalogue(conn, path, source="escaped")
    rows = await rows_of(conn, "escaped")
    assert [r["name"] for r in rows] == ["B <CDATA>", "HD 1 A&B <pair>"]
    assert [round(r["ra"], 6) for r in rows] == [11.0, 10.0]


async def test_binary_and_binary2_serialisations_import_the_same_rows_as_tabledata(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    """TOPCAT and astropy write BINARY2 (and BINARY): the same catalogue, rewritten by astropy."""
    tabledata = jsdc_file(tmp_path, stars(300))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        document = parse_votable(tabledata)
    await import_catalogue(conn, tabledata, source="tabledata")
    expected = [dict(r) | {"source": None, "import_id": None} for r in await rows_of(conn, "tabledata")]
    for serialisation in ("binary", "binary2"):
        document.get_first_table().format = serialisation
        path = tmp_path / f"{serialisation}.vot"
        document.to_xml(str(path))
        assert f"<{serialisation.upper()}>" in path.read_text()[:20_000]
        await import_catalogue(conn, path, source=serialisation)
        rows = [dict(r) | {"source": None, "import_id": None} for r in await rows_of(conn, serialisation)]
        assert rows == expected, serialisation


MINIMAL = """<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>
<FIELD name="RA_ICRS" datatype="double" ucd="pos.eq.ra;meta.main" unit="deg"/>
<FIELD name="DE_ICRS" datatype="double" ucd="pos.eq.dec;meta.main" unit="deg"/>
<FIELD name="Vmag" datatype="float" ucd="phot.mag;em.opt.V" unit="mag"/>
<FIELD name="theta" datatype="double" ucd="phys.angDiam" unit="arcsec"/>
<FIELD name="BadCal" datatype="boolean"/>
<DATA><TABLEDATA>
<TR><TD>10.5</TD><TD>-20.25</TD><TD>5.5</TD><TD>0.0004</TD><TD>T</TD></TR>
<TR><TD>11.5</TD><TD>-21.25</TD><TD>6.5</TD><TD>0.0003</TD><TD>F</TD></TR>
<TR><TD>12.5</TD><TD>-22.25</TD><TD></TD><TD></TD><TD/></TR>
</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>
"""


async def test_the_table_with_data_is_read_when_a_metadata_table_comes_first(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    described = MINIMAL.replace(
        "<RESOURCE><TABLE>",
        '<RESOURCE><TABLE name="about"><FIELD name="note" datatype="char" arraysize="*"/></TABLE><TABLE>',
    )
    path = tmp_path / "two_tables.vot"
    path.write_text(described)
    summary = await import_catalogue(conn, path, source="two")
    assert summary.rows_imported == 3
    assert await conn.fetchval("SELECT count(*) FROM catalogues.calibrators WHERE vmag = 5.5") == 1


async def test_a_minimal_table_maps_by_ucd_converts_units_and_names_rows_by_position(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "minimal.vot"
    path.write_text(MINIMAL)
    summary = await import_catalogue(conn, path, source="minimal")
    assert {(s.column, s.field) for s in summary.columns} >= {("ldd", "theta"), ("bad_calibrator", "BadCal")}
    rows = await conn.fetch(
        "SELECT name, ra, dec, vmag, ldd, bad_calibrator FROM catalogues.calibrators ORDER BY ra"
    )
    assert [tuple(r) for r in rows] == [
        ("10.500000 -20.250000", 10.5, -20.25, 5.5, pytest.approx(0.4), True),
        ("11.500000 -21.250000", 11.5, -21.25, 6.5, pytest.approx(0.3), False),
        ("12.500000 -22.250000", 12.5, -22.25, None, None, False),
    ]


# --------------------------------------------------------------------------------- replacing a source


async def test_a_new_import_of_a_source_replaces_its_rows_and_leaves_other_sources_alone(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    first = await import_catalogue(conn, jsdc_file(tmp_path, stars(6), "a1.vot"), source="jsdc")
    await import_catalogue(conn, searchcal_file(tmp_path, stars(3, seed=5)), source="searchcal")
    with pytest.raises(ImportRefused, match="--replace"):
        await import_catalogue(conn, jsdc_file(tmp_path, stars(2, seed=8), "a2.vot"), source="jsdc")
    assert len(await rows_of(conn, "jsdc")) == 6
    second = await import_catalogue(
        conn, jsdc_file(tmp_path, stars(2, seed=8), "a2.vot"), source="jsdc", replace=True
    )
    assert second.replaced == 6
    assert second.import_id != first.import_id
    rows = await rows_of(conn, "jsdc")
    assert len(rows) == 2
    assert {r["import_id"] for r in rows} == {second.import_id}
    assert len(await rows_of(conn, "searchcal")) == 3


async def test_readers_see_the_old_catalogue_or_the_new_one_never_a_mixture(
    conn: asyncpg.Connection, tap_dsn: str, tmp_path: Path
) -> None:
    await import_catalogue(conn, jsdc_file(tmp_path, stars(300), "old.vot"), source="jsdc")
    await import_catalogue(conn, searchcal_file(tmp_path, stars(7, seed=4)), source="searchcal")
    new = jsdc_file(tmp_path, stars(20_000, seed=6), "new.vot")
    reader = await asyncpg.connect(tap_dsn)
    try:
        replacing = asyncio.ensure_future(
            import_catalogue(conn, new, source="jsdc", replace=True, batch_size=1000)
        )
        seen = set()
        while not replacing.done():
            seen.add(
                tuple(
                    await reader.fetch(
                        "SELECT source, count(*) FROM catalogues.calibrators GROUP BY source ORDER BY source"
                    )
                )
            )
            await asyncio.sleep(0.01)
        await replacing
        seen.add(
            tuple(
                await reader.fetch(
                    "SELECT source, count(*) FROM catalogues.calibrators GROUP BY source ORDER BY source"
                )
            )
        )
    finally:
        await reader.close()
    assert {tuple(map(tuple, s)) for s in seen} <= {
        (("jsdc", 300), ("searchcal", 7)),
        (("jsdc", 20_000), ("searchcal", 7)),
    }
    assert len(await rows_of(conn, "jsdc")) == 20_000


async def test_two_first_imports_of_one_source_at_once_import_it_once(tap_dsn: str, tmp_path: Path) -> None:
    first, second = await asyncpg.connect(tap_dsn), await asyncpg.connect(tap_dsn)
    try:
        results = await asyncio.gather(
            import_catalogue(first, jsdc_file(tmp_path, stars(2000), "a.vot"), source="jsdc"),
            import_catalogue(second, jsdc_file(tmp_path, stars(2000, seed=1), "b.vot"), source="jsdc"),
            return_exceptions=True,
        )
        assert sorted(type(r).__name__ for r in results) == ["ImportRefused", "ImportSummary"]
        assert await first.fetchval("SELECT count(*) FROM catalogues.calibrators") == 2000
    finally:
        await first.close()
        await second.close()


async def test_a_refused_replacement_keeps_the_previous_rows(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    await import_catalogue(conn, jsdc_file(tmp_path, stars(4), "good.vot"), source="jsdc")
    bad = list(stars(30, seed=2))
    bad[25].dec = math.nan
    with pytest.raises(BadRowsRefused):
        await import_catalogue(
            conn, jsdc_file(tmp_path, bad, "bad.vot", sexagesimal=False), source="jsdc", replace=True
        )
    assert len(await rows_of(conn, "jsdc")) == 4


# ------------------------------------------------------------------------------------------ bad rows


def with_bad_rows(tmp_path: Path) -> Path:
    """A JSDC file whose 3rd row's RAJ2000 is not a position and whose 5th row's DEJ2000 is NaN."""
    text = io.StringIO()
    write_jsdc(text, stars(6))
    lines = text.getvalue().splitlines(keepends=True)
    rows = [i for i, line in enumerate(lines) if line.startswith("<TR>")]
    third, fifth = rows[2], rows[4]
    cells = lines[third].split("</TD>")
    cells[1] = "<TD>12h xx"
    lines[third] = "</TD>".join(cells)
    cells = lines[fifth].split("</TD>")
    cells[2] = "<TD>NaN"
    lines[fifth] = "</TD>".join(cells)
    path = tmp_path / "bad.vot"
    path.write_text("".join(lines))
    return path


async def test_a_bad_row_refuses_the_file_naming_its_row_and_column(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    with pytest.raises(BadRowsRefused) as refused:
        await import_catalogue(conn, with_bad_rows(tmp_path), source="jsdc")
    assert (refused.value.bad.row, refused.value.bad.column) == (3, "RAJ2000")
    assert "row 3, RAJ2000" in str(refused.value)
    assert await rows_of(conn, "jsdc") == []
    assert await conn.fetchval("SELECT count(*) FROM tap.calibrator_imports") == 0


async def test_a_bad_row_early_in_a_large_file_stops_its_reader(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    generated = list(stars(20_000, seed=12))
    generated[2].ra = math.nan
    path = jsdc_file(tmp_path, generated, "large_bad.vot", sexagesimal=False)
    with pytest.raises(BadRowsRefused, match="row 3"):
        await import_catalogue(conn, path, source="jsdc", batch_size=500)
    assert multiprocessing.active_children() == []  # the child reading ahead was ended
    assert await rows_of(conn, "jsdc") == []


async def test_bad_rows_are_skipped_and_reported_when_asked(conn: asyncpg.Connection, tmp_path: Path) -> None:
    reported: list[BadRow] = []
    summary = await import_catalogue(
        conn, with_bad_rows(tmp_path), source="jsdc", skip_bad=True, report=reported.append
    )
    assert [(b.row, b.column) for b in reported] == [(3, "RAJ2000"), (5, None)]
    assert "no position" in reported[1].message
    assert (summary.rows_read, summary.rows_imported, summary.rows_skipped) == (6, 4, 2)
    assert len(await rows_of(conn, "jsdc")) == 4


async def test_an_integer_postgresql_would_refuse_is_a_bad_row_not_a_failure(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    stars_ = [make_star(1, 10.0, 20.0, name="A", calflag=99_999_999_999), make_star(2, 11.0, 21.0, name="B")]
    reported: list[BadRow] = []
    summary = await import_catalogue(
        conn, jsdc_file(tmp_path, stars_), source="cells", skip_bad=True, report=reported.append
    )
    assert [(b.row, b.column) for b in reported] == [(1, "CalFlag")]
    assert "out of range" in reported[0].message
    assert summary.rows_imported == 1
    assert [r["name"] for r in await rows_of(conn, "cells")] == ["B"]


async def test_files_that_cannot_be_imported_are_refused_with_a_reason(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    text = io.StringIO()
    write_jsdc(text, stars(3))
    original = text.getvalue()
    decimal = io.StringIO()
    write_jsdc(decimal, stars(3), sexagesimal=False)
    write_decimal = decimal.getvalue()
    assert 'unit="deg"' in write_decimal
    cases = {
        "fits.vot": (
            original.split("<DATA>")[0] + "<DATA><FITS><STREAM href='http://x/y.fits'/></FITS></DATA>"
            "</TABLE></RESOURCE></VOTABLE>",
            "FITS",
        ),
        "not_base64.vot": (
            original.split("<DATA>")[0]
            + "<DATA><BINARY2><STREAM encoding='base64'>A*A=</STREAM></BINARY2></DATA>"
            "</TABLE></RESOURCE></VOTABLE>",
            "base64",
        ),
        "short_binary.vot": (
            original.split("<DATA>")[0]
            + "<DATA><BINARY2><STREAM encoding='base64'>AAAA</STREAM></BINARY2></DATA>"
            "</TABLE></RESOURCE></VOTABLE>",
            "ends inside a row",
        ),
        "galactic.vot": (original.replace('system="ICRS"', 'system="galactic"'), "galactic"),
        "gaia_epoch.vot": (original.replace('epoch="J2000"', 'epoch="J2016.0"'), "epoch"),
        "besselian_epoch.vot": (original.replace('epoch="J2000"', 'epoch="B1950"'), "epoch B1950"),
        "fk5_b1950.vot": (
            original.replace('system="ICRS" epoch="J2000"', 'system="eq_FK5" equinox="B1950" epoch="J2000"'),
            "eq_FK5 B1950",
        ),
        "unit.vot": (
            original.replace('ucd="phys.angDiam" unit="mas"', 'ucd="phys.angDiam" unit="mag"'),
            "LDD",
        ),
        "no_position.vot": (
            original.replace('name="RAJ2000"', 'name="X"').replace("pos.eq.ra;", "x;"),
            "position",
        ),
        "truncated.vot": (original[: len(original) // 2 + 40], "ends inside|well-formed"),
        "not_xml.vot": ("this is no VOTable", "XML"),
        "ra_unit.vot": (
            write_decimal.replace(
                'name="RAJ2000" datatype="double" ucd="pos.eq.ra;meta.main" unit="deg"',
                'name="RAJ2000" datatype="double" ucd="pos.eq.ra;meta.main" unit="degrees"',
            ),
            "degrees",
        ),
    }
    for name, (content, reason) in cases.items():
        path = tmp_path / name
        path.write_text(content)
        with pytest.raises(CatalogueError, match=reason):
            await import_catalogue(conn, path, source=name)
    assert await conn.fetchval("SELECT count(*) FROM catalogues.calibrators") == 0


# ------------------------------------------------------------------------------ reading as TAP reads


def around_vega() -> list[Star]:
    """Stars placed at known distances from Vega, with V and LDD in and out of the question's bounds."""
    ra, dec = VEGA

    def at(number: int, separation: float, v: float, ldd: float | None, name: str) -> Star:
        # due north (or south past the pole's side) by ``separation`` degrees
        return make_star(number, ra, dec + separation, v=v, ldd=ldd, name=name)

    return [
        at(1, 0.5, 5.0, 0.3, "in"),
        at(2, 4.9, 7.9, 0.49, "in at the edges"),
        at(3, -3.0, 4.0, 0.1, "in, south"),
        at(4, 5.1, 6.0, 0.3, "too far"),
        at(5, 1.0, 8.5, 0.3, "too faint"),
        at(6, 1.0, 3.5, 0.3, "too bright"),
        at(7, 1.0, 6.0, 0.6, "too large"),
        at(8, 1.0, 6.0, None, "no diameter"),
        make_star(9, (ra + 180.0) % 360.0, -dec, v=6.0, ldd=0.3, name="other side of the sky"),
    ]


CONE_ADQL = (
    "SELECT name, ra, dec, vmag, ldd FROM catalogues.calibrators "
    f"WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', {VEGA[0]}, {VEGA[1]}, 5)) "
    "AND vmag BETWEEN 4 AND 8 AND ldd < 0.5"
)


async def test_the_table_is_published_and_read_by_the_reader_role_with_the_cone_query(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    await import_catalogue(conn, jsdc_file(tmp_path, around_vega()), source="jsdc")
    catalogue = {t.qualified: t for t in await read_catalogue(conn)}
    table = catalogue["catalogues.calibrators"]
    columns = {c.name: c for c in table.columns}
    assert (columns["ldd"].ucd, columns["ldd"].unit) == ("phys.angDiam", "mas")
    assert (columns["ra"].ucd, columns["vmag"].ucd, columns["pmra"].unit) == (
        "pos.eq.ra;meta.main",
        "phot.mag;em.opt.V",
        "mas/yr",
    )
    assert all(c.description for c in table.columns)

    sql = ADQLQueryTranslator(CONE_ADQL).to_postgresql()
    async with conn.transaction(readonly=True):
        await conn.execute(f'SET LOCAL ROLE "{READER_ROLE}"')
        found = {r["name"] for r in await conn.fetch(sql)}
        # the GiST index serves the translated CONTAINS as it is written
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + sql))
    assert found == {"in", "in at the edges", "in, south"}
    assert "calibrators_position" in plan


async def test_the_reader_role_cannot_write_the_catalogue(conn: asyncpg.Connection, tmp_path: Path) -> None:
    await import_catalogue(conn, jsdc_file(tmp_path, stars(2)), source="jsdc")
    async with conn.transaction():
        await conn.execute(f'SET LOCAL ROLE "{READER_ROLE}"')
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM catalogues.calibrators")


# ----------------------------------------------------------------------------------------- the command


def spicadb(dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPICADB_DATABASE_URL": dsn}
    return subprocess.run([str(SPICADB), *args], env=env, capture_output=True, text=True, timeout=120)


async def test_the_spicadb_command_imports_replaces_lists_and_refuses(tap_dsn: str, tmp_path: Path) -> None:
    path = jsdc_file(tmp_path, stars(25), "jsdc_v2.vot")
    done = spicadb(tap_dsn, "catalogue", "import", str(path))
    assert done.returncode == 0, done.stderr
    assert "jsdc_v2: 25 rows read, 25 imported, 0 skipped" in done.stdout
    again = spicadb(tap_dsn, "catalogue", "import", str(path))
    assert again.returncode == 1
    assert "--replace" in again.stderr
    replaced = spicadb(tap_dsn, "catalogue", "import", str(path), "--replace", "--source", "jsdc_v2")
    assert replaced.returncode == 0
    assert "25 rows replaced" in replaced.stdout
    bad = spicadb(tap_dsn, "catalogue", "import", str(with_bad_rows(tmp_path)), "--source", "other")
    assert bad.returncode == 1
    assert "row 3, RAJ2000" in bad.stderr
    assert "nothing imported" in bad.stderr
    skipped = spicadb(
        tap_dsn, "catalogue", "import", str(with_bad_rows(tmp_path)), "--source", "other", "--skip-bad"
    )
    assert skipped.returncode == 0, skipped.stderr
    assert "skipped row 3, RAJ2000" in skipped.stderr
    assert "4 imported, 2 skipped" in skipped.stdout
    listed = spicadb(tap_dsn, "catalogue", "list")
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:2] == ["jsdc_v2", "25"]
    assert lines[1].split()[:2] == ["other", "4"]
    assert lines[-1] == "2 catalogue sources"


# ------------------------------------------------------------------------------------ through /tap/sync


async def test_the_cone_query_through_tap_sync_answers_the_calibrators_with_their_metadata(
    pg_cluster: PostgresCluster, nats_server: NatsServer, tokens: TokenFactory, tmp_path: Path
) -> None:
    async with tap_alone(pg_cluster, nats_server.url, tokens) as tap:
        conn = await asyncpg.connect(role_dsn(tap.admin_dsn, SPEC.role))
        try:
            await import_catalogue(conn, jsdc_file(tmp_path, around_vega()), source="jsdc")
        finally:
            await conn.close()
        async with tap.client() as client:
            answer = await client.post(
                "/tap/sync", data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": CONE_ADQL}
            )
            # DEC is an ADQL reserved word: TAP_SCHEMA names the column "dec", as strict clients write it
            quoted_query = CONE_ADQL.replace("ra, dec", 'ra, "dec"')
            assert quoted_query.count('"dec"') == 2
            quoted = await client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": quoted_query})
    assert answer.status_code == 200, answer.text
    assert quoted.status_code == 200, quoted.text
    assert votable_rows(quoted.content) == votable_rows(answer.content)
    assert {r["name"] for r in votable_rows(answer.content)} == {"in", "in at the edges", "in, south"}
    fields = {f.name: f for f in votable_table(answer.content).fields}
    assert (fields["ldd"].ucd, str(fields["ldd"].unit)) == ("phys.angDiam", "mas")
    assert fields["vmag"].ucd == "phot.mag;em.opt.V"
