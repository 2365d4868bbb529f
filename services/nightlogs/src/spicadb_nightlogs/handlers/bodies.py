"""The OpenAPI request body of a CHARA night log (read by the handler itself, as CSV or JSON): the
columns as :mod:`spicadb_nightlogs.logfile` reads them."""

from __future__ import annotations

from litestar.openapi.spec import OpenAPIType, Schema

from spicadb_astro import spica
from spicadb_contracts import bounds
from spicadb_kit.openapi import takes, text

from ..domain import LINE_TYPES

_NUMBER = [OpenAPIType.NUMBER, OpenAPIType.STRING, OpenAPIType.NULL]  # a placeholder word is null
_TEXT = [OpenAPIType.STRING, OpenAPIType.NULL]
_LIST = [OpenAPIType.STRING, OpenAPIType.ARRAY]


def _cell(kind: list[OpenAPIType], description: str, *, max_length: int | None = None) -> Schema:
    items = Schema(type=OpenAPIType.STRING) if OpenAPIType.ARRAY in kind else None
    return Schema(type=kind, description=description, max_length=max_length, items=items)


# JSON keys (case-insensitive; the CSV header names them in upper case, ``-`` for ``_``)
LINE = Schema(
    type=OpenAPIType.OBJECT,
    description=(
        "One line of the log. Other keys are refused; aliases: date (ut_date), mjd_start (mjd),"
        " mode (filter), stations (scopes), t0_500nm (tau0), comment (comments)"
    ),
    required=["ut_date", "star", "combiner", "type", "mjd", "filter", "scopes"],
    properties={
        "ut_date": _cell(_TEXT, "the UT date of mjd, YYYY-MM-DD"),
        "star": _cell(_TEXT, "the target's name", max_length=bounds.NAME_LENGTH),
        "pi": _cell(_TEXT, "the PI's name", max_length=bounds.NAME_LENGTH),
        "program": _cell(_TEXT, "the programme", max_length=bounds.NAME_LENGTH),
        "combiner": _cell(_TEXT, "the beam combiner (lines of others than SPICA are checked, then skipped)"),
        "type": _cell(_TEXT, f"the line's type: {', '.join(LINE_TYPES)}"),
        "mjd": _cell(_NUMBER, "the start, MJD (UTC)"),
        "mjd_end": _cell(
            _NUMBER, "the end, MJD (UTC); without it, the next line's start or the default exposure"
        ),
        "filter": _cell(_TEXT, f"the SPICA mode: {', '.join(spica.MODES)}"),
        "scopes": _cell(_LIST, "the stations, S1-E1-W1-W2-E2-S2, blank- or comma-separated, or a list"),
        "b1": _cell(_NUMBER, "B1"),
        "b2": _cell(_NUMBER, "B2"),
        "b3": _cell(_NUMBER, "B3"),
        "t0_obs": _cell(_NUMBER, "T0_OBS"),
        "tau0": _cell(_NUMBER, "the coherence time at 500 nm, ms"),
        "ra": _cell(_NUMBER, "ICRS right ascension at the night: degrees, or sexagesimal hours"),
        "dec": _cell(_NUMBER, "ICRS declination at the night: degrees, or sexagesimal"),
        "seeing": _cell(_NUMBER, "arcsec"),
        "wind": _cell(_NUMBER, "m/s"),
        "airmass": _cell(_NUMBER, "airmass"),
        "temperature": _cell(_NUMBER, "deg C"),
        "comments": _cell(_TEXT, "free text", max_length=bounds.COMMENT_LENGTH),
        "raw_files": _cell(_LIST, "the raw files' names, blank- or ;-separated, or a list"),
    },
)
_JSON = Schema(
    one_of=[
        Schema(type=OpenAPIType.ARRAY, items=LINE),
        Schema(
            type=OpenAPIType.OBJECT,
            required=["lines"],
            properties={"lines": Schema(type=OpenAPIType.ARRAY, items=LINE)},
        ),
    ],
    description='the log\'s lines, as a list or as {"lines": [...]}',
)
_CSV = text(
    "UTF-8 CSV as the CHARA log writes it: '#' lines before a header row, then one line an observation"
    " (comma, semicolon or tab separated). Required columns UT-DATE, STAR, COMBINER, TYPE, MJD, FILTER,"
    " SCOPES; optional PI, PROGRAM, B1, B2, B3, T0_OBS, T0_500nm, MJD_END, RA, DEC, SEEING, WIND, AIRMASS,"
    " TEMPERATURE, COMMENTS, RAW_FILES (names case-insensitive, '-' = '_'; their meaning as the JSON"
    " line's). Any other column is refused; a blank, NaN or placeholder (-, n/a, TBD) number is null"
)

LOG_BODY = takes(
    {"text/csv": _CSV, "application/csv": _CSV, "application/json": _JSON},
    "a whole CHARA night log (all or nothing)",
)
