"""The import preview's reading of a target list, without servers: each row numbered as the programmes
API names it in its errors (a CSV row by its line, a VOTable or JSON row by its place), each error
placed at its cell (or its row), the rows a long list shows, the media type a file goes to the API as;
and the gateway's route that lets an import form through."""

from __future__ import annotations

import io

from astropy.table import Table
from spicadb_gateway.policy import Route, RoutePolicy
from spicadb_programmes.targetlists import parse_target_list
from spicadb_web.services.imports import UPLOAD_MAX_BYTES, ImportForm, uncarry
from spicadb_web.services.targetfile import SHOWN, UNKNOWN, VOTABLE, bad_cells, media_type, read_table
from spicadb_web.spec import IMPORT_FORM_BYTES

from spicadb_kit.spec import discover_services

CSV = "# a comment, then a blank line\n\nname;RAJ2000;DEJ2000\nHD 1;10.5;-20\n\nHD 2;25h61m;-21\nHD 3;12.5\n"


def test_a_csv_row_is_named_by_its_line_as_the_api_names_it() -> None:
    table = read_table(CSV.encode(), "text/csv", set())
    assert table is not None
    assert table.row_label == "Line"
    assert table.columns == ["name", "RAJ2000", "DEJ2000"]
    assert table.rows == [
        (4, ["HD 1", "10.5", "-20"]),
        (6, ["HD 2", "25h61m", "-21"]),
        (7, ["HD 3", "12.5", ""]),
    ]
    # the programmes API's own reading of the same file names the same line
    parsed = parse_target_list(CSV.encode(), "text/csv")
    assert [(e.row, e.column) for e in parsed.errors] == [(6, "RAJ2000"), (7, "DEJ2000")]


def test_each_error_is_placed_at_its_cell_or_its_row() -> None:
    table = read_table(CSV.encode(), "text/csv", set())
    assert table is not None
    errors = [
        {"field": "rows[6].RAJ2000", "message": "not an angle"},
        {"field": "rows[7].dej2000", "message": "required"},  # the column's case as the API wrote it
        {"field": "rows[4]", "message": "the whole row"},
        {"field": "rows[99].name", "message": "a row not shown"},
        {"field": "duplicates", "message": "no row"},
    ]
    placed = table.mark(bad_cells(errors))
    assert [e.anchor for e in placed] == ["cell-6-1", "cell-7-2", "row-4", None, None]
    assert [e.message for e in table.marks[(6, 1)]] == ["not an angle"]
    assert (4, -1) in table.marks
    assert placed[4].row is None
    assert placed[4].column == "duplicates"


def test_a_votable_and_a_json_row_are_named_by_their_place() -> None:
    stars = Table({"NAME": ["HD 1", "HD 2"], "RA": [10.5, 11.5], "DEC": [-20.0, -21.0]})
    buffer = io.BytesIO()
    stars.write(buffer, format="votable")
    table = read_table(buffer.getvalue(), VOTABLE, set())
    assert table is not None
    assert (table.row_label, table.columns) == ("Row", ["NAME", "RA", "DEC"])
    assert table.rows == [(1, ["HD 1", "10.5", "-20.0"]), (2, ["HD 2", "11.5", "-21.0"])]
    listed = read_table(
        b'{"targets": [{"name": "HD 1", "ra": 1}, {"name": "HD 2", "dec": 2}]}', UNKNOWN, set()
    )
    assert listed is not None
    assert listed.columns == ["name", "ra", "dec"]
    assert listed.rows == [(1, ["HD 1", "1", ""]), (2, ["HD 2", "", "2"])]


def test_a_long_list_shows_its_rows_with_errors_else_its_first() -> None:
    lines = "".join(f"HD {k},{k % 360}.5,10\n" for k in range(1000))
    body = ("name,ra,dec\n" + lines).encode()
    table = read_table(body, "text/csv", {500, 900})
    assert table is not None
    assert [number for number, _ in table.rows] == [500, 900]
    assert (table.total, table.hidden) == (1000, 998)
    first = read_table(body, "text/csv", set())
    assert first is not None
    assert len(first.rows) < SHOWN
    assert first.rows[0][0] == 2


def test_what_is_not_a_table_is_not_shown() -> None:
    assert read_table(b"\x89PNG\r\n\x1a\n\xff\xfe", UNKNOWN, set()) is None  # not UTF-8
    assert read_table(b"not xml", VOTABLE, set()) is None
    assert (
        read_table(b"SIMPLE  =                    T", UNKNOWN, set()) is None
    )  # FITS: the API's report only
    assert read_table(b"[1, 2", "application/json", set()) is None


def test_a_file_goes_to_the_api_as_its_suffix_or_its_declared_type_says() -> None:
    assert media_type("stars.tsv", "text/tab-separated-values") == "text/csv"
    assert media_type("stars.CSV", "application/vnd.ms-excel") == "text/csv"
    assert media_type("aspro2.vot", "application/octet-stream") == VOTABLE
    assert media_type("list", "text/xml; charset=utf-8") == VOTABLE
    assert media_type("list.fits", "") == "application/fits"
    assert media_type("sky.png", "image/png") == UNKNOWN  # the API sniffs it, and says what it is not


def test_a_small_file_is_carried_back_as_it_was_and_a_large_one_is_not() -> None:
    small = ImportForm(content=b"name,ra,dec\nHD 1,1,2\n")
    assert small.carried is not None
    assert uncarry(small.carried) == small.content
    assert ImportForm(content=b"x" * (2 * 1024 * 1024)).carried is None
    assert uncarry("not base64!") is None
    assert ImportForm(work_package="WP1", dry_run=True).params() == [
        ("dry_run", "true"), ("duplicates", "keep"), ("work_package", "WP1"),
    ]  # fmt: skip


def test_the_gateway_lets_an_import_form_through_to_the_programmes_pages_only() -> None:
    specs = list(discover_services())
    policy = RoutePolicy.from_specs(specs, {s.name: f"http://127.0.0.1:{s.default_port}" for s in specs})
    for path, method, limit in (
        ("/console/programmes/LP-1/import", "POST", IMPORT_FORM_BYTES),
        ("/console/programmes/LP-1", "GET", IMPORT_FORM_BYTES),
        ("/console/programmes", "GET", IMPORT_FORM_BYTES),
        ("/console/nights/CHARA/2026-12-01/observations/x/flags", "POST", 64 * 1024),
        ("/", "GET", 64 * 1024),
    ):
        route = policy.resolve(path, method)
        assert isinstance(route, Route), (path, route)
        assert (route.service, route.anonymous, route.max_body_bytes) == ("web", True, limit), path
    assert IMPORT_FORM_BYTES > UPLOAD_MAX_BYTES + 64 * 1024  # a file just too large gets the console's page
    programmes = policy.resolve("/programmes/LP-1/targets/import", "POST")
    assert isinstance(programmes, Route)
    assert programmes.service == "programmes"
