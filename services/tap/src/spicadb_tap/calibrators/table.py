"""The calibrator catalogue's published table (catalogues.calibrators), as TAP_SCHEMA describes it.

Column names are JSDC's folded to lower case (Vmag -> vmag, UDDK -> uddk); UCDs as JSDC writes them; units
in VOUnit syntax. The table is created by migration 0002 and filled by ``spicadb catalogue import``.
"""

from __future__ import annotations

from spicadb_kit.published import PublishedColumn, PublishedTable, VOTableType, column

BANDS_OPTICAL = "BVRI"
BANDS_INFRARED = "JHK"


def _column(
    name: str,
    description: str,
    *,
    datatype: VOTableType = "double",
    unit: str | None = None,
    ucd: str | None = None,
    principal: bool = False,
    indexed: bool = False,
) -> PublishedColumn:
    """Most of the catalogue's columns are doubles."""
    return column(name, datatype, description, unit=unit, ucd=ucd, principal=principal, indexed=indexed)


def _band_ucd(band: str) -> str:
    return f"em.opt.{band}" if band in BANDS_OPTICAL else f"em.IR.{band}"


_MAGNITUDES = tuple(
    _column(
        f"{band.lower()}mag",
        f"{band} magnitude (Johnson{'' if band in BANDS_OPTICAL else ', 2MASS'} as the source catalogue gives it)",
        unit="mag",
        ucd=f"phot.mag;{_band_ucd(band)}",
        principal=band in "VK",
        indexed=band == "V",
    )
    for band in BANDS_OPTICAL + BANDS_INFRARED
)

_UNIFORM_DISCS = tuple(
    _column(
        f"udd{band.lower()}",
        f"Uniform-disc angular diameter in the {band} band",
        unit="mas",
        ucd=f"phys.angDiam;{_band_ucd(band)}",
    )
    for band in BANDS_OPTICAL + BANDS_INFRARED
)

COLUMNS: tuple[PublishedColumn, ...] = (
    _column(
        "name",
        "Star name as the source catalogue gives it (JSDC/SearchCal Name), else built from its HD, HIP, "
        "TYC or 2MASS identifier",
        datatype="char",
        ucd="meta.id;meta.main",
        principal=True,
    ),
    _column(
        "ra",
        "Right ascension, ICRS (FK5 J2000 as SearchCal writes it), epoch J2000",
        unit="deg",
        ucd="pos.eq.ra;meta.main",
        principal=True,
        indexed=True,
    ),
    _column(
        "dec",
        "Declination, ICRS (FK5 J2000 as SearchCal writes it), epoch J2000",
        unit="deg",
        ucd="pos.eq.dec;meta.main",
        principal=True,
        indexed=True,
    ),
    _column(
        "pmra",
        "Proper motion in right ascension, times cos(dec)",
        unit="mas/yr",
        ucd="pos.pm;pos.eq.ra",
    ),
    _column("pmdec", "Proper motion in declination", unit="mas/yr", ucd="pos.pm;pos.eq.dec"),
    _column("parallax", "Trigonometric parallax", unit="mas", ucd="pos.parallax.trig"),
    _column("e_parallax", "Error on the parallax", unit="mas", ucd="stat.error;pos.parallax.trig"),
    *_MAGNITUDES,
    _column("gmag", "Gaia G magnitude, when the source gives it", unit="mag", ucd="phot.mag;em.opt"),
    _column(
        "ldd",
        "Limb-darkened angular diameter (JSDC/SearchCal LDD)",
        unit="mas",
        ucd="phys.angDiam",
        principal=True,
        indexed=True,
    ),
    _column("e_ldd", "Error on the limb-darkened diameter", unit="mas", ucd="stat.error;phys.angDiam"),
    *_UNIFORM_DISCS,
    _column(
        "diam_vk",
        "Angular diameter from the V-K colour (SearchCal diam_vk)",
        unit="mas",
        ucd="phys.angDiam",
    ),
    _column("e_diam_vk", "Error on the V-K diameter", unit="mas", ucd="stat.error;phys.angDiam"),
    _column("sptype", "MK spectral type", datatype="char", ucd="src.spType", principal=True),
    _column(
        "calflag",
        "JSDC/SearchCal calibrator flag (bit field): bit 0 the diameter fit's chi2 is above 5, bit 1 a known "
        "double closer than 1 arcsec (WDS), bit 2 a SIMBAD object type that signals a possible binary or "
        "pulsating star; 0 when none is set",
        datatype="int",
        ucd="meta.code.qual",
        principal=True,
    ),
    _column(
        "diamflag",
        "SearchCal diameter flag: true when the limb-darkened diameter is a valid estimate",
        datatype="boolean",
        ucd="meta.code.qual",
    ),
    _column(
        "bad_calibrator",
        "True when the source marks the star as a bad calibrator (JMMC's bad-calibrator list)",
        datatype="boolean",
        ucd="meta.code.qual",
        principal=True,
    ),
    _column("hd", "HD identifier (number, with its component letter if any)", datatype="char", ucd="meta.id"),
    _column("hip", "Hipparcos identifier (number)", datatype="char", ucd="meta.id"),
    _column("tyc", "Tycho-2 identifier (TYC1-TYC2-TYC3)", datatype="char", ucd="meta.id"),
    _column("tmass", "2MASS identifier", datatype="char", ucd="meta.id"),
    _column(
        "source",
        "The catalogue source the row was imported as (spicadb catalogue import --source)",
        datatype="char",
        ucd="meta.dataset",
    ),
    _column("import_id", "The import that wrote the row", datatype="long", ucd="meta.id"),
)

CALIBRATORS = PublishedTable(
    schema="catalogues",
    name="calibrators",
    description="Interferometric calibrator stars (JMMC's JSDC, SearchCal and GetStar VOTables, imported "
    "with spicadb catalogue import): positions, magnitudes, limb-darkened and uniform-disc diameters and "
    "quality flags. Cone searches on (ra, dec), V magnitude and LDD are indexed.",
    columns=COLUMNS,
    table_type="table",
)

PUBLISHED: tuple[PublishedTable, ...] = (CALIBRATORS,)
