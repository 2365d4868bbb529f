"""The rule table of OIFITS validation (oifits.md §2-§7), as data the checker in ``validation`` walks: the
columns each table of the standard must and may have (FITS type codes and repeat), the error columns, the
primary keywords of v2, the dates a file may hold, and the cards of a SPICA DRS product. What breaking each
costs (rule id and severity) is the checker's."""

from __future__ import annotations

import re

V2_PRIMARY_MANDATORY = (
    "ORIGIN",
    "DATE",
    "DATE-OBS",
    "CONTENT",
    "TELESCOP",
    "INSTRUME",
    "OBSERVER",
    "OBJECT",
    "INSMODE",
)
MULTI_KEYWORDS = (
    "TELESCOP",
    "INSTRUME",
    "OBSERVER",
    "OBJECT",
    "INSMODE",
    "REFERENC",
    "PROG_ID",
    "PROCSOFT",
    "OBSTECH",
)

# column kinds: FITS TFORM type codes accepted (lenient on width: B/I/J/K, E/D, C/M)
INT, FLOAT, STR, BOOL, CPLX = "BIJK", "ED", "A", "L", "CM"
NWAVE = -1  # dimension = NWAVE of the referenced OI_WAVELENGTH

# table -> column -> (kinds, repeat); None repeat = not checked
MANDATORY: dict[str, dict[str, tuple[str, int | None]]] = {
    "OI_TARGET": {
        "TARGET_ID": (INT, 1),
        "TARGET": (STR, None),
        "RAEP0": (FLOAT, 1),
        "DECEP0": (FLOAT, 1),
        "EQUINOX": (FLOAT, 1),
        "RA_ERR": (FLOAT, 1),
        "DEC_ERR": (FLOAT, 1),
        "SYSVEL": (FLOAT, 1),
        "VELTYP": (STR, None),
        "VELDEF": (STR, None),
        "PMRA": (FLOAT, 1),
        "PMDEC": (FLOAT, 1),
        "PMRA_ERR": (FLOAT, 1),
        "PMDEC_ERR": (FLOAT, 1),
        "PARALLAX": (FLOAT, 1),
        "PARA_ERR": (FLOAT, 1),
        "SPECTYP": (STR, None),
    },
    "OI_ARRAY": {
        "TEL_NAME": (STR, None),
        "STA_NAME": (STR, None),
        "STA_INDEX": (INT, 1),
        "DIAMETER": (FLOAT, 1),
        "STAXYZ": (FLOAT, 3),
    },
    "OI_WAVELENGTH": {"EFF_WAVE": (FLOAT, 1), "EFF_BAND": (FLOAT, 1)},
    "OI_VIS": {
        "TARGET_ID": (INT, 1),
        "TIME": (FLOAT, 1),
        "MJD": (FLOAT, 1),
        "INT_TIME": (FLOAT, 1),
        "VISPHI": (FLOAT, NWAVE),
        "VISPHIERR": (FLOAT, NWAVE),
        "UCOORD": (FLOAT, 1),
        "VCOORD": (FLOAT, 1),
        "STA_INDEX": (INT, 2),
        "FLAG": (BOOL, NWAVE),
    },
    "OI_VIS2": {
        "TARGET_ID": (INT, 1),
        "TIME": (FLOAT, 1),
        "MJD": (FLOAT, 1),
        "INT_TIME": (FLOAT, 1),
        "VIS2DATA": (FLOAT, NWAVE),
        "VIS2ERR": (FLOAT, NWAVE),
        "UCOORD": (FLOAT, 1),
        "VCOORD": (FLOAT, 1),
        "STA_INDEX": (INT, 2),
        "FLAG": (BOOL, NWAVE),
    },
    "OI_T3": {
        "TARGET_ID": (INT, 1),
        "TIME": (FLOAT, 1),
        "MJD": (FLOAT, 1),
        "INT_TIME": (FLOAT, 1),
        "T3AMP": (FLOAT, NWAVE),
        "T3AMPERR": (FLOAT, NWAVE),
        "T3PHI": (FLOAT, NWAVE),
        "T3PHIERR": (FLOAT, NWAVE),
        "U1COORD": (FLOAT, 1),
        "V1COORD": (FLOAT, 1),
        "U2COORD": (FLOAT, 1),
        "V2COORD": (FLOAT, 1),
        "STA_INDEX": (INT, 3),
        "FLAG": (BOOL, NWAVE),
    },
    "OI_FLUX": {
        "TARGET_ID": (INT, 1),
        "MJD": (FLOAT, 1),
        "INT_TIME": (FLOAT, 1),
        "FLUXDATA": (FLOAT, NWAVE),
        "FLUXERR": (FLOAT, NWAVE),
        "FLAG": (BOOL, NWAVE),
    },
    "OI_CORR": {"IINDX": (INT, 1), "JINDX": (INT, 1), "CORR": (FLOAT, 1)},
    "OI_INSPOL": {
        "TARGET_ID": (INT, 1),
        "INSNAME": (STR, None),
        "MJD_OBS": (FLOAT, 1),
        "MJD_END": (FLOAT, 1),
        "JXX": (CPLX, None),
        "JYY": (CPLX, None),
        "JXY": (CPLX, None),
        "JYX": (CPLX, None),
        "STA_INDEX": (INT, 1),
    },
}
OPTIONAL: dict[str, tuple[str, ...]] = {
    "OI_TARGET": ("CATEGORY",),
    "OI_ARRAY": ("FOV", "FOVTYPE"),
    "OI_WAVELENGTH": (),
    "OI_VIS": (
        "VISAMP",
        "VISAMPERR",
        "VISREFMAP",
        "RVIS",
        "RVISERR",
        "IVIS",
        "IVISERR",
        "CORRINDX_VISAMP",
        "CORRINDX_VISPHI",
        "CORRINDX_RVIS",
        "CORRINDX_IVIS",
    ),
    "OI_VIS2": ("CORRINDX_VIS2DATA",),
    "OI_T3": ("CORRINDX_T3AMP", "CORRINDX_T3PHI"),
    "OI_FLUX": ("STA_INDEX", "CORRINDX_FLUXDATA"),
    "OI_CORR": (),
    "OI_INSPOL": (),
}
ERROR_COLUMNS = {
    "OI_VIS": ("VISAMPERR", "VISPHIERR"),
    "OI_VIS2": ("VIS2ERR",),
    "OI_T3": ("T3AMPERR", "T3PHIERR"),
}
ERROR_COLUMNS["OI_FLUX"] = ("FLUXERR",)

MJD_MIN = 27378.0  # 1933-01-01
MJD_MAX = 105787.0  # 2150-01-01
DATE_OBS = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d*)?)?)?$")
EARTH_RADIUS_RANGE = (6.3e6, 6.4e6)  # metres: ARRAYX/Y/Z describe a place on the ground

# oifits.md §7.4: the cards a SPICA DRS product carries (read by OiDB and by the granules)
DRS_KEYWORDS = (
    "HIERARCH SPICADB-ID",
    "HIERARCH QUALITY LEVEL",
    "HIERARCH OBS PROG ID",
    "HIERARCH PRO SCIENCE",
    "ARCFILE",
)
