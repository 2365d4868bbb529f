"""Tabular cells (spicadb_kit.tabular): the CSV preamble and delimiter, numbers, positions and
placeholders as both readers (night logs, target lists) read them, and cell errors naming row and column."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from spicadb_kit.tabular import (
    CellError,
    CsvStart,
    PlaceholderReport,
    csv_start,
    declination,
    is_placeholder,
    number,
    right_ascension,
    sexagesimal,
    sniff_delimiter,
)


def test_the_header_follows_the_blank_and_comment_lines_of_the_preamble() -> None:
    lines = ["", "# written by the CHARA log", "   # indented comment", "  ", "name;ra;dec", "a;1;2"]
    assert csv_start(lines) == CsvStart(4, ";")
    assert csv_start(["name,ra,dec"]) == CsvStart(0, ",")
    assert csv_start(["", "# only comments", " "]) is None
    assert csv_start([]) is None


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [
        ("name,ra,dec", ","),
        ("name;ra;dec", ";"),
        ("name\tra\tdec", "\t"),
        ("name;ra,dec", ","),  # a comma wins
        ("name\tra;dec", ";"),
        ("name", ","),  # one column
    ],
)
def test_the_delimiter_is_sniffed_from_the_header(header: str, delimiter: str) -> None:
    assert sniff_delimiter(header) == delimiter


@pytest.mark.parametrize(
    "cell", ["", "  ", "-", "--", "---", "NaN", "nan", "NULL", "none", "N/A", "na", "?", "TBD", "tbc",
             "Unknown", "TBD by PI", "tbd by SPICA-DB", " TBD "],
)  # fmt: skip
def test_placeholders_and_blanks_are_null_numbers(cell: str) -> None:
    assert is_placeholder(cell)
    assert number(cell) is None
    assert right_ascension(cell) is None
    assert declination(cell) is None


@pytest.mark.parametrize("cell", ["HD 1", "0", "x", "Vega", "- 1"])
def test_other_texts_are_not_placeholders(cell: str) -> None:
    assert not is_placeholder(cell)


@pytest.mark.parametrize(
    ("cell", "value"),
    [("1.5", 1.5), (" -2e3 ", -2000.0), ("0", 0.0), (b"4.25", 4.25), (3, 3.0), (2.5, 2.5),
     (None, None), (math.nan, None)],
)  # fmt: skip
def test_numbers(cell: object, value: float | None) -> None:
    assert number(cell) == value


@pytest.mark.parametrize("cell", ["inf", "-Infinity", math.inf, float("-inf")])
def test_an_infinity_is_refused(cell: object) -> None:
    with pytest.raises(CellError, match="not a finite number"):
        number(cell)


@pytest.mark.parametrize("cell", ["x", "1,5", "12 34", True, [1.0], {"a": 1}, Decimal("1.5")])
def test_what_is_not_a_number_is_refused_naming_the_cell(cell: object) -> None:
    with pytest.raises(CellError, match="not a number"):
        number(cell)


def test_numpy_scalars_are_numbers_and_its_booleans_are_not() -> None:
    np = pytest.importorskip("numpy")
    assert number(np.float32(1.5)) == 1.5
    assert number(np.int64(7)) == 7.0
    assert number(np.float64("nan")) is None
    assert number(np.str_(" 2.5 ")) == 2.5
    with pytest.raises(CellError):
        number(np.bool_(True))


@pytest.mark.parametrize(
    "text", ["05 14 32.27", "05:14:32.27", "5h14m32.27s", "05h 14m 32.27s", "+05 14 32.27", "  05:14:32.27  "]
)
def test_a_sexagesimal_right_ascension_is_in_hours(text: str) -> None:
    assert right_ascension(text) == pytest.approx((5 + 14 / 60 + 32.27 / 3600) * 15)
    assert right_ascension(text, hours=False) == pytest.approx(5 + 14 / 60 + 32.27 / 3600)


@pytest.mark.parametrize(
    "text", ["-08 12 05.9", "-08:12:05.9", "-08d12m05.9s", "-08°12'05.9\"", "-08°12\u203205.9\u2033"]
)
def test_a_sexagesimal_declination_is_in_degrees(text: str) -> None:
    assert declination(text) == pytest.approx(-(8 + 12 / 60 + 5.9 / 3600))


def test_a_negative_declination_under_one_degree_keeps_its_sign() -> None:
    assert declination("-00 30 00") == pytest.approx(-0.5)
    assert sexagesimal("-00:30", "a declination") == (0.5, True)


def test_decimal_positions_are_degrees_and_360_is_0() -> None:
    assert right_ascension("279.2347") == 279.2347
    assert right_ascension(279.2347) == 279.2347
    assert right_ascension("360") == 0.0
    assert right_ascension(1.0, scale=15.0) == 15.0
    assert declination("-90") == -90.0
    assert declination(38.78) == 38.78


@pytest.mark.parametrize(
    ("field", "cell", "message"),
    [
        ("ra", "-05 14 32", "cannot be negative"),
        ("ra", "24 00 01", "not below 24h"),
        ("ra", "360.5", r"outside \[0, 360\)"),
        ("ra", "-1", r"outside \[0, 360\)"),
        ("ra", "05 61 00", "minutes and seconds must be below 60"),
        ("ra", "05 14 32 10", "cannot read"),
        ("ra", "Vega", "cannot read 'Vega' as a right ascension"),
        ("dec", "91", r"outside \[-90, 90\]"),
        ("dec", "-90 00 01", r"outside \[-90, 90\]"),
        ("dec", "10 20 60", "minutes and seconds must be below 60"),
        ("dec", "north", "cannot read 'north' as a declination"),
        ("dec", "inf", "not a finite number"),
        ("ra", True, "not a number"),
    ],
)
def test_bad_positions_say_what_is_wrong(field: str, cell: object, message: str) -> None:
    with pytest.raises(CellError, match=message):
        right_ascension(cell) if field == "ra" else declination(cell)


def test_a_cell_error_names_its_row_and_column_once_located() -> None:
    with pytest.raises(CellError) as caught:
        number("x")
    assert caught.value.row is None
    assert caught.value.column is None
    located = caught.value.at(12, "MJD")
    assert (located.row, located.column, located.message) == (12, "MJD", "not a number: 'x'")
    assert located.where() == "lines[12].MJD"
    assert located.where("rows") == "rows[12].MJD"
    assert caught.value.at(3).where() == "lines[3]"
    assert str(located) == "not a number: 'x'"


def test_placeholders_are_reported_once_per_column() -> None:
    report = PlaceholderReport()
    magnitudes = report.scrub("Vmag", ["1.5", "TBD by PI", "-", "", "TBD by PI", None, "2"])
    assert magnitudes == ["1.5", None, None, None, None, None, "2"]
    names = ["HD 1", "HD 2"]
    assert report.scrub("name", names) is names  # nothing to scrub: the list itself
    assert report.scrub("blank", ["a", " "]) == ["a", None]  # blanks are null, not reported
    assert list(report.columns) == ["Vmag"]
    assert report.columns["Vmag"].count == 3
    assert report.columns["Vmag"].message() == "3 cells read as null ('-', 'TBD by PI')"
    report.note("SEEING", " NaN ")
    assert report.columns["SEEING"].message() == "1 cell read as null ('NaN')"


def test_cells_that_are_not_text_are_not_scrubbed() -> None:
    report = PlaceholderReport()
    assert report.scrub("plx", [1.0, None, 2.0]) == [1.0, None, 2.0]
    assert report.scrub("mixed", [1.0, "n/a"]) == [1.0, None]
    assert report.columns["mixed"].count == 1
