"""A night log's cells mean what they mean in a target list (spicadb_kit.tabular): NaN, blanks and
placeholders are null, positions may be sexagesimal (RA in hours), RA 360 is 0, an infinity is refused."""

from __future__ import annotations

import re

import pytest
from nightlogs_support import HEADER, NIGHT, csv_log, line
from spicadb_nightlogs import logfile

EXTRA = HEADER + ",RA,DEC"
NIGHT_OF = logfile.Night.of(NIGHT)


def parse(body: bytes) -> logfile.ParsedLog:
    return logfile.parse_log(body, "text/csv", NIGHT_OF, 600.0)


@pytest.mark.parametrize("cell", ["NaN", "nan", "-", "n/a", "TBD", "", "unknown"])
def test_a_placeholder_in_a_number_cell_is_null(cell: str) -> None:
    parsed = parse(csv_log(line("Vega", 3.0).replace(",4.5,", f",{cell},")))  # T0_OBS
    assert parsed.errors == []
    assert parsed.lines[0].t0_obs is None


@pytest.mark.parametrize(
    ("ra", "dec"),
    [("18:36:56.336", "+38:47:01.28"), ("18 36 56.336", "38 47 01.28"), ("18h36m56.336s", "38d47m01.28s")],
)
def test_positions_may_be_sexagesimal_ra_in_hours(ra: str, dec: str) -> None:
    parsed = parse(csv_log(f"{line('Vega', 3.0)},{ra},{dec}", header=EXTRA))
    assert parsed.errors == []
    assert parsed.lines[0].ra == pytest.approx(279.234733, abs=1e-6)
    assert parsed.lines[0].dec == pytest.approx(38.783689, abs=1e-6)


def test_a_negative_declination_and_ra_360() -> None:
    parsed = parse(csv_log(f"{line('Vega', 3.0)},360,-00 30 00", header=EXTRA))
    assert parsed.errors == []
    assert (parsed.lines[0].ra, parsed.lines[0].dec) == (0.0, -0.5)


@pytest.mark.parametrize(
    ("cells", "where", "message"),
    [
        ("24:00:01,10", "RA", "not below 24h"),
        ("-01:00:00,10", "RA", "cannot be negative"),
        ("10,91", "DEC", r"outside \[-90, 90\]"),
        ("10,north", "DEC", "cannot read 'north' as a declination"),
        ("inf,10", "RA", "not a finite number"),
    ],
)
def test_bad_positions_are_cell_errors_naming_line_and_column(cells: str, where: str, message: str) -> None:
    parsed = parse(csv_log(f"{line('Vega', 3.0)},{cells}", header=EXTRA))
    assert [e.where for e in parsed.errors] == [f"lines[2].{where}"]
    assert re.search(message, parsed.errors[0].message)


def test_an_infinity_and_a_word_in_a_number_cell_are_refused() -> None:
    parsed = parse(
        csv_log(line("Vega", 3.0).replace(",4.5,", ",inf,"), line("Deneb", 3.1).replace(",4.5,", ",x,"))
    )
    assert [(e.where, e.message) for e in parsed.errors] == [
        ("lines[2].T0_OBS", "not a finite number"),
        ("lines[3].T0_OBS", "not a number: 'x'"),
    ]


def test_a_nan_start_is_a_missing_start() -> None:
    parsed = parse(csv_log(line("Vega", 3.0, mjd=float("nan"), ut_date="2026-01-15")))
    assert [(e.where, e.message) for e in parsed.errors] == [("lines[2].MJD", "required")]


def test_comment_lines_before_a_semicolon_header() -> None:
    body = "# CHARA night log\n\n" + csv_log(line("Vega", 3.0)).decode().replace(",", ";")
    parsed = parse(body.encode())
    assert parsed.errors == []
    assert [(entry.line, entry.star) for entry in parsed.lines] == [(4, "Vega")]
