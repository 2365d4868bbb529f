"""A target list's cells mean what they mean in a night log (spicadb_kit.tabular), whatever its format."""

from __future__ import annotations

import msgspec
import pytest
from spicadb_programmes.targetlists import parse_target_list


def json_list(**cells: object) -> bytes:
    return msgspec.json.encode({"targets": [{"name": "HD 1", "ra": 10.0, "dec": -5.0, **cells}]})


@pytest.mark.parametrize("cell", ["-", "---", "na", "?", "TBD by PI", "tbc", "unknown", "NaN", ""])
def test_a_placeholder_in_a_json_number_cell_is_null(cell: str) -> None:
    parsed = parse_target_list(json_list(mag_v=cell, parallax=cell), "application/json")
    assert parsed.errors == []
    assert (parsed.targets[0].mag_v, parsed.targets[0].parallax) == (None, None)


def test_an_infinity_or_a_word_is_still_refused() -> None:
    parsed = parse_target_list(json_list(mag_v="inf", parallax="bright"), "application/json")
    assert sorted((e.column, e.message) for e in parsed.errors) == [
        ("mag_v", "not a finite number"),
        ("parallax", "not a number: 'bright'"),
    ]


@pytest.mark.parametrize(
    ("ra", "dec"),
    [("05 14 32.27", "-08 12 05.9"), ("05:14:32.27", "-08:12:05.9"), ("5h14m32.27s", "-8d12m5.9s"),
     ("05 14 32.27", "-08°12'05.9\"")],
)  # fmt: skip
def test_sexagesimal_positions_in_a_csv_list(ra: str, dec: str) -> None:
    body = f'name,ra,dec\nRigel,{ra},"{dec.replace(chr(34), chr(34) * 2)}"\n'.encode()
    parsed = parse_target_list(body, "text/csv")
    assert parsed.errors == []
    assert parsed.targets[0].ra == pytest.approx(78.634458, abs=1e-6)
    assert parsed.targets[0].dec == pytest.approx(-8.201639, abs=1e-6)


def test_an_infinite_declination_says_so() -> None:
    parsed = parse_target_list(b"name,ra,dec\nRigel,05 14 32.27,inf\n", "text/csv")
    assert [(e.row, e.column, e.message) for e in parsed.errors] == [(2, "dec", "not a finite number")]
