"""A small synthetic OIFITS writer (astropy) for tests that always run, and ways to break its output.

``build(...)`` returns an :class:`astropy.io.fits.HDUList` of a clean OIFITS v2 file (or v1 with ``version=1``):
primary header with the v2 mandatory keywords, OI_TARGET, OI_ARRAY, one OI_WAVELENGTH per INSNAME, OI_VIS,
OI_VIS2 and OI_T3 per INSNAME (one row per baseline / triangle of each observation), optionally OI_FLUX.
``to_bytes`` writes it with CHECKSUM/DATASUM. The breakers change an HDU list (``drop``, ``set_key``,
``reverse_wavelengths``, ``set_cell``) or written bytes (``truncate``, ``corrupt_data``).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import astropy.units as u
import numpy as np
from astropy.coordinates import EarthLocation
from astropy.io import fits

from spicadb_astro import chara, nights


# geocentric X, Y, Z (m) of the arrays the tests use
def _xyz(location: EarthLocation) -> tuple[float, float, float]:
    x, y, z = (float(v) for v in location.to_value(u.m))
    return x, y, z


CHARA_XYZ = _xyz(chara.location())
PARANAL_XYZ = (1942043.0, -5455306.0, -2654521.0)  # VLTI OI_ARRAY of the AMBER samples
MT_HOPKINS_XYZ = _xyz(EarthLocation.from_geodetic(-110.88 * u.deg, 31.69 * u.deg, 2564 * u.m))

CHARA_STATIONS = ("S1", "S2", "E1", "E2", "W1", "W2")


def mjd(text: str) -> float:
    """MJD of an ISO UTC instant, e.g. ``mjd("2023-01-10T03:00")``."""
    return nights.mjd(datetime.fromisoformat(text).replace(tzinfo=UTC))


@dataclass
class Target:
    name: str
    ra: float = 10.0
    dec: float = 20.0
    category: str = "SCI"


@dataclass
class Observation:
    """One exposure: rows for every baseline (OI_VIS, OI_VIS2) and triangle (OI_T3) of ``stations``."""

    mjd: float
    target_id: int = 1
    insname: str = "SPICA_LR"
    stations: Sequence[str] = ("S1", "S2", "E1")
    int_time: float = 30.0


@dataclass
class Spec:
    targets: Sequence[Target] = (Target("HD 1"),)
    # INSNAME -> EFF_WAVE (m); EFF_BAND = EFF_WAVE / resolving_power
    insnames: dict[str, Sequence[float]] = field(
        default_factory=lambda: {"SPICA_LR": tuple(np.linspace(0.62e-6, 0.89e-6, 8))}
    )
    resolving_power: float = 140.0
    observations: Sequence[Observation] = (Observation(mjd("2023-05-19T06:00")),)
    arrname: str = "CHARA"
    array_xyz: tuple[float, float, float] = CHARA_XYZ
    stations: Sequence[str] = CHARA_STATIONS
    version: int = 2
    primary: dict[str, object] = field(default_factory=dict)  # extra/overriding primary keywords (None drops)
    flux: bool = False


def _primary(spec: Spec) -> fits.PrimaryHDU:
    hdu = fits.PrimaryHDU()
    header = hdu.header
    if spec.version == 2:
        first = min(obs.mjd for obs in spec.observations)
        values: dict[str, object] = {
            "ORIGIN": "SPICA-DB tests",
            "DATE": "2026-01-01T00:00:00",
            "DATE-OBS": nights.datetime_of_mjd(first).strftime("%Y-%m-%dT%H:%M:%S"),
            "CONTENT": "OIFITS2",
            "TELESCOP": spec.arrname,
            "INSTRUME": "SPICA",
            "OBSERVER": "Tester",
            "OBJECT": spec.targets[0].name if len(spec.targets) == 1 else "MULTI",
            "INSMODE": "LR",
        }
        for key, value in values.items():
            header[key] = value
    for key, value in spec.primary.items():
        if value is None:
            header.remove(key, ignore_missing=True)
        else:
            header[key if len(key) <= 8 and " " not in key else f"HIERARCH {key}"] = value
    return hdu


def _target(spec: Spec) -> fits.BinTableHDU:
    n = len(spec.targets)
    cols = [
        fits.Column("TARGET_ID", "I", array=np.arange(1, n + 1)),
        fits.Column("TARGET", "16A", array=[t.name for t in spec.targets]),
        fits.Column("RAEP0", "D", unit="deg", array=[t.ra for t in spec.targets]),
        fits.Column("DECEP0", "D", unit="deg", array=[t.dec for t in spec.targets]),
        fits.Column("EQUINOX", "E", unit="yr", array=[2000.0] * n),
        fits.Column("RA_ERR", "D", unit="deg", array=[0.0] * n),
        fits.Column("DEC_ERR", "D", unit="deg", array=[0.0] * n),
        fits.Column("SYSVEL", "D", unit="m/s", array=[0.0] * n),
        fits.Column("VELTYP", "8A", array=["UNKNOWN"] * n),
        fits.Column("VELDEF", "8A", array=["OPTICAL"] * n),
        fits.Column("PMRA", "D", unit="deg/yr", array=[0.0] * n),
        fits.Column("PMDEC", "D", unit="deg/yr", array=[0.0] * n),
        fits.Column("PMRA_ERR", "D", unit="deg/yr", array=[0.0] * n),
        fits.Column("PMDEC_ERR", "D", unit="deg/yr", array=[0.0] * n),
        fits.Column("PARALLAX", "E", unit="deg", array=[0.0] * n),
        fits.Column("PARA_ERR", "E", unit="deg", array=[0.0] * n),
        fits.Column("SPECTYP", "16A", array=["A0V"] * n),
    ]
    if spec.version == 2:
        cols.append(fits.Column("CATEGORY", "3A", array=[t.category for t in spec.targets]))
    hdu = fits.BinTableHDU.from_columns(cols, name="OI_TARGET")
    hdu.header["OI_REVN"] = spec.version
    return hdu


def _array(spec: Spec) -> fits.BinTableHDU:
    n = len(spec.stations)
    cols = [
        fits.Column("TEL_NAME", "16A", array=[f"T_{s}" for s in spec.stations]),
        fits.Column("STA_NAME", "16A", array=list(spec.stations)),
        fits.Column("STA_INDEX", "I", array=np.arange(1, n + 1)),
        fits.Column("DIAMETER", "E", unit="m", array=[1.0] * n),
        fits.Column("STAXYZ", "3D", unit="m", array=np.zeros((n, 3))),
    ]
    if spec.version == 2:
        cols += [
            fits.Column("FOV", "D", unit="arcsec", array=[1.0] * n),
            fits.Column("FOVTYPE", "6A", array=["FWHM"] * n),
        ]
    hdu = fits.BinTableHDU.from_columns(cols, name="OI_ARRAY")
    header = hdu.header
    header["OI_REVN"] = spec.version
    header["ARRNAME"] = spec.arrname
    header["FRAME"] = "GEOCENTRIC"
    header["ARRAYX"], header["ARRAYY"], header["ARRAYZ"] = spec.array_xyz
    return hdu


def _wavelength(spec: Spec, insname: str, waves: Sequence[float]) -> fits.BinTableHDU:
    wave = np.asarray(waves, dtype=float)
    hdu = fits.BinTableHDU.from_columns(
        [
            fits.Column("EFF_WAVE", "E", unit="m", array=wave),
            fits.Column("EFF_BAND", "E", unit="m", array=wave / spec.resolving_power),
        ],
        name="OI_WAVELENGTH",
    )
    hdu.header["OI_REVN"] = spec.version
    hdu.header["INSNAME"] = insname
    return hdu


def _data_header(
    hdu: fits.BinTableHDU, spec: Spec, insname: str, observations: list[Observation], revn: int
) -> None:
    header = hdu.header
    header["OI_REVN"] = revn
    header["DATE-OBS"] = nights.datetime_of_mjd(min(o.mjd for o in observations)).strftime("%Y-%m-%d")
    header["INSNAME"] = insname
    header["ARRNAME"] = spec.arrname


def _tables(spec: Spec, insname: str, nwave: int) -> list[fits.BinTableHDU]:
    observations = [o for o in spec.observations if o.insname == insname]
    if not observations:
        return []
    index = {name: i + 1 for i, name in enumerate(spec.stations)}
    pairs, triangles = [], []
    for obs in observations:
        for a, b in itertools.combinations(obs.stations, 2):
            pairs.append((obs, (index[a], index[b])))
        for a, b, c in itertools.combinations(obs.stations, 3):
            triangles.append((obs, (index[a], index[b], index[c])))
    fmt = f"{nwave}D"
    flag = f"{nwave}L"

    def common(rows: Sequence[tuple[Observation, tuple[int, ...]]]) -> list[fits.Column]:
        n = len(rows)
        return [
            fits.Column("TARGET_ID", "I", array=[o.target_id for o, _ in rows]),
            fits.Column("TIME", "D", unit="s", array=[0.0] * n),
            fits.Column("MJD", "D", unit="day", array=[o.mjd for o, _ in rows]),
            fits.Column("INT_TIME", "D", unit="s", array=[o.int_time for o, _ in rows]),
        ]

    n = len(pairs)
    ones = np.full((n, nwave), 0.5)
    errs = np.full((n, nwave), 0.01)
    uv = [
        fits.Column("UCOORD", "D", unit="m", array=[10.0] * n),
        fits.Column("VCOORD", "D", unit="m", array=[5.0] * n),
    ]
    stations2 = fits.Column("STA_INDEX", "2I", array=np.array([s for _, s in pairs]))
    flags = fits.Column("FLAG", flag, array=np.zeros((n, nwave), dtype=bool))
    vis = fits.BinTableHDU.from_columns(
        [
            *common(pairs),
            fits.Column("VISAMP", fmt, array=ones),
            fits.Column("VISAMPERR", fmt, array=errs),
            fits.Column("VISPHI", fmt, unit="deg", array=np.zeros((n, nwave))),
            fits.Column("VISPHIERR", fmt, unit="deg", array=errs),
            *uv,
            stations2,
            flags,
        ],
        name="OI_VIS",
    )
    vis.header["AMPTYP"] = "absolute"
    vis.header["PHITYP"] = "absolute"
    vis2 = fits.BinTableHDU.from_columns(
        [
            *common(pairs),
            fits.Column("VIS2DATA", fmt, array=ones),
            fits.Column("VIS2ERR", fmt, array=errs),
            *uv,
            stations2,
            flags,
        ],
        name="OI_VIS2",
    )
    m = len(triangles)
    t3 = fits.BinTableHDU.from_columns(
        [
            *common(triangles),
            fits.Column("T3AMP", fmt, array=np.full((m, nwave), 0.3)),
            fits.Column("T3AMPERR", fmt, array=np.full((m, nwave), 0.01)),
            fits.Column("T3PHI", fmt, unit="deg", array=np.zeros((m, nwave))),
            fits.Column("T3PHIERR", fmt, unit="deg", array=np.ones((m, nwave))),
            fits.Column("U1COORD", "D", unit="m", array=[10.0] * m),
            fits.Column("V1COORD", "D", unit="m", array=[5.0] * m),
            fits.Column("U2COORD", "D", unit="m", array=[-3.0] * m),
            fits.Column("V2COORD", "D", unit="m", array=[7.0] * m),
            fits.Column("STA_INDEX", "3I", array=np.array([s for _, s in triangles]).reshape(m, 3)),
            fits.Column("FLAG", flag, array=np.zeros((m, nwave), dtype=bool)),
        ],
        name="OI_T3",
    )
    result = [vis, vis2, t3]
    if spec.flux:
        k = len(observations)
        flux = fits.BinTableHDU.from_columns(
            [
                fits.Column("TARGET_ID", "I", array=[o.target_id for o in observations]),
                fits.Column("MJD", "D", unit="day", array=[o.mjd for o in observations]),
                fits.Column("INT_TIME", "D", unit="s", array=[o.int_time for o in observations]),
                fits.Column("FLUXDATA", fmt, unit="Jy", array=np.ones((k, nwave))),
                fits.Column("FLUXERR", fmt, unit="Jy", array=np.full((k, nwave), 0.1)),
                fits.Column("FLAG", flag, array=np.zeros((k, nwave), dtype=bool)),
            ],
            name="OI_FLUX",
        )
        flux.header["CALSTAT"] = "C"
        result.append(flux)
    for hdu in result:
        revn = 1 if hdu.name == "OI_FLUX" else spec.version
        _data_header(hdu, spec, insname, observations, revn)
        if hdu.name == "OI_FLUX":
            del hdu.header["ARRNAME"]
    return result


def build(spec: Spec | None = None, **changes: object) -> fits.HDUList:
    """A clean OIFITS file from ``spec`` (or the default Spec with ``changes`` applied)."""
    if spec is None:
        spec = Spec(**changes)  # type: ignore[arg-type]
    hdus: list[fits.hdu.base.ExtensionHDU] = [_target(spec), _array(spec)]
    data: list[fits.BinTableHDU] = []
    for insname, waves in spec.insnames.items():
        hdus.append(_wavelength(spec, insname, waves))
        data += _tables(spec, insname, len(waves))
    return fits.HDUList([_primary(spec), *hdus, *data])


def to_bytes(hdus: fits.HDUList, checksum: bool = True) -> bytes:
    buffer = io.BytesIO()
    hdus.writeto(buffer, checksum=checksum)
    return buffer.getvalue()


def spec_bytes(**changes: object) -> bytes:
    return to_bytes(build(None, **changes))


# --- breakers --------------------------------------------------------------------------------------------


def index_of(hdus: fits.HDUList, extname: str, insname: str | None = None, nth: int = 0) -> int:
    found = [
        i
        for i, hdu in enumerate(hdus)
        if i > 0 and hdu.name == extname and (insname is None or hdu.header.get("INSNAME") == insname)
    ]
    return found[nth]


def drop(hdus: fits.HDUList, extname: str) -> fits.HDUList:
    """Without every table called ``extname``."""
    return fits.HDUList([hdu for i, hdu in enumerate(hdus) if i == 0 or hdu.name != extname])


def set_key(hdus: fits.HDUList, extname: str, key: str, value: object, nth: int = 0) -> fits.HDUList:
    """Set (or, with None, delete) a header keyword of the nth table ``extname`` ("PRIMARY" for the primary)."""
    index = 0 if extname == "PRIMARY" else index_of(hdus, extname, nth=nth)
    header = hdus[index].header
    if value is None:
        header.remove(key, ignore_missing=True)
    else:
        header[key] = value
    return hdus


def set_cell(
    hdus: fits.HDUList, extname: str, col: str, row: int, value: object, nth: int = 0
) -> fits.HDUList:
    hdus[index_of(hdus, extname, nth=nth)].data[col][row] = value
    return hdus


def reverse_wavelengths(hdus: fits.HDUList, insname: str | None = None) -> fits.HDUList:
    """EFF_WAVE and EFF_BAND in descending order (data columns are left as they are)."""
    hdu = hdus[index_of(hdus, "OI_WAVELENGTH", insname)]
    hdu.data["EFF_WAVE"][:] = hdu.data["EFF_WAVE"][::-1].copy()
    hdu.data["EFF_BAND"][:] = hdu.data["EFF_BAND"][::-1].copy()
    return hdus


def replace_table(hdus: fits.HDUList, extname: str, columns: list[fits.Column], nth: int = 0) -> fits.HDUList:
    """The nth table ``extname`` rebuilt from ``columns``, keeping its header keywords."""
    index = index_of(hdus, extname, nth=nth)
    old = hdus[index]
    new = fits.BinTableHDU.from_columns(columns, name=extname)
    for key in ("OI_REVN", "DATE-OBS", "INSNAME", "ARRNAME", "AMPTYP", "PHITYP", "CALSTAT"):
        if key in old.header:
            new.header[key] = old.header[key]
    hdus[index] = new
    return hdus


def columns_of(hdus: fits.HDUList, extname: str, nth: int = 0) -> list[fits.Column]:
    hdu = hdus[index_of(hdus, extname, nth=nth)]
    return [fits.Column(c.name, c.format, unit=c.unit, array=hdu.data[c.name]) for c in hdu.columns]


def truncate(raw: bytes, size: int) -> bytes:
    return raw[:size]


def corrupt_data(raw: bytes, extname: str) -> bytes:
    """Flip the least significant byte of the first row's MJD in table ``extname``: CHECKSUM/DATASUM go stale."""
    with fits.open(io.BytesIO(raw)) as hdus:
        index = index_of(hdus, extname)
        info = hdus.fileinfo(index)
        offset = info["datLoc"] + hdus[index].columns.dtype.fields["MJD"][1] + 7  # MJD is big-endian float64
    data = bytearray(raw)
    data[offset] ^= 0x01
    return bytes(data)
