"""Target lists of the shapes SPICA astronomers really send, built in code (no file copied from anywhere):

- :func:`spicadb_votable`: the SPICA science database export: one TABLE of ``n`` targets (42 by default)
  with ~95 ``TARGET_*`` columns (identifiers, sexagesimal TARGET_RA/TARGET_DEC, programme and setups,
  magnitudes with their errors, JSDC2 and surface-brightness diameters, Gaia stellar parameters,
  activity flags, fundamental parameters, PUBLICATION), each FIELD with its datatype, unit, UCD and
  description, and the placeholders the database writes ("TBD by PI", "TBD by SPICA-DB", "-", "NaN");
  TABLEDATA, BINARY or BINARY2;
- :func:`aspro2_votable`: a VOTable as Aspro2 sends it over SAMP, 20 columns, one row a cell short and one
  row a cell too long (what TOPCAT and Aspro2 read, and astropy's strict reader refuses);
- :func:`double_star_votable`: a VizieR cone answer as TOPCAT saves it, ``n`` rows, two of them the
  components of a double star 0.09 arcsec apart under different names.

Every value is a function of the row number, so tests can say what a cell holds (:func:`cell`).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

TBD_PI = "TBD by PI"
TBD_DB = "TBD by SPICA-DB"
BANDS = ("B", "V", "R", "I", "G", "BP", "RP", "J", "H", "K")
PROGRAMMES = ("WP1-Fundamental", "WP2-Activity", "WP3-Exoplanets", "WP4-Binaries")
SCIENCE_TYPES = ("Fundamental parameters", "Activity", "Exoplanet host", "Binary")


@dataclass(frozen=True)
class Field:
    name: str
    datatype: str
    unit: str | None
    ucd: str | None
    description: str
    value: Callable[[int], str | None]  # row number (1-based) -> the cell as written (None: empty)
    arraysize: str | None = None

    def __post_init__(self) -> None:
        if self.datatype == "char" and self.arraysize is None:
            object.__setattr__(self, "arraysize", "*")


def _ra_deg(i: int) -> float:
    return (i * 8.37 + 0.123) % 360.0


def _dec_deg(i: int) -> float:
    return -25.0 + (i * 13.71) % 110.0  # CHARA's sky: -25 to +85


def sexagesimal(value: float, *, hours: bool) -> str:
    """'05 14 32.272' (hours) or '+38 47 01.28' (degrees), as the database writes them."""
    if hours:
        value /= 15.0
    sign = "-" if value < 0 else "+"
    places = 3 if hours else 2
    units = round(abs(value) * 3600 * 10**places)  # in the last written place: no "60.00" seconds
    whole, seconds = divmod(units, 60 * 10**places)  # whole: in minutes
    whole, minutes = divmod(whole, 60)
    text = f"{whole:02d} {minutes:02d} {seconds / 10**places:0{3 + places}.{places}f}"
    return text if hours else sign + text


def _num(fmt: str, f: Callable[[int], float], *, missing_every: int = 0) -> Callable[[int], str | None]:
    def value(i: int) -> str | None:
        if missing_every and i % missing_every == 0:
            return "NaN"
        return format(f(i), fmt)

    return value


def _text(f: Callable[[int], str | None]) -> Callable[[int], str | None]:
    return f


def _mag(band: int, i: int) -> float:
    return round(2.0 + (i * 0.37 + band * 0.41) % 6.5, 3)


def _fields() -> list[Field]:
    fields: list[Field] = [
        Field("TARGET_ID", "char", None, "meta.id", "SPICA-DB target identifier", lambda i: TBD_DB),
        Field(
            "TARGET_MAIN_ID",
            "char",
            None,
            "meta.id;meta.main",
            "Main identifier (Simbad)",
            lambda i: f"HD {1000 + i * 37}",
        ),
        Field(
            "TARGET_RA",
            "char",
            "h:m:s",
            "pos.eq.ra;meta.main",
            "Right ascension (ICRS, J2000)",
            lambda i: sexagesimal(_ra_deg(i), hours=True),
        ),
        Field(
            "TARGET_DEC",
            "char",
            "d:m:s",
            "pos.eq.dec;meta.main",
            "Declination (ICRS, J2000)",
            lambda i: sexagesimal(_dec_deg(i), hours=False),
        ),
        Field(
            "TARGET_PMRA",
            "double",
            "mas/yr",
            "pos.pm;pos.eq.ra",
            "Proper motion in RA (mu_alpha*)",
            _num(".3f", lambda i: (i * 7.1) % 200 - 100),
        ),
        Field(
            "TARGET_PMDEC",
            "double",
            "mas/yr",
            "pos.pm;pos.eq.dec",
            "Proper motion in DEC",
            _num(".3f", lambda i: (i * 5.3) % 160 - 80),
        ),
        Field(
            "TARGET_PLX",
            "double",
            "mas",
            "pos.parallax.trig",
            "Parallax (Gaia DR3)",
            _num(".4f", lambda i: 5 + (i * 3.3) % 90),
        ),
        Field(
            "TARGET_PLX_ERR",
            "double",
            "mas",
            "stat.error;pos.parallax.trig",
            "Parallax error",
            _num(".4f", lambda i: 0.02 + (i % 7) * 0.01),
        ),
        Field(
            "TARGET_RV",
            "double",
            "km/s",
            "spect.dopplerVeloc.opt",
            "Radial velocity",
            _num(".2f", lambda i: (i * 2.9) % 60 - 30, missing_every=9),
        ),
        Field(
            "TARGET_Gaia_ID",
            "char",
            None,
            "meta.id",
            "Gaia DR3 source identifier",
            lambda i: f"Gaia DR3 {4000000000000000000 + i * 7919}",
        ),
        Field(
            "TARGET_GaiaDR2_ID",
            "char",
            None,
            "meta.id",
            "Gaia DR2 source identifier",
            lambda i: f"Gaia DR2 {4000000000000000000 + i * 7907}",
        ),
        Field("TARGET_HD", "char", None, "meta.id", "HD identifier", lambda i: f"HD {1000 + i * 37}"),
        Field(
            "TARGET_HIP",
            "char",
            None,
            "meta.id",
            "HIP identifier",
            lambda i: "-" if i % 8 == 0 else f"HIP {2000 + i * 41}",
        ),
        Field(
            "TARGET_2MASS",
            "char",
            None,
            "meta.id",
            "2MASS identifier",
            lambda i: f"J{100000 + i:06d}+{200000 + i:06d}",
        ),
        Field(
            "TARGET_CHARA_ID",
            "char",
            None,
            "meta.id",
            "CHARA target identifier",
            lambda i: TBD_DB if i % 3 == 0 else f"CHARA-{i:04d}",
        ),
        Field(
            "TARGET_TIC",
            "char",
            None,
            "meta.id",
            "TESS input catalogue identifier",
            lambda i: f"TIC {30000000 + i * 11}",
        ),
        Field(
            "TARGET_OTYPE",
            "char",
            None,
            "src.class",
            "Simbad object type",
            lambda i: ("*", "PM*", "SB*", "V*")[i % 4],
        ),
        Field(
            "TARGET_SpType",
            "char",
            None,
            "src.spType",
            "Spectral type",
            lambda i: ("G2V", "K0III", "F5IV", "M2V", "A0V")[i % 5],
        ),
        Field(
            "TARGET_PROGNAME",
            "char",
            None,
            "meta.id;obs.proposal",
            "Work package (science programme)",
            lambda i: PROGRAMMES[i % 4],
        ),
        Field(
            "TARGET_PI",
            "char",
            None,
            "meta.id;obs.observer",
            "PI of the science case",
            lambda i: ("Mourard", "Nardetto", "Creevey", "Ligi")[i % 4],
        ),
        Field(
            "TARGET_Flag_Type",
            "char",
            None,
            "meta.code.class",
            "Type of science case",
            lambda i: SCIENCE_TYPES[i % 4],
        ),
        Field(
            "TARGET_Flag_Priority_PI",
            "int",
            None,
            "meta.code;obs.priority",
            "Priority given by the PI (1 first)",
            lambda i: str(1 + i % 3),
        ),
        Field(
            "TARGET_SPICA_SETUP",
            "char",
            None,
            "instr.setup",
            "Requested SPICA mode(s)",
            lambda i: TBD_PI if i % 5 == 0 else ("MR", "LR", "HR", "MR,HR")[i % 4],
        ),
        Field(
            "TARGET_CHARA_SETUP",
            "char",
            None,
            "instr.setup;instr.baseline",
            "Requested CHARA configuration",
            lambda i: (
                TBD_PI if i % 5 == 0 else ("E1 W2 W1 S2 S1 E2", "S1 S2 E1 E2", "W1 W2 E1 E2 S1 S2")[i % 3]
            ),
        ),
        Field(
            "TARGET_CAL_IDS",
            "char",
            None,
            "meta.id;meta.ref",
            "Calibrators chosen by the PI",
            lambda i: TBD_PI if i % 6 == 0 else f"HD {500 + i},HD {600 + i}",
        ),
        Field(
            "TARGET_Nobs",
            "int",
            None,
            "meta.number;obs",
            "Number of observations requested",
            lambda i: str(1 + i % 4),
        ),
        Field(
            "TARGET_Nobs_Done",
            "char",
            None,
            "meta.number;obs",
            "Number of observations done",
            lambda i: TBD_DB,
        ),
        Field(
            "TARGET_Completion_Rate",
            "char",
            "%",
            "meta.number;arith.ratio",
            "Completion rate of the observations",
            lambda i: TBD_DB,
        ),
        Field(
            "TARGET_Comment",
            "char",
            None,
            "meta.note",
            "Comment of the PI",
            lambda i: "" if i % 2 else f"note {i} & <check>",
        ),
    ]
    for b, band in enumerate(BANDS):
        ucd_band = {"B": "em.opt.B", "V": "em.opt.V", "R": "em.opt.R", "I": "em.opt.I", "G": "em.opt",
                    "BP": "em.opt.B", "RP": "em.opt.R", "J": "em.IR.J", "H": "em.IR.H", "K": "em.IR.K"}[band]  # fmt: skip
        fields.append(Field(f"TARGET_{band}mag", "double", "mag", f"phot.mag;{ucd_band}", f"{band} magnitude",
                            _num(".3f", lambda i, b=b: _mag(b, i), missing_every=11 if band == "B" else 0)))  # fmt: skip
        fields.append(Field(f"TARGET_{band}mag_err", "double", "mag", f"stat.error;phot.mag;{ucd_band}", f"Error on the {band} magnitude",
                            _num(".3f", lambda i, b=b: 0.002 + ((i + b) % 9) * 0.003)))  # fmt: skip
    fields += [
        Field(
            "TARGET_JSDC2_LDD",
            "double",
            "mas",
            "phys.angSize;src",
            "Limb-darkened diameter (JSDC2)",
            _num(".4f", lambda i: 0.2 + (i * 0.173) % 3),
        ),
        Field(
            "TARGET_JSDC2_LDD_err",
            "double",
            "mas",
            "stat.error;phys.angSize;src",
            "Error on the JSDC2 limb-darkened diameter",
            _num(".4f", lambda i: 0.01 + (i % 5) * 0.004),
        ),
        Field(
            "TARGET_JSDC2_UDD_V",
            "double",
            "mas",
            "phys.angSize;em.opt.V",
            "Uniform-disc diameter in V (JSDC2)",
            _num(".4f", lambda i: 0.19 + (i * 0.171) % 3),
        ),
        Field(
            "TARGET_JSDC2_UDD_R",
            "double",
            "mas",
            "phys.angSize;em.opt.R",
            "Uniform-disc diameter in R (JSDC2)",
            _num(".4f", lambda i: 0.195 + (i * 0.171) % 3),
        ),
        Field(
            "TARGET_JSDC2_UDD_H",
            "double",
            "mas",
            "phys.angSize;em.IR.H",
            "Uniform-disc diameter in H (JSDC2)",
            _num(".4f", lambda i: 0.198 + (i * 0.171) % 3),
        ),
        Field(
            "TARGET_SB_LDD",
            "double",
            "mas",
            "phys.angSize;src",
            "Limb-darkened diameter from a surface-brightness relation",
            _num(".4f", lambda i: 0.21 + (i * 0.169) % 3, missing_every=7),
        ),
        Field(
            "TARGET_SB_LDD_err",
            "double",
            "mas",
            "stat.error;phys.angSize;src",
            "Error on the surface-brightness diameter",
            _num(".4f", lambda i: 0.015 + (i % 4) * 0.005, missing_every=7),
        ),
        Field(
            "TARGET_SB_Relation",
            "char",
            None,
            "meta.ref",
            "Surface-brightness relation used",
            lambda i: ("Salsi+2020", "Kervella+2004", "-")[i % 3],
        ),
        Field(
            "TARGET_Teff_Gaia",
            "double",
            "K",
            "phys.temperature.effective",
            "Effective temperature (Gaia GSP-Phot)",
            _num(".1f", lambda i: 3500 + (i * 97) % 4000),
        ),
        Field(
            "TARGET_Teff_Gaia_err",
            "double",
            "K",
            "stat.error;phys.temperature.effective",
            "Error on Teff",
            _num(".1f", lambda i: 20 + i % 50),
        ),
        Field(
            "TARGET_logg_Gaia",
            "double",
            "log(cm.s**-2)",
            "phys.gravity",
            "Surface gravity (Gaia GSP-Phot)",
            _num(".3f", lambda i: 1.5 + (i * 0.13) % 3.2),
        ),
        Field(
            "TARGET_logg_Gaia_err",
            "double",
            "log(cm.s**-2)",
            "stat.error;phys.gravity",
            "Error on log g",
            _num(".3f", lambda i: 0.05 + (i % 5) * 0.01),
        ),
        Field(
            "TARGET_FeH_Gaia",
            "double",
            None,
            "phys.abund.Z",
            "Metallicity [Fe/H] (Gaia GSP-Phot)",
            _num(".3f", lambda i: -1.0 + (i * 0.07) % 1.4, missing_every=10),
        ),
        Field(
            "TARGET_FeH_Gaia_err",
            "double",
            None,
            "stat.error;phys.abund.Z",
            "Error on [Fe/H]",
            _num(".3f", lambda i: 0.03 + (i % 4) * 0.01, missing_every=10),
        ),
    ]
    for flag, what in (("Binary", "binary"), ("Variable", "variable"), ("Activity", "active (chromosphere)"),
                       ("Rotation", "fast rotator"), ("Exoplanet", "known planet host"), ("Pulsating", "pulsating"),
                       ("Spots", "spotted"), ("Disk", "with a debris disc")):  # fmt: skip
        fields.append(
            Field(
                f"TARGET_Flag_{flag}",
                "boolean",
                None,
                "meta.code",
                f"The star is {what}",
                lambda i, k=len(flag): "T" if (i + k) % 4 == 0 else "F",
            )
        )
    fields += [
        Field(
            "TARGET_RUWE",
            "float",
            None,
            "stat.fit.goodness",
            "Gaia renormalised unit weight error",
            _num(".3f", lambda i: 0.8 + (i % 10) * 0.1),
        ),
        Field(
            "TARGET_vsini",
            "double",
            "km/s",
            "phys.veloc.rotat",
            "Projected rotational velocity",
            _num(".2f", lambda i: 1 + (i * 3.1) % 80, missing_every=5),
        ),
        Field(
            "TARGET_Prot",
            "double",
            "d",
            "time.period.rotation",
            "Rotation period",
            _num(".3f", lambda i: 2 + (i * 1.7) % 40, missing_every=4),
        ),
        Field(
            "TARGET_logRHK",
            "double",
            None,
            "phys.magField;src",
            "Chromospheric activity index log R'HK",
            _num(".3f", lambda i: -5.1 + (i % 9) * 0.1, missing_every=3),
        ),
    ]
    for quantity, unit, ucd, what, f in (
        ("Mass", "solMass", "phys.mass", "Mass", lambda i: 0.5 + (i * 0.11) % 2.5),
        ("Radius", "solRad", "phys.size.radius", "Radius", lambda i: 0.4 + (i * 0.37) % 20),
        ("Lum", "solLum", "phys.luminosity", "Luminosity", lambda i: 0.1 + (i * 1.9) % 100),
        ("Age", "Gyr", "time.age", "Age", lambda i: 0.1 + (i * 0.31) % 10),
        ("Distance", "pc", "pos.distance", "Distance", lambda i: 10 + (i * 7.3) % 190),
        ("Av", "mag", "phys.absorption;em.opt.V", "Extinction in V", lambda i: (i % 10) * 0.01),
        ("EBV", "mag", "phot.color.excess", "Colour excess E(B-V)", lambda i: (i % 10) * 0.003),
    ):
        fields.append(Field(f"TARGET_{quantity}", "double", unit, ucd, what, _num(".4f", f)))
        fields.append(Field(f"TARGET_{quantity}_err", "double", unit, f"stat.error;{ucd}", f"Error on the {what.lower()}", _num(".4f", lambda i, f=f: 0.05 * f(i))))  # fmt: skip
    fields += [
        Field(
            "TARGET_Observable_Months",
            "char",
            None,
            "time.period;obs",
            "Months when it is observable from CHARA",
            lambda i: ("Mar-Jul", "Jun-Oct", "Sep-Jan")[i % 3],
        ),
        Field(
            "TARGET_Max_Elevation",
            "double",
            "deg",
            "pos.az.alt;stat.max",
            "Highest elevation at CHARA",
            _num(".2f", lambda i: 90 - abs(34.22 - _dec_deg(i))),
        ),
        Field(
            "TARGET_V2_Min",
            "double",
            None,
            "phys.visibility;stat.min",
            "Lowest squared visibility on the longest baseline",
            _num(".4f", lambda i: (i % 20) / 25),
        ),
        Field(
            "TARGET_Resolved",
            "boolean",
            None,
            "meta.code",
            "Resolved by SPICA's longest baseline",
            lambda i: "T" if i % 2 else "F",
        ),
        Field(
            "TARGET_Last_Update",
            "char",
            None,
            "time.epoch;meta.dataset",
            "Last update in the science database",
            lambda i: f"2026-0{1 + i % 9}-1{i % 10}T10:00:00",
        ),
        Field(
            "PUBLICATION",
            "char",
            None,
            "meta.bib.bibcode",
            "Publication of the parameters",
            lambda i: "-" if i % 4 == 0 else f"2024A&A...{600 + i}A..{i}B",
        ),
    ]
    return fields


FIELDS: list[Field] = _fields()
FIELD_NAMES: list[str] = [f.name for f in FIELDS]
assert len(FIELDS) == len(set(FIELD_NAMES)) == 95, len(FIELDS)


def cell(name: str, row: int) -> str | None:
    """The cell of column ``name`` at data row ``row`` (1-based) as the export writes it."""
    return next(f for f in FIELDS if f.name == name).value(row)


def _field_xml(f: Field) -> str:
    attrs = f"name={quoteattr(f.name)} datatype={quoteattr(f.datatype)}"
    if f.arraysize:
        attrs += f" arraysize={quoteattr(f.arraysize)}"
    if f.unit:
        attrs += f" unit={quoteattr(f.unit)}"
    if f.ucd:
        attrs += f" ucd={quoteattr(f.ucd)}"
    if f.name in ("TARGET_RA", "TARGET_DEC"):
        attrs += ' ref="ICRS"'
    return f"<FIELD {attrs}><DESCRIPTION>{escape(f.description)}</DESCRIPTION></FIELD>"


def _td(value: str | None) -> str:
    return "<TD/>" if value is None or value == "" else f"<TD>{escape(value)}</TD>"


def _document(fields: list[Field], rows: list[list[str | None]], name: str, description: str) -> bytes:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<VOTABLE version="1.3" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">',
        f"<RESOURCE name={quoteattr(name)}>",
        f"<DESCRIPTION>{escape(description)}</DESCRIPTION>",
        '<COOSYS ID="ICRS" system="ICRS" epoch="J2000"/>',
        f"<TABLE name={quoteattr(name)} nrows={quoteattr(str(len(rows)))}>",
        *(_field_xml(f) for f in fields),
        "<DATA><TABLEDATA>",
        *("<TR>" + "".join(_td(v) for v in row) + "</TR>" for row in rows),
        "</TABLEDATA></DATA>",
        "</TABLE>",
        "</RESOURCE>",
        "</VOTABLE>",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


Serialization = Literal["tabledata", "binary", "binary2"]


def _reserialized(body: bytes, serialization: Serialization) -> bytes:
    """The same VOTable in another serialization, written by astropy."""
    import warnings

    from astropy.io.votable import parse

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        document = parse(io.BytesIO(body), verify="ignore")
        document.set_all_tables_format(serialization)
        out = io.BytesIO()
        document.to_xml(out)
    return out.getvalue()


def spicadb_votable(n: int = 42, serialization: Serialization = "tabledata", *, first: int = 1) -> bytes:
    """The SPICA science database export of ``n`` targets (rows ``first``..``first + n - 1``)."""
    rows = [[f.value(i) for f in FIELDS] for i in range(first, first + n)]
    body = _document(FIELDS, rows, "SPICA_targets", "Targets of the SPICA science database")
    return body if serialization == "tabledata" else _reserialized(body, serialization)


# --- Aspro2 over SAMP: 20 columns, a short row and a long row ---------------------------------------

ASPRO2_FIELDS: list[Field] = [
    Field(
        "NAME",
        "char",
        None,
        "meta.id;meta.main",
        "Target name",
        lambda i: ("HD 1234", "HD 5678", "HD 9012")[i - 1],
    ),
    Field(
        "RA",
        "char",
        "h:m:s",
        "pos.eq.ra;meta.main",
        "Right ascension",
        lambda i: sexagesimal(_ra_deg(i * 5), hours=True),
    ),
    Field(
        "DEC",
        "char",
        "d:m:s",
        "pos.eq.dec;meta.main",
        "Declination",
        lambda i: sexagesimal(_dec_deg(i * 5), hours=False),
    ),
    Field("RA_d", "double", "deg", "pos.eq.ra", "RA in degrees", lambda i: f"{_ra_deg(i * 5):.6f}"),
    Field("DEC_d", "double", "deg", "pos.eq.dec", "DEC in degrees", lambda i: f"{_dec_deg(i * 5):.6f}"),
    Field("PMRA", "double", "mas/yr", "pos.pm;pos.eq.ra", "", lambda i: f"{i * 3.5:.3f}"),
    Field("PMDEC", "double", "mas/yr", "pos.pm;pos.eq.dec", "", lambda i: f"{-i * 2.5:.3f}"),
    Field("PARALLAX", "double", "mas", "pos.parallax.trig", "", lambda i: f"{10 + i:.3f}"),
    Field("PARA_ERR", "double", "mas", "stat.error", "", lambda i: "0.05"),
    Field("SYSVEL", "double", "km/s", "spect.dopplerVeloc.opt", "", lambda i: "-12.5"),
    Field("OBJTYP", "char", None, "src.class", "", lambda i: "*"),
    Field("SPECTYP", "char", None, "src.spType", "", lambda i: "K0III"),
    Field("FLUX_V", "double", "mag", "phot.mag;em.opt.V", "", lambda i: f"{4 + i * 0.5:.2f}"),
    Field("FLUX_R", "double", "mag", "phot.mag;em.opt.R", "", lambda i: f"{3.6 + i * 0.5:.2f}"),
    Field("FLUX_I", "double", "mag", "phot.mag;em.opt.I", "", lambda i: f"{3.3 + i * 0.5:.2f}"),
    Field("FLUX_J", "double", "mag", "phot.mag;em.IR.J", "", lambda i: f"{2.9 + i * 0.5:.2f}"),
    Field("FLUX_H", "double", "mag", "phot.mag;em.IR.H", "", lambda i: f"{2.4 + i * 0.5:.2f}"),
    Field("FLUX_K", "double", "mag", "phot.mag;em.IR.K", "", lambda i: f"{2.3 + i * 0.5:.2f}"),
    Field("HIP", "char", None, "meta.id", "", lambda i: f"HIP {100 + i}"),
    Field(
        "LDD",
        "double",
        "mas",
        "phys.angSize",
        "JSDC2 limb-darkened diameter",
        lambda i: f"{1.1 + i * 0.1:.3f}",
    ),
]
assert len(ASPRO2_FIELDS) == 20


def aspro2_votable() -> bytes:
    """Three targets as Aspro2 sends them: row 1 whole, row 2 one cell short (no LDD), row 3 one cell
    too many (an extra cell after LDD)."""
    rows = [[f.value(i) for f in ASPRO2_FIELDS] for i in (1, 2, 3)]
    rows[1] = rows[1][:-1]
    rows[2] = [*rows[2], "extra"]
    return _document(ASPRO2_FIELDS, rows, "Aspro2", "Targets sent by Aspro2 over SAMP")


# --- a VizieR cone with a double star ------------------------------------------------------------

DOUBLE_STAR_SEPARATION = 0.09  # arcsec
DOUBLE_STAR_ROWS = (250, 251)  # 1-based data rows of the two components


def double_star_votable(n: int = 500) -> bytes:
    """A VizieR cone of ``n`` stars (a grid 20 arcsec apart around 18h36m +38.8d) whose rows 250 and
    251 are the components of a double star 0.09 arcsec apart ("WDS J18369+3847A" and "...B")."""
    centre_ra, centre_dec = 279.2347, 38.7837
    side = math.ceil(math.sqrt(n))
    rows: list[list[str | None]] = []
    for k in range(n):
        row = k + 1
        dec = centre_dec + ((k // side) - side / 2) * 20 / 3600
        ra = centre_ra + ((k % side) - side / 2) * 20 / 3600 / math.cos(math.radians(dec))
        name = f"TYC 3105-{1000 + k}-1"
        if row == DOUBLE_STAR_ROWS[1]:  # the companion, 0.09 arcsec north of the primary
            prev = rows[-1]
            ra, dec = float(prev[1] or 0), float(prev[2] or 0) + DOUBLE_STAR_SEPARATION / 3600
            name = "WDS J18369+3847B"
        elif row == DOUBLE_STAR_ROWS[0]:
            name = "WDS J18369+3847A"
        rows.append(
            [name, f"{ra:.8f}", f"{dec:.8f}", f"{8 + (k % 50) * 0.1:.2f}", f"{7 + (k % 40) * 0.1:.2f}"]
        )
    fields = [
        Field("Name", "char", None, "meta.id;meta.main", "Designation", lambda i: None),
        Field("RAJ2000", "double", "deg", "pos.eq.ra;meta.main", "Right ascension (J2000)", lambda i: None),
        Field("DEJ2000", "double", "deg", "pos.eq.dec;meta.main", "Declination (J2000)", lambda i: None),
        Field("VTmag", "double", "mag", "phot.mag;em.opt.V", "Tycho V magnitude", lambda i: None),
        Field("Kmag", "double", "mag", "phot.mag;em.IR.K", "2MASS K magnitude", lambda i: None),
    ]
    return _document(fields, rows, "I/259/tyc2", "VizieR cone answer saved by TOPCAT")


def fits_serialized(body: bytes) -> bytes:
    """The same VOTable with its data as a FITS binary table inline in the document (STREAM base64), the
    serialization astropy reads only from a URL."""
    import base64
    import re
    import warnings

    import numpy as np
    from astropy.io.votable import parse

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = parse(io.BytesIO(body), verify="ignore").get_first_table().to_table()
        for name in table.colnames:
            if table[name].dtype == object:  # variable-length text: fixed width in FITS
                values = ["" if v is None or v is np.ma.masked else str(v) for v in table[name]]
                table[name] = np.array(values, dtype=str)
        out = io.BytesIO()
        table.write(out, format="fits")
    stream = base64.b64encode(out.getvalue()).decode("ascii")
    data = f'<DATA><FITS extnum="1"><STREAM encoding="base64">{stream}</STREAM></FITS></DATA>'
    return re.sub(rb"<DATA>.*</DATA>", data.encode("ascii"), body, flags=re.DOTALL)
