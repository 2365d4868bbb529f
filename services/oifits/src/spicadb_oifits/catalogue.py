"""The rules a push is checked against, as ``GET /oifits/rules`` lists them (oifits.md §6): SPICA-DB's
rule ids, what each checks and its severity under the lenient archive profile. The drs profile checks
the same rules, refuses every warning, and checks R-DRS too; R-BOUNDS is the event contract's own limit.
A report names only the rules a file broke: this is the list of the ones it was checked against."""

from __future__ import annotations

from .models import RuleOut
from .validation import PROFILES

EVERY_PROFILE = list(PROFILES)

_RULES: tuple[tuple[str, str], ...] = (
    ("R-FITS", "the file is FITS, complete and readable"),
    ("R-TARGET", "exactly one OI_TARGET table, with rows"),
    ("R-WAVE", "an OI_WAVELENGTH table"),
    ("R-DATA", "an OI_VIS, OI_VIS2 or OI_T3 table with rows to make a granule of"),
    ("R-INSNAME", "each data table's INSNAME matches exactly one OI_WAVELENGTH (its NWAVE known)"),
    ("R-TARGETREF", "each data row's TARGET_ID is in OI_TARGET, and OI_TARGET's ids are unique"),
    ("R-COLUMNS", "the mandatory columns of the data tables, of their type and NWAVE dimension"),
    (
        "R-BOUNDS",
        "the values fit the file.indexed event: at most 40 granules, header values and names of "
        "bounded length, finite numbers in range",
    ),
    ("W-VERSION", "CONTENT agrees with the tables' OI_REVN; no v2-only table in a v1 file"),
    ("W-HEADER", "the v2 primary header's mandatory keywords"),
    ("W-ARRAY", "an OI_ARRAY (v2) with its keywords and columns; ARRNAME matching one; STA_INDEX in it"),
    ("W-TARGET", "TARGET_ID at least 1, target names given and unique, coordinates defined and not zero"),
    ("W-CHECKSUM", "the FITS CHECKSUM and DATASUM, when present, match the bytes"),
    (
        "W-TIME",
        "DATE-OBS a date in 1933-2150; MJD positive and in that range; INT_TIME above 0; TIME 0 in v2",
    ),
    ("W-WAVE", "EFF_WAVE ascending and between 0.1 and 20 µm"),
    ("W-VALUES", "no unflagged negative error; T3AMP - 1 within T3AMPERR (normalised)"),
    ("W-VIS", "OI_VIS's columns; AMPTYP and PHITYP defined values, VISREFMAP with differential ones (v2)"),
    ("W-FLUX", "OI_FLUX's columns and keywords (CALSTAT, ARRNAME, STA_INDEX, FOVTYPE) consistent"),
    ("W-UNITS", "units given for FLUX, correlated VISAMP, RVIS and IVIS"),
    ("W-EXTRA", "no unknown table or column"),
    ("I-CONTENT", "CONTENT, when given, is OIFITS2"),
    ("I-MULTI", "'MULTI' spelled as the standard does (not 'MULTIPLE')"),
    ("I-CATEGORY", "CATEGORY only in v2 files"),
    ("I-CORR", "OI_CORR and the CORRNAME references to it"),
)


def _severity(rule: str) -> str:
    return "error" if rule.startswith("R-") else "warning" if rule.startswith("W-") else "info"


RULES: tuple[RuleOut, ...] = (
    *(RuleOut(rule, _severity(rule), checks, EVERY_PROFILE) for rule, checks in _RULES),
    RuleOut(
        "R-DRS", "error", "the SPICA pipeline's keywords (oifits.md §7.4) in the primary header", ["drs"]
    ),
)
