"""Calibrator catalogues in the shapes JMMC's tools write, generated here: the column names, UCDs, units,
value formats and serialisations an importer meets are reproduced; every text, identifier, star and value
is this module's own (no file, header or row taken from a real catalogue or server answer):

- :func:`write_jsdc`: the layout of the JMMC Stellar Diameters Catalogue as a VO table service serves it: VOTable 1.3,
  ``COOSYS`` ICRS, ``Name``, sexagesimal ``RAJ2000``/``DEJ2000`` (``"h:m:s"``/``"d:m:s"``), ``pmRA``/
  ``pmDE``, ``plx``, ``SpType``, ``Bmag``...``Nmag`` with their ``e_`` errors, ``LDD``/``e_LDD``/``chi2``,
  ``UDDB``...``UDDN``, ``CalFlag``; UCD1+ words (``phys.angDiam``, ``phot.mag;em.opt.V``, ``meta.code.qual``);
- :func:`write_searchcal`: the layout the SearchCal server writes: VOTable 1.1, ``COOSYS`` eq_FK5 J2000, every
  property a FIELD with UCD1-like ids (``POS_EQ_RA_MAIN``, ``PHOT_JHN_V``), followed by its ``.origin``
  and ``.confidence`` FIELDs (hidden) and its error FIELD, sexagesimal ``RAJ2000``/``DEJ2000``
  (``hh mm ss.ssss``), ``HD``/``HIP``/``TYC1``/``TYC2``/``TYC3``/``2MASS`` identifiers, ``pmRa``/``pmDec``,
  ``B``...``K``, ``diam_vk``, ``LDD``, ``UD_B``...``UD_K``, ``CalFlag``, ``diamFlag``, ``dist`` and the
  trailing ``deletedFlag``; empty cells as ``<TD/>``. GetStar writes the same shape for one star
  (``command="GetStar"``, with the newer servers' ``Name``).

Stars are :class:`Star` values; :func:`stars` makes ``n`` of them, each a function of its number, so that
a test can say what a row holds.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO
from xml.sax.saxutils import escape, quoteattr

BANDS = ("B", "V", "R", "I", "J", "H", "K")
SPECTRAL_TYPES = ("A0V", "A5V", "F2V", "G8III", "K0III", "K2III", "K5III", "M0III", "B9V", "G2V")


@dataclass
class Star:
    number: int
    ra: float  # deg
    dec: float  # deg
    pmra: float | None = 12.5
    pmdec: float | None = -3.25
    plx: float | None = 8.5
    mags: dict[str, float | None] = field(default_factory=dict)
    ldd: float | None = 0.4
    e_ldd: float | None = 0.02
    ud: dict[str, float | None] = field(default_factory=dict)
    sptype: str | None = "K0III"
    calflag: int | None = 0
    name: str | None = None
    hd: int | None = None
    hip: int | None = None
    tyc: tuple[int, int, int] | None = None
    bad: bool = False

    @property
    def label(self) -> str:
        """The name a catalogue gives the star (JSDC's Name)."""
        if self.name:
            return self.name
        return f"HD {self.hd}" if self.hd else f"HIP {self.hip}" if self.hip else f"TYC {self.number}"


def make_star(
    number: int, ra: float, dec: float, *, v: float = 6.0, ldd: float | None = 0.4, **kw: object
) -> Star:
    """A star at (ra, dec) with V magnitude ``v`` and plausible other bands and diameters."""
    colours = {"B": 1.0, "V": 0.0, "R": -0.5, "I": -0.9, "J": -1.6, "H": -2.2, "K": -2.4}
    mags: dict[str, float | None] = {b: round(v + c, 3) for b, c in colours.items()}
    ud = {b: None if ldd is None else round(ldd * (0.93 + 0.01 * i), 4) for i, b in enumerate(BANDS)}
    star = Star(number, ra, dec, mags=mags, ldd=ldd, ud=ud, hd=100_000 + number, hip=50_000 + number)
    for key, value in kw.items():
        setattr(star, key, value)
    return star


def stars(n: int, seed: int = 16) -> Iterator[Star]:
    """``n`` random stars over the whole sky (uniform on the sphere), V 2-12, LDD 0.05-3 mas."""
    rng = random.Random(seed)
    for number in range(1, n + 1):
        ra = rng.uniform(0.0, 360.0)
        dec = math.degrees(math.asin(rng.uniform(-1.0, 1.0)))
        v = round(rng.uniform(2.0, 12.0), 3)
        ldd = round(rng.uniform(0.05, 3.0), 4)
        star = make_star(number, ra, dec, v=v, ldd=ldd)
        star.sptype = SPECTRAL_TYPES[number % len(SPECTRAL_TYPES)]
        star.calflag = number % 8 if number % 5 == 0 else 0
        star.pmra = round(rng.uniform(-200, 200), 3)
        star.pmdec = round(rng.uniform(-200, 200), 3)
        star.plx = round(rng.uniform(0.5, 100), 3)
        star.tyc = (number % 9000 + 1, number % 1500 + 1, 1)
        if number % 7 == 0:
            star.mags["R"] = None  # missing photometry, as in the real catalogues
        yield star


# ----------------------------------------------------------------------------------- sexagesimal


def hms(ra: float, decimals: int = 4) -> str:
    """Right ascension in degrees as ``hh mm ss.ssss``."""
    total = round(ra / 15.0 * 3600.0, decimals) % 86400.0
    h, rest = divmod(total, 3600.0)
    m, s = divmod(rest, 60.0)
    return f"{int(h):02d} {int(m):02d} {s:0{3 + decimals}.{decimals}f}"


def dms(dec: float, decimals: int = 3) -> str:
    """Declination in degrees as ``+dd mm ss.sss``."""
    sign = "-" if dec < 0 else "+"
    total = round(abs(dec) * 3600.0, decimals)
    d, rest = divmod(total, 3600.0)
    m, s = divmod(rest, 60.0)
    return f"{sign}{int(d):02d} {int(m):02d} {s:0{3 + decimals}.{decimals}f}"


def _num(value: float | int | None) -> str:
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


# ------------------------------------------------------------------------------------------ JSDC


def _field(
    name: str, datatype: str, ucd: str | None, unit: str | None = None, width: str | None = None
) -> str:
    attrs = f'name="{name}" datatype="{datatype}"'
    if width:
        attrs += f' arraysize="{width}"'
    if ucd:
        attrs += f' ucd="{ucd}"'
    if unit:
        attrs += f" unit={quoteattr(unit)}"
    return f"<FIELD {attrs}/>"


_JSDC_BANDS = (*BANDS, "L", "M", "N")


def _band_ucd(band: str) -> str:
    return f"em.opt.{band}" if band in "BVRI" else f"em.IR.{band}" if band in "JHK" else "em.IR"


JSDC_FIELDS = (
    _field("Name", "char", "meta.id;meta.main", width="*"),
    _field("RAJ2000", "char", "pos.eq.ra;meta.main", '"h:m:s"', "13"),
    _field("DEJ2000", "char", "pos.eq.dec;meta.main", '"d:m:s"', "13"),
    _field("pmRA", "double", "pos.pm;pos.eq.ra", "mas/yr"),
    _field("pmDE", "double", "pos.pm;pos.eq.dec", "mas/yr"),
    _field("plx", "double", "pos.parallax.trig", "mas"),
    _field("e_plx", "double", "stat.error;pos.parallax.trig", "mas"),
    _field("SpType", "char", "src.spType", width="*"),
    *(
        f
        for b in _JSDC_BANDS
        for f in (
            _field(f"{b}mag", "double", f"phot.mag;{_band_ucd(b)}", "mag"),
            _field(f"e_{b}mag", "double", f"stat.error;phot.mag;{_band_ucd(b)}", "mag"),
        )
    ),
    _field("LDD", "double", "phys.angDiam", "mas"),
    _field("e_LDD", "double", "stat.error;phys.angDiam", "mas"),
    _field("chi2", "double", "stat.fit.chi2"),
    *(_field(f"UDD{b}", "double", f"phys.angDiam;{_band_ucd(b)}", "mas") for b in _JSDC_BANDS),
    _field("CalFlag", "int", "meta.code.qual"),
)


def jsdc_cells(star: Star, *, sexagesimal: bool = True) -> list[str]:
    """The TD texts of a star's JSDC row (positions sexagesimal, or decimal degrees)."""
    ra = hms(star.ra) if sexagesimal else repr(star.ra)
    dec = dms(star.dec) if sexagesimal else repr(star.dec)
    cells = [
        star.label,
        ra,
        dec,
        _num(star.pmra),
        _num(star.pmdec),
        _num(star.plx),
        _num(0.5),
        star.sptype or "",
    ]
    for b in _JSDC_BANDS:
        mag = star.mags.get(b)
        cells += [_num(mag), "" if mag is None else "0.02"]
    cells += [_num(star.ldd), _num(star.e_ldd), "0.8"]
    cells += [_num(star.ud.get(b)) for b in _JSDC_BANDS]
    cells.append(_num(star.calflag))
    return cells


def write_jsdc(
    out: IO[str], rows: Iterable[Star], *, sexagesimal: bool = True, nan_mags: bool = True
) -> None:
    """A VOTable in the JSDC layout as a VO table service writes it; missing magnitudes written ``NaN`` (``nan_mags``) or empty."""
    fields = list(JSDC_FIELDS)
    if not sexagesimal:
        fields[1] = _field("RAJ2000", "double", "pos.eq.ra;meta.main", "deg")
        fields[2] = _field("DEJ2000", "double", "pos.eq.dec;meta.main", "deg")
    out.write(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<VOTABLE version="1.3" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n'
        '<COOSYS ID="J2000" system="ICRS" epoch="J2000"/>\n'
        '<RESOURCE ID="spicadb_test_diameters" name="test diameters">\n'
        "<DESCRIPTION>SPICA-DB test fixture: stellar diameters in the JSDC layout</DESCRIPTION>\n"
        '<TABLE ID="test_diameters" name="test_diameters">\n'
    )
    out.write("\n".join(fields))
    out.write("\n<DATA><TABLEDATA>\n")
    empty = "<TD>NaN</TD>" if nan_mags else "<TD></TD>"
    for star in rows:
        cells = jsdc_cells(star, sexagesimal=sexagesimal)
        out.write("<TR>" + "".join(f"<TD>{escape(c)}</TD>" if c else empty for c in cells) + "</TR>\n")
    out.write("</TABLEDATA></DATA>\n</TABLE>\n</RESOURCE>\n</VOTABLE>\n")


# ------------------------------------------------------------------------------------- SearchCal

# (name, SearchCal's UCD1-like id, datatype, unit, has an error FIELD)
_SEARCHCAL_PROPERTIES = (
    ("HD", "ID_HD", "char", None, False),
    ("HIP", "ID_HIP", "char", None, False),
    ("TYC1", "ID_TYC1", "char", None, False),
    ("TYC2", "ID_TYC2", "char", None, False),
    ("TYC3", "ID_TYC3", "char", None, False),
    ("2MASS", "ID_2MASS", "char", None, False),
    ("RAJ2000", "POS_EQ_RA_MAIN", "char", "h:m:s", True),
    ("DEJ2000", "POS_EQ_DEC_MAIN", "char", "d:m:s", True),
    ("pmRa", "POS_EQ_PMRA", "double", "mas/yr", True),
    ("pmDec", "POS_EQ_PMDEC", "double", "mas/yr", True),
    ("plx", "POS_PARLX_TRIG", "double", "mas", True),
    ("SpType", "SPECT_TYPE_MK", "char", None, False),
    *((b, f"PHOT_JHN_{b}", "double", "mag", True) for b in BANDS),
    ("diam_vk", "DIAM_VK", "double", "mas", True),
    ("LDD", "LD_DIAM", "double", "mas", True),
    ("CalFlag", "CAL_FLAG", "int", None, False),
    ("diamFlag", "DIAM_FLAG", "boolean", None, False),
    *((f"UD_{b}", f"UD_{b}", "double", "mas", False) for b in BANDS),
    ("dist", "DIST", "double", "deg", False),
)


def _searchcal_values(star: Star, name: str) -> tuple[str, str]:
    """(value, error) of one SearchCal property of a star, as the server formats them."""
    if name == "HD":
        return _num(star.hd), ""
    if name == "HIP":
        return _num(star.hip), ""
    if name.startswith("TYC"):
        return ("" if star.tyc is None else str(star.tyc[int(name[3]) - 1])), ""
    if name == "2MASS":
        return f"{star.number:08d}+{star.number % 1000:07d}", ""
    if name == "RAJ2000":
        return hms(star.ra), "12.0"
    if name == "DEJ2000":
        return dms(star.dec), "9.0"
    if name == "pmRa":
        return _num(star.pmra), "0.8"
    if name == "pmDec":
        return _num(star.pmdec), "0.7"
    if name == "plx":
        return _num(star.plx), "0.5"
    if name == "SpType":
        return star.sptype or "", ""
    if name in BANDS:
        mag = star.mags.get(name)
        return _num(mag), "" if mag is None else "0.05"
    if name == "diam_vk":
        return _num(star.ldd), _num(star.e_ldd)
    if name == "LDD":
        return _num(star.ldd), _num(star.e_ldd)
    if name == "CalFlag":
        return _num(star.calflag), ""
    if name == "diamFlag":
        return ("true" if star.ldd is not None else "false"), ""
    if name.startswith("UD_"):
        return _num(star.ud.get(name[3:])), ""
    if name == "dist":
        return "1.25", ""
    raise KeyError(name)


def write_searchcal(
    out: IO[str], rows: Iterable[Star], *, command: str = "SearchCal", with_name: bool = False
) -> None:
    """A SearchCal (or GetStar) server VOTable; ``with_name``: the newer servers' ``Name`` property."""
    properties = list(_SEARCHCAL_PROPERTIES)
    if with_name:
        properties.append(("Name", "ID_MAIN", "char", None, False))
    out.write(
        '<?xml version="1.0"?>\n'
        '<VOTABLE version="1.1" xmlns="http://www.ivoa.net/xml/VOTable/v1.1"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        f" <DESCRIPTION>\n  SPICA-DB test fixture: a {command} answer's layout\n </DESCRIPTION>\n"
        ' <COOSYS ID="J2000" equinox="J2000." epoch="J2000." system="eq_FK5"/>\n'
        f' <RESOURCE name="test {command.lower()} answer">\n'
        '  <TABLE name="calibrators" nrows="0">\n'
        f'<PARAM name="ServerCommand" datatype="char" arraysize="*" value="{command}"/>\n'
    )
    col = 0
    for name, ucd, datatype, unit, has_error in properties:
        size = ' arraysize="*"' if datatype == "char" else ""
        ref = ' ref="J2000"' if name in ("RAJ2000", "DEJ2000") else ""
        unit_attr = f' unit="{unit}"' if unit else ""
        out.write(
            f'   <FIELD name="{name}" ID="col{col}" ucd="{ucd}"{ref} datatype="{datatype}"{size}{unit_attr}>'
            f"<DESCRIPTION>{name}</DESCRIPTION></FIELD>\n"
            f'   <FIELD name="{name}.origin" ID="col{col + 1}" ucd="REFER_CODE" datatype="int" type="hidden"/>\n'
            f'   <FIELD name="{name}.confidence" ID="col{col + 2}" ucd="CODE_QUALITY" datatype="int"'
            ' type="hidden"/>\n'
        )
        col += 3
        if has_error:
            error_unit = f' unit="{unit}"' if unit and ":" not in unit else ' unit="mas"' if unit else ""
            out.write(
                f'   <FIELD name="e_{name}" ID="col{col}" ucd="ERROR" datatype="double"{error_unit}/>\n'
            )
            col += 1
    out.write(
        f'   <FIELD name="deletedFlag" ID="col{col}" ucd="DELETED_FLAG" datatype="boolean" type="hidden"/>\n'
        "   <DATA>\n    <TABLEDATA>\n"
    )
    for star in rows:
        cells: list[str] = []
        for name, _ucd, _datatype, _unit, has_error in properties:
            if name == "Name":
                value, error = star.label, ""
            else:
                value, error = _searchcal_values(star, name)
            cells += [value, "3" if value else "", "2" if value else ""]
            if has_error:
                cells.append(error)
        cells.append("false")
        out.write("<TR>" + "".join(f"<TD>{escape(c)}</TD>" if c else "<TD/>" for c in cells) + "</TR>\n")
    out.write("    </TABLEDATA>\n   </DATA>\n  </TABLE>\n </RESOURCE>\n</VOTABLE>\n")


def write_getstar(out: IO[str], star: Star) -> None:
    """GetStar's answer for one star: the SearchCal shape, one row, with the newer servers' Name."""
    write_searchcal(out, [star], command="GetStar", with_name=True)
