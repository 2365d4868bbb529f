"""A JSON night log whose cells are not the type a column takes (an object, a list where text goes) is
a cell error naming its line and key, never an unhandled error (schemathesis found a 500 there)."""

from __future__ import annotations

import msgspec
import pytest
from nightlogs_support import NIGHT
from spicadb_nightlogs import logfile

NIGHT_OF = logfile.Night.of(NIGHT)


@pytest.mark.parametrize("combiner", [{}, {"name": "SPICA"}, ["SPICA"]])
def test_a_combiner_that_is_no_text_is_a_cell_error(combiner: object) -> None:
    line = {"ut_date": "", "star": "Vega", "combiner": combiner, "type": "OBJ", "mjd": 0, "filter": "MR"}
    body = msgspec.json.encode({"lines": [{**line, "scopes": ["S1", "S2", "E1", "E2"]}]})
    parsed = logfile.parse_log(body, "application/json", NIGHT_OF, 600.0)
    assert "lines[0].combiner" in {error.where for error in parsed.errors}
    assert parsed.lines == []
