"""ObsCore granules of an OIFITS file: one per target x INSNAME x night (``oifits.md`` §7, improved as §7.8 says).

Key. As OiDB (oitools ``OIFitsViewer.targetMetadata``): a granule groups the OI_VIS, OI_VIS2 and OI_T3 rows of
one OI_TARGET row (by TARGET_ID) and one INSNAME (exact string) observed in one night; OI_FLUX rows do not make
granules (a flux-only file gives none) but are counted in ``nb_flux`` of the granule they fall in. Rows whose
TARGET_ID is not in OI_TARGET, whose INSNAME matches no (or several) OI_WAVELENGTH, or whose MJD is not finite
are skipped (validation rejects such files anyway).

Night. Not OiDB's round(MJD) (a split at 12:00 UT, inside CHARA winter nights, and labelled with the morning
date at the VLTI) but the local date of the evening, with the night cut at the site's local noon:

- CHARA (facility CHARA, or an OI_ARRAY ARRAYX/Y/Z at CHARA): :func:`spicadb_astro.nights.night_of_mjd`, local
  civil noon in America/Los_Angeles (DST-aware), the convention of the night logs;
- elsewhere: local mean solar noon, night = floor(MJD - 0.5 + longitude/360) as MJD day number, with the east
  longitude taken from the OI_ARRAY ARRAYX/Y/Z of the table's ARRNAME when they describe a point on the ground
  (geocentric radius 6300-6400 km; files often write 0 or placeholders), else from the known facilities of
  :data:`SITE_LONGITUDES` (VLTI/Paranal -70.40, CHARA), else 0 (Greenwich: split at 12:00 UT, but labelled with
  the evening's UT date rather than OiDB's morning date).

Columns follow OiDB's derivation (§7.3) with these differences, all from §7.8:

- ``t_exptime`` is the total integration: the sum of INT_TIME over the distinct MJDs of the granule (every
  baseline and triangle of one exposure shares its MJD, so they are counted once); OiDB's value, the minimum
  INT_TIME, is ``int_time_min``;
- ``instrument_mode``: INSMODE of the primary header (not 'MULTI'); for SPICA, the mode of
  :mod:`spicadb_astro.spica` named by INSMODE, or chosen from the wavelength range and resolving power;
- ``interferometer_stations``: the OI_ARRAY station names used by the granule's rows, sorted, space-separated;
- ``dataproduct_type='visibility'``, ``access_format='application/x-fits-oifits'``;
- ``calib_level``: given by the caller (the DRS knows what it pushes), else 2 (calibrated) unless a PRO CATG
  keyword says the product is uncalibrated/raw (1);
- ``dataproduct_category``: from OI_TARGET CATEGORY (SCI/CAL, v2) when present, else ``HIERARCH PRO SCIENCE``
  or ``HIERARCH ESO PRO SCIENCE`` (T -> SCIENCE, F -> CALIB; OiDB reads only the former), else None;
- ``facility_name``: ARRNAME mapped to a known facility by its leading letters (CHARA_2004Jan -> CHARA), else
  the ARRNAME; without ARRNAME, the primary TELESCOP (ESO-VLTI-A1234 -> VLTI).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

import msgspec
import numpy as np
from astropy.io import fits

from spicadb_astro import chara, nights, spica

from .reader import DATA_TABLES, FLUX_TABLE, Source, Unreadable, column, open_oifits, rows, tables, text
from .validation import Finding, Report, check

DATAPRODUCT_TYPE = "visibility"
ACCESS_FORMAT = "application/x-fits-oifits"

# east longitudes (degrees) of facilities, used when OI_ARRAY gives no usable ARRAYX/Y/Z
SITE_LONGITUDES: dict[str, float] = {
    "CHARA": chara.LONGITUDE,
    "VLTI": -70.40,  # Paranal (-70.4047 from the VLTI OI_ARRAY of the sample files)
}
# facility name from the leading letters of ARRNAME or TELESCOP (OiDB maps ARRNAME to an Aspro2 facility)
FACILITIES = (
    "CHARA",
    "VLTI",
    "NPOI",
    "IOTA",
    "COAST",
    "SUSI",
    "MROI",
    "GI2T",
    "PTI",
    "KECK",
    "LBT",
    "MAGDALENA",
)
# known instrument names (as Aspro2/OiDB spell them), matched as a token of INSNAME
INSTRUMENTS = (
    "SPICA",
    "PIONIER",
    "GRAVITY",
    "MATISSE",
    "AMBER",
    "MIDI",
    "VINCI",
    "MIRC-X",
    "MIRCX",
    "MIRC",
    "MYSTIC",
    "VEGA",
    "CLIMB",
    "CLASSIC",
    "FLUOR",
    "JOUFLU",
    "PAVO",
    "SILMARIL",
    "IONIC",
)
MULTI = ("MULTI", "MULTIPLE")
# MJD day number -> calendar date
MJD_ZERO = date(1858, 11, 17)


class Granule(msgspec.Struct, frozen=True, kw_only=True):
    """One ObsCore granule: a target x INSNAME x night of an OIFITS file."""

    night: date  # local date of the evening the night starts (local-noon cut)
    insname: str
    target_id: int
    target_name: str
    s_ra: float | None  # deg (RAEP0, no epoch or proper-motion correction)
    s_dec: float | None
    t_min: float  # MJD
    t_max: float
    t_exptime: float  # s, total integration (see module doc)
    int_time_min: float  # s, OiDB's t_exptime
    em_min: float  # m
    em_max: float
    em_res_power: float | None
    nb_channels: int
    nb_vis: int
    nb_vis2: int
    nb_t3: int
    nb_flux: int
    facility_name: str | None
    instrument_name: str
    instrument_mode: str | None
    interferometer_stations: str | None
    calib_level: int
    dataproduct_type: str = DATAPRODUCT_TYPE
    access_format: str = ACCESS_FORMAT
    dataproduct_category: str | None = None  # SCIENCE / CALIB
    obs_id: str | None = None  # ARCFILE stem
    progid: str | None = None
    proposal_subid: str | None = None  # HIERARCH SPICADB-ID
    quality_level: int | None = None  # HIERARCH QUALITY LEVEL, 0..5
    arrname: str | None = None


@dataclass
class _Site:
    facility: str | None
    longitude: float | None  # east, degrees
    is_chara: bool


@dataclass
class _Acc:
    mjds: list[float] = field(default_factory=list)
    int_times: dict[float, float] = field(default_factory=dict)  # rounded MJD -> INT_TIME
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    stations: set[int] = field(default_factory=set)
    arrname: str | None = None


def _facility(name: str) -> str | None:
    upper = name.strip().upper()
    if not upper or upper in MULTI:
        return None
    for facility in FACILITIES:
        if upper.startswith(facility) or re.search(rf"(^|[^A-Z]){facility}([^A-Z]|$)", upper):
            return facility
    return None


def _array_longitude(hdu: fits.BinTableHDU) -> tuple[float, float] | None:
    """(east longitude, latitude) in degrees from ARRAYX/Y/Z, when they describe a point on the ground."""
    try:
        xyz = np.array([float(hdu.header[key]) for key in ("ARRAYX", "ARRAYY", "ARRAYZ")])
    except (KeyError, TypeError, ValueError):
        return None
    radius = float(np.sqrt(np.sum(xyz**2)))
    if not (np.all(np.isfinite(xyz)) and 6.3e6 <= radius <= 6.4e6):
        return None
    longitude = math.degrees(math.atan2(xyz[1], xyz[0]))
    latitude = math.degrees(math.asin(xyz[2] / radius))  # geocentric; close enough to recognise a site
    return longitude, latitude


def _sites(hdus: fits.HDUList) -> tuple[dict[str, _Site], _Site]:
    """Site per ARRNAME, and the fallback site (primary TELESCOP) for tables without a usable ARRNAME."""
    telescop = _facility(text(hdus[0].header.get("TELESCOP")))
    fallback = _Site(telescop, SITE_LONGITUDES.get(telescop or ""), telescop == "CHARA")
    sites: dict[str, _Site] = {}
    for _index, name, hdu in tables(hdus):
        if name != "OI_ARRAY":
            continue
        arrname = text(hdu.header.get("ARRNAME"))
        facility = _facility(arrname) or (arrname or None)
        ground = _array_longitude(hdu)
        longitude: float | None
        if ground is not None:
            longitude, latitude = ground
            is_chara = abs(longitude - chara.LONGITUDE) < 0.05 and abs(latitude - chara.LATITUDE) < 0.3
            if is_chara:
                facility = "CHARA"
        else:
            longitude = SITE_LONGITUDES.get(facility or "")
            is_chara = facility == "CHARA"
        sites[arrname] = _Site(facility, longitude, is_chara)
    return sites, fallback


def night_of(mjd: float, longitude: float | None, is_chara: bool) -> date:
    """The night of an MJD at a site: CHARA civil local noon, else local mean solar noon (see module doc)."""
    if is_chara:
        return nights.night_of_mjd(mjd)
    day = math.floor(mjd - 0.5 + (longitude or 0.0) / 360.0)
    return MJD_ZERO + timedelta(days=day)


def _instrument(insname: str, instrume: str) -> str:
    tokens = re.split(r"[_\s()/]+", insname.upper())
    for token in tokens:
        for known in INSTRUMENTS:
            if token == known or (known == "SPICA" and token.startswith("SPICA")):
                return "MIRC-X" if known == "MIRCX" else known
    instrume = instrume.strip()
    if instrume and instrume.upper() not in MULTI:
        return instrume.upper()
    return insname


def spica_mode(insmode: str, em_min: float, em_max: float, res_power: float | None) -> str | None:
    """The SPICA mode named by INSMODE, else the one matching the wavelength range and resolving power.

    The resolving power picks the family (LR ~140, MR 3700-5000, HR ~13000; boundaries at the geometric means),
    the wavelength overlap (intersection over union of the two ranges) picks the band within it. Without a
    resolving power, the best overlap among all modes wins.
    """
    if insmode and insmode.upper() not in MULTI:
        try:
            return spica.mode(insmode).name
        except KeyError:
            return insmode
    candidates = list(spica.MODES.values())
    if res_power:
        lr_mr = math.sqrt(spica.MODES["LR"].resolving_power * spica.MODES["MR640"].resolving_power)
        mr_hr = math.sqrt(spica.MODES["MR850"].resolving_power * spica.MODES["HR"].resolving_power)
        family = "LR" if res_power < lr_mr else "HR" if res_power > mr_hr else "MR"
        candidates = [mode for mode in candidates if mode.name.startswith(family)]

    def overlap(mode: spica.Mode) -> float:
        common = min(em_max, mode.em_max) - max(em_min, mode.em_min)
        union = max(em_max, mode.em_max) - min(em_min, mode.em_min)
        return max(0.0, common) / union if union > 0 else 0.0

    best = max(candidates, key=overlap)
    return best.name if overlap(best) > 0 or len(candidates) == 1 else None


@dataclass
class _FileValues:
    """Primary-header values shared by every granule of a file (oifits.md §7.3-§7.4)."""

    obs_id: str | None
    progid: str | None
    proposal_subid: str | None
    quality_level: int | None
    category: str | None
    calib_level: int


def _header_values(header: fits.Header) -> _FileValues:
    def first(*keys: str) -> str | None:
        for key in keys:
            value = text(header.get(key))
            if value:
                return value
        return None

    arcfile = first("ARCFILE")
    quality = header.get("HIERARCH QUALITY LEVEL")
    science = header.get("HIERARCH PRO SCIENCE", header.get("HIERARCH ESO PRO SCIENCE"))
    category = None if science is None else ("SCIENCE" if science in (True, "T") else "CALIB")
    catg = (first("HIERARCH PRO CATG", "HIERARCH ESO PRO CATG") or "").upper()
    calib = 1 if ("RAW" in catg or "UNCAL" in catg) else 2
    return _FileValues(
        obs_id=arcfile[: -len(".fits")] if arcfile and arcfile.lower().endswith(".fits") else arcfile,
        progid=first("HIERARCH ESO OBS PROG ID", "HIERARCH OBS PROG ID"),
        proposal_subid=first("HIERARCH SPICADB-ID"),
        quality_level=int(quality)
        if isinstance(quality, int | float) and not isinstance(quality, bool)
        else None,
        category=category,
        calib_level=calib,
    )


def _col(hdu: fits.BinTableHDU, name: str) -> np.ndarray:
    values = column(hdu, name)
    if values is None:
        raise KeyError(f"{hdu.name} has no column {name}")
    return values


def extract(hdus: fits.HDUList, calib_level: int | None = None) -> list[Granule]:
    """Granules of an open HDU list (see :func:`granules`)."""
    primary = hdus[0].header
    all_tables = tables(hdus)
    targets = [hdu for _i, name, hdu in all_tables if name == "OI_TARGET"]
    if len(targets) != 1 or column(targets[0], "TARGET_ID") is None:
        return []
    target = targets[0]
    target_rows: dict[int, int] = {}
    for row, value in enumerate(_col(target, "TARGET_ID")):
        target_rows.setdefault(int(value), row)
    waves: dict[str, list[fits.BinTableHDU]] = defaultdict(list)
    for _i, name, hdu in all_tables:
        if name == "OI_WAVELENGTH":
            waves[text(hdu.header.get("INSNAME"))].append(hdu)
    station_names: dict[str, dict[int, str]] = {}
    for _i, name, hdu in all_tables:
        if (
            name == "OI_ARRAY"
            and column(hdu, "STA_INDEX") is not None
            and column(hdu, "STA_NAME") is not None
        ):
            station_names[text(hdu.header.get("ARRNAME"))] = {
                int(i): text(s) for i, s in zip(_col(hdu, "STA_INDEX"), _col(hdu, "STA_NAME"), strict=True)
            }
    sites, fallback = _sites(hdus)

    accs: dict[tuple[int, str, date], _Acc] = defaultdict(_Acc)
    site_of: dict[tuple[int, str, date], _Site] = {}
    for _i, name, hdu in all_tables:
        if name not in (*DATA_TABLES, FLUX_TABLE) or rows(hdu) == 0:
            continue
        insname = text(hdu.header.get("INSNAME"))
        if len(waves.get(insname, [])) != 1:
            continue
        arrname = text(hdu.header.get("ARRNAME"))
        site = sites.get(arrname, fallback) if arrname else fallback
        ids, mjds = column(hdu, "TARGET_ID"), column(hdu, "MJD")
        if ids is None or mjds is None:
            continue
        int_time = column(hdu, "INT_TIME")
        stations = column(hdu, "STA_INDEX")
        n = rows(hdu)
        stations = None if stations is None else stations.reshape(n, -1)
        for row in range(n):
            target_id, mjd = int(ids[row]), float(mjds[row])
            if target_id not in target_rows or not math.isfinite(mjd):
                continue
            key = (target_id, insname, night_of(mjd, site.longitude, site.is_chara))
            if name == FLUX_TABLE:
                if key in accs:
                    accs[key].counts[name] += 1
                continue
            acc = accs[key]
            site_of.setdefault(key, site)
            acc.mjds.append(mjd)
            acc.counts[name] += 1
            if int_time is not None and math.isfinite(float(int_time[row])):
                acc.int_times.setdefault(round(mjd, 6), float(int_time[row]))
            if stations is not None:
                acc.stations.update(int(s) for s in stations[row])
            if acc.arrname is None and arrname:
                acc.arrname = arrname

    values = _header_values(primary)
    insmode = text(primary.get("INSMODE"))
    instrume = text(primary.get("INSTRUME"))
    names, ras, decs = column(target, "TARGET"), column(target, "RAEP0"), column(target, "DECEP0")
    categories = column(target, "CATEGORY")
    result = []
    for (target_id, insname, night), acc in sorted(
        accs.items(), key=lambda item: (item[0][2], item[0][1], item[0][0])
    ):
        if not acc.mjds:
            continue
        row = target_rows[target_id]
        wave = _col(waves[insname][0], "EFF_WAVE").astype(float)
        band = column(waves[insname][0], "EFF_BAND")
        finite = wave[np.isfinite(wave)]
        ratios = []
        if band is not None:
            band = band.astype(float)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = wave / band
            ratios = ratio[np.isfinite(ratio) & (wave > 0) & (band > 0)]
        em_min = float(finite.min()) if finite.size else math.nan
        em_max = float(finite.max()) if finite.size else math.nan
        res_power = float(np.mean(ratios)) if len(ratios) else None
        instrument = _instrument(insname, instrume)
        if instrument == "SPICA":
            mode = spica_mode(insmode, em_min, em_max, res_power)
        else:
            mode = insmode if insmode and insmode.upper() not in MULTI else None
        site = site_of[(target_id, insname, night)]
        used = station_names.get(acc.arrname or "", {})
        used_names = sorted({used[i] for i in acc.stations if i in used})
        category = values.category
        if categories is not None:
            cat = text(categories[row]).upper()
            category = {"SCI": "SCIENCE", "CAL": "CALIB"}.get(cat, category)
        ra = float(ras[row]) if ras is not None and math.isfinite(ras[row]) else None
        dec = float(decs[row]) if decs is not None and math.isfinite(decs[row]) else None
        result.append(
            Granule(
                night=night,
                insname=insname,
                target_id=target_id,
                target_name=text(names[row]) if names is not None else str(target_id),
                s_ra=ra,
                s_dec=dec,
                t_min=min(acc.mjds),
                t_max=max(acc.mjds),
                t_exptime=float(sum(acc.int_times.values())),
                int_time_min=min(acc.int_times.values()) if acc.int_times else math.nan,
                em_min=em_min,
                em_max=em_max,
                em_res_power=res_power,
                nb_channels=len(wave),
                nb_vis=acc.counts["OI_VIS"],
                nb_vis2=acc.counts["OI_VIS2"],
                nb_t3=acc.counts["OI_T3"],
                nb_flux=acc.counts[FLUX_TABLE],
                facility_name=site.facility,
                instrument_name=instrument,
                instrument_mode=mode,
                interferometer_stations=" ".join(used_names) or None,
                calib_level=calib_level if calib_level is not None else values.calib_level,
                dataproduct_category=category,
                obs_id=values.obs_id,
                progid=values.progid,
                proposal_subid=values.proposal_subid,
                quality_level=values.quality_level,
                arrname=acc.arrname,
            )
        )
    return result


def granules(source: Source, calib_level: int | None = None) -> list[Granule]:
    """The granules of an OIFITS file (bytes or path); an unreadable file has none (never raises on bad bytes)."""
    try:
        hdus = open_oifits(source)
    except Unreadable:
        return []
    with hdus:
        try:
            return extract(hdus, calib_level)
        except Exception:  # bad bytes inside a table: validation reports them; there is nothing to index
            return []


def index(source: Source, calib_level: int | None = None) -> tuple[Report, list[Granule]]:
    """Validate and extract in one read: the report, and the granules unless the file is invalid."""
    try:
        hdus = open_oifits(source)
    except Unreadable as exc:
        return Report(None, "invalid", [Finding("R-FITS", "error", "file", str(exc))]), []
    with hdus:
        report = check(hdus)
        if report.verdict == "invalid":
            return report, []
        try:
            return report, extract(hdus, calib_level)
        except Exception:  # not reached for a file that passed validation; kept so that bad bytes never raise
            return report, []
