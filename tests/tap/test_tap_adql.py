"""ADQL to PostgreSQL + pgSphere: what queryparser leaves to us (vo-interop.md §4), and what is refused
with its position in the ADQL."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from spicadb_tap.adql import AdqlError, Origin, translate
from spicadb_tap.catalogue import catalogue_of

from spicadb_kit.published import PublishedColumn, PublishedTable

OBSCORE = PublishedTable(
    schema="ivoa",
    name="ObsCore",
    description="",
    columns=tuple(
        PublishedColumn(name=n, datatype=t, unit=u)  # type: ignore[arg-type]
        for n, t, u in [
            ("s_ra", "double", "deg"),
            ("s_dec", "double", "deg"),
            ("obs_id", "char", None),
            ("obs_publisher_did", "char", None),
            ("s_region", "char", None),
        ]
    ),
)
CATALOGUE = catalogue_of([OBSCORE])


def sql(adql: str, uploads: tuple[str, ...] = ()) -> str:
    return translate(adql, CATALOGUE, uploads).sql


def refused(adql: str, uploads: tuple[str, ...] = ()) -> AdqlError:
    with pytest.raises(AdqlError) as caught:
        translate(adql, CATALOGUE, uploads)
    return caught.value


def test_cone_search() -> None:
    out = sql(
        "SELECT TOP 10 s_ra, s_dec FROM ivoa.ObsCore "
        "WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 83.63, 22.01, 0.5))"
    )
    assert (
        "spoint(RADIANS(s_ra), RADIANS(s_dec)) @ scircle(spoint(RADIANS(83.63), RADIANS(22.01)), RADIANS(0.5))"
        in out
    )
    assert out.endswith("LIMIT 10")
    assert not out.endswith(";")


def test_distance_condition_is_a_cone_our_pgsphere_indexes() -> None:
    out = sql(
        "SELECT DISTANCE(POINT('ICRS', s_ra, s_dec), POINT('ICRS', 1, 2)) AS d FROM ivoa.ObsCore "
        "WHERE DISTANCE(POINT('ICRS', s_ra, s_dec), POINT('ICRS', 1, 2)) < 0.1"
    )
    assert "spoint_dwithin" not in out
    # a point in a circle around the constant point: the form the GiST index serves
    cone = "((spoint(RADIANS(s_ra), RADIANS(s_dec))) @ scircle(spoint(RADIANS(1.0), RADIANS(2.0)), RADIANS(0.1)))"
    assert cone in out
    assert "DEGREES(spoint(RADIANS(s_ra), RADIANS(s_dec)) <-> spoint(RADIANS(1.0), RADIANS(2.0))) AS d" in out


def test_distance_with_the_constant_point_first() -> None:
    out = sql(
        "SELECT s_ra FROM ivoa.ObsCore WHERE DISTANCE(POINT('ICRS', 1, -2.5), POINT('ICRS', s_ra, s_dec)) < 0.1"
    )
    cone = "((spoint(RADIANS(s_ra), RADIANS(s_dec))) @ scircle(spoint(RADIANS(1.0), RADIANS(-2.5)), RADIANS(0.1)))"
    assert cone in out


def test_coord1_coord2_area() -> None:
    out = sql(
        "SELECT COORD1(POINT('ICRS', s_ra, s_dec)) AS a, COORD2(POINT('ICRS', s_ra, s_dec)) AS b, "
        "AREA(CIRCLE('ICRS', 1, 2, 3)) AS c FROM ivoa.ObsCore"
    )
    assert "DEGREES(long(spoint(RADIANS(s_ra), RADIANS(s_dec)))) AS a" in out
    assert "DEGREES(lat(spoint(RADIANS(s_ra), RADIANS(s_dec)))) AS b" in out
    assert "DEGREES(DEGREES(area(scircle(" in out
    assert "COORD" not in out
    assert "square_degrees" not in out


def test_numbers_top_offset_comments() -> None:
    assert "s_ra > 5.0E4" in sql("SELECT s_ra FROM ivoa.ObsCore WHERE s_ra > 5E4")
    assert "s_ra > - 5.0e-4" in sql("SELECT s_ra FROM ivoa.ObsCore WHERE s_ra > -5e-4")
    assert sql("SELECT TOP 3 s_ra FROM ivoa.ObsCore ORDER BY s_ra OFFSET 10").endswith("OFFSET 10 LIMIT 3")
    assert sql("SELECT s_ra FROM ivoa.ObsCore -- the end\n;") == "SELECT s_ra FROM ivoa.ObsCore"
    # a string keeps what looks like a number or a statement
    assert "'5E4; DROP'" in sql("SELECT s_ra FROM ivoa.ObsCore WHERE obs_id = '5E4; DROP'")


def test_tables_and_origins() -> None:
    translated = translate(
        "SELECT s_ra AS alpha, s_dec, COUNT(*) AS n FROM ivoa.obscore GROUP BY s_ra, s_dec", CATALOGUE, ()
    )
    assert translated.tables == ("ivoa.ObsCore",)
    assert translated.origin("alpha") == Origin("ivoa", "ObsCore", "s_ra")
    assert translated.origin("s_dec") == Origin("ivoa", "ObsCore", "s_dec")
    assert translated.origin("n") is None
    star = translate("SELECT * FROM ivoa.ObsCore", CATALOGUE, ())
    assert list(star.columns) == ["s_ra", "s_dec", "obs_id", "obs_publisher_did", "s_region"]


def test_upload_reaches_its_temporary_table_only() -> None:
    out = sql(
        "SELECT o.s_ra, m.id FROM ivoa.ObsCore AS o JOIN TAP_UPLOAD.Mine AS m ON o.obs_id = m.id "
        "WHERE o.obs_id <> 'TAP_UPLOAD.mine'",
        ("mine",),
    )
    assert "JOIN pg_temp.tap_upload_mine AS m" in out
    assert "'TAP_UPLOAD.mine'" in out  # a string is left alone
    assert "no upload named other" in str(refused("SELECT * FROM TAP_UPLOAD.other", ("mine",)))


@pytest.mark.parametrize(
    ("adql", "message", "line", "column"),
    [
        ("DROP TABLE ivoa.ObsCore", "only SELECT queries are allowed, not DROP", 1, 1),
        ("DELETE FROM ivoa.ObsCore", "not DELETE", 1, 1),
        ("SELECT s_ra FROM ivoa.ObsCore; DELETE FROM ivoa.ObsCore", "only one statement", 1, 32),
        ("SELECT s_ra FROM ivoa.ObsCore;\nSELECT 1", "only one statement", 2, 1),
        ("SELECT pg_sleep(10) FROM ivoa.ObsCore", "function pg_sleep is not supported", 1, 8),
        ("SELECT s_ra FROM ivoa.ObsCore WHERE set_config('spicadb.sees_all', 'on', true) = 'on'",
         "function set_config is not supported", 1, 37),
        ('SELECT "pg_sleep"(1) FROM ivoa.ObsCore', "not a published table", 1, 8),
        ("SELECT CENTROID(s_region) FROM ivoa.ObsCore", "function CENTROID is not supported", 1, 8),
        ("SELECT *\nFROM pg_catalog.pg_roles", "pg_catalog is not a published table", 2, 6),
        ("SELECT * FROM information_schema.tables", "information_schema is not a published", 1, 15),
        ("SELECT * FROM pg_roles", "pg_roles is not a published table", 1, 15),
        ("WITH x AS (SELECT 1) SELECT * FROM x", "WITH is not supported", 1, 1),
        ("SELECT s_ra\nFROM ivoa.ObsCore\nWHERE s_ra > > 2", "ADQL syntax error near '>'", 3, 14),
        ("SELECT s_ra FROM ivoa.ObsCore WHERE obs_id = 'open", "unterminated string", 1, 46),
        ("", "the query is empty", None, None),
    ],
)  # fmt: skip
def test_refused_with_position(adql: str, message: str, line: int | None, column: int | None) -> None:
    error = refused(adql)
    assert message in error.message
    assert (error.line, error.column) == (line, column)


@pytest.mark.parametrize(
    ("adql", "message"),
    [
        ("SELECT s_ra FROM other.thing", "no published table other.thing"),
        ("SELECT s_ra FROM ObsCore", "name it with its schema"),
        ("SELECT nope FROM ivoa.ObsCore", "no column nope"),
        (
            "SELECT s_ra FROM ivoa.ObsCore WHERE s_ra IN (SELECT x FROM public.secrets)",
            "no published table public.secrets",
        ),
        ("SELECT s_ra FROM ivoa.ObsCore AS a, pg_temp.anything AS b", "not a published table"),
        ("SELECT s_ra FROM ivoa.ObsCore WHERE IN_UNIT(s_ra, 'rad') > 1", "function IN_UNIT is not supported"),
    ],
)
def test_refused(adql: str, message: str) -> None:
    assert message in str(refused(adql))


EQUIVALENT = [
    "SELECT TOP 1000 * FROM ivoa.ObsCore WHERE 1=CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 83.63, 22.01, 0.05))",
    "SELECT o.s_ra, DISTANCE(POINT('ICRS',o.s_ra,o.s_dec), POINT('ICRS',1,2)) AS dd FROM ivoa.ObsCore AS o "
    "JOIN TAP_UPLOAD.mine AS m ON o.obs_id = m.id WHERE DISTANCE(POINT('ICRS',o.s_ra,o.s_dec), POINT('ICRS',1,2)) < 0.1",
    "SELECT COUNT(*) AS n, MAX(s_ra) FROM ivoa.obscore GROUP BY obs_id HAVING COUNT(*) > 2 ORDER BY n DESC",
    "SELECT TOP 3 a FROM x.y ORDER BY a OFFSET 10",
    "SELECT a FROM x.y WHERE 1=CONTAINS(POINT('ICRS',ra,dec), CIRCLE('ICRS',1,2,3)) "
    "AND INTERSECTS(s_region, POLYGON('ICRS',1,2,3,4,5,6))=1",
    "SELECT AREA(CIRCLE('ICRS',1,2,3)), BOX('ICRS',1,2,3,4), POINT('ICRS', 1,2) FROM x.y",
    "SELECT a FROM x.y WHERE b IN (SELECT c FROM z.w WHERE d LIKE 'x%') AND e IS NOT NULL AND f BETWEEN 1 AND 2",
    "SELECT a FROM (SELECT b AS a FROM x.y) AS s WHERE EXISTS (SELECT 1 FROM x.z)",
    "SELECT MOD(a,2), ROUND(a, 2), POWER(a,2), TRUNCATE(a), SQRT(a), ABS(a), LOG10(a), ATAN2(a,b), RAND() FROM x.y",
    "SELECT t.a FROM x.y AS t LEFT OUTER JOIN x.z AS u ON t.a = u.a WHERE t.a ILIKE '%a' OR NOT (t.b = 1)",
    "SELECT a FROM x.y WHERE a > > 2",
    "SELECT a FROM x.y WHERE",
]


@pytest.mark.parametrize("adql", EQUIVALENT)
def test_the_fast_parse_answers_as_queryparser(adql: str) -> None:
    """SLL prediction first (LL only on a syntax error) gives queryparser's own translation, analysis
    and syntax errors."""
    from queryparser.adql import ADQLQueryTranslator
    from queryparser.postgresql import PostgreSQLQueryProcessor
    from spicadb_tap.adql.parsing import FastProcessor, FastTranslator

    def outcome(translator: Any, processor: Any) -> Any:
        try:
            sql = translator(adql).to_postgresql()
        except Exception as exc:
            return ("error", type(exc).__name__, str(exc))
        analysed = processor(sql)
        return (sql, sorted(analysed.tables), sorted(map(str, analysed.columns)),
                sorted(analysed.functions), analysed.display_columns)  # fmt: skip

    assert outcome(FastTranslator, FastProcessor) == outcome(ADQLQueryTranslator, PostgreSQLQueryProcessor)


def test_translations_are_kept_for_one_catalogue() -> None:
    query = "SELECT s_ra FROM ivoa.ObsCore WHERE s_dec > 1.25"
    first = translate(query, CATALOGUE, ())
    assert translate(query, CATALOGUE, ()) is first
    # another catalogue (a refresh) checks again: a table published since is found, one withdrawn is not
    other = catalogue_of([msgspec.structs.replace(OBSCORE, name="Other")])
    with pytest.raises(AdqlError):
        translate(query, other, ())
    assert translate("SELECT s_ra FROM ivoa.Other", other, ()).tables == ("ivoa.Other",)


def test_bounds_on_what_the_parser_is_given() -> None:
    deep = "SELECT s_ra FROM ivoa.ObsCore WHERE " + "(" * 17 + "s_ra > 1" + ")" * 17
    error = refused(deep)
    assert "nested deeper than 16" in error.message
    assert (error.line, error.column) == (1, 53)  # the 17th parenthesis
    long = (
        "SELECT s_ra FROM ivoa.ObsCore WHERE obs_id IN (" + ", ".join(f"'{i:08d}'" for i in range(2000)) + ")"
    )
    assert "longer than 20,000 characters" in refused(long).message


async def test_translation_off_the_event_loop() -> None:
    from spicadb_tap.adql import translate_async

    query = "SELECT TOP 5 s_ra FROM ivoa.ObsCore WHERE s_dec < -3.5 ORDER BY s_ra"
    translated = await translate_async(query, CATALOGUE)
    assert translated.sql == "SELECT s_ra FROM ivoa.ObsCore WHERE s_dec < - 3.5 ORDER BY s_ra LIMIT 5"
    assert await translate_async(query, CATALOGUE) is translated


@pytest.mark.parametrize(
    "shape",
    [
        "SELECT TOP 1000 * FROM ivoa.ObsCore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {a}, {b}, {r}))",
        "SELECT s_ra FROM ivoa.ObsCore WHERE DISTANCE(POINT('ICRS', s_ra, s_dec), POINT('ICRS', {a}, {b})) < {r}",
        "SELECT COORD1(POINT('ICRS', {a}, {b})) AS c FROM ivoa.ObsCore WHERE s_ra > {r}",
        # numbers inside expressions are not templated: 10 / 3 is integer division
        "SELECT s_ra FROM ivoa.ObsCore WHERE 1 = CONTAINS(POINT('ICRS', s_ra + {a}, s_dec), CIRCLE('ICRS', 10 / 3, {b}, {r}))",
    ],
)
def test_a_cone_elsewhere_is_translated_from_the_kept_template(shape: str) -> None:
    from spicadb_tap.adql import _translate

    for a, b, r in [("83.63", "22.01", "0.5"), ("10", "-9", "1E-2"), ("359.999999999", "- 89.5", "3")]:
        query = shape.format(a=a, b=b, r=r)
        assert translate(query, CATALOGUE, ()).sql == _translate(query, CATALOGUE, ()).sql


def test_a_refused_cone_names_its_own_position() -> None:
    query = "SELECT s_ra FROM ivoa.ObsCore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 1, 2, 3)) > > 1"
    error = refused(query)
    assert (error.line, error.column) == (1, 103)  # the query's own column, not its template's
