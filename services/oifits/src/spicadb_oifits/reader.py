"""Opening an OIFITS source (bytes or path) with astropy, without ever raising on bad bytes.

:func:`open_oifits` returns the HDU list, or the reason it cannot be read: not FITS, truncated (astropy only
warns about a short file and pads the missing data, so the warning is turned into a failure here), or any
other reader error. Paths are memory-mapped; bytes are read from memory.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits

Source = bytes | bytearray | memoryview | str | os.PathLike[str]

DATA_TABLES = ("OI_VIS", "OI_VIS2", "OI_T3")  # the tables OiDB counts for granules
FLUX_TABLE = "OI_FLUX"
V2_ONLY_TABLES = ("OI_FLUX", "OI_CORR", "OI_INSPOL")
CLASSIC_TABLES = ("OI_TARGET", "OI_ARRAY", "OI_WAVELENGTH", "OI_VIS", "OI_VIS2", "OI_T3")
KNOWN_TABLES = (*CLASSIC_TABLES, *V2_ONLY_TABLES)


class Unreadable(Exception):
    """The source is not a readable FITS file; the message says why."""


def open_oifits(source: Source) -> fits.HDUList:
    """Open ``source`` and read every header; raise :class:`Unreadable` (only) when that fails."""
    if isinstance(source, bytes | bytearray | memoryview):
        raw = bytes(source)
        if not raw:
            raise Unreadable("empty file")
        fileobj: object = io.BytesIO(raw)
        memmap = False
    else:
        path = Path(source)
        if not path.is_file():
            raise Unreadable(f"no such file: {path}")
        if path.stat().st_size == 0:
            raise Unreadable("empty file")
        fileobj = str(path)
        memmap = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            hdus = fits.open(fileobj, memmap=memmap, lazy_load_hdus=False, checksum=False)
        except Exception as exc:  # astropy raises OSError, ValueError, TypeError... on bad bytes
            raise Unreadable(f"not a readable FITS file: {type(exc).__name__}: {exc}") from None
    for warning in caught:
        text = str(warning.message)
        if "truncated" in text.lower():
            hdus.close()
            raise Unreadable(f"truncated FITS file: {text}")
    if len(hdus) == 0:
        raise Unreadable("no HDU")
    return hdus


def text(value: object) -> str:
    """A header or cell value as a stripped string ('' for None)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).strip()


def column(hdu: fits.BinTableHDU, name: str) -> np.ndarray | None:
    """A column as an array, or None when the table lacks it."""
    if name not in hdu.columns.names:
        return None
    return np.asarray(hdu.data[name])


def rows(hdu: fits.BinTableHDU) -> int:
    return 0 if hdu.data is None else len(hdu.data)


def tables(hdus: fits.HDUList) -> list[tuple[int, str, fits.BinTableHDU]]:
    """The binary tables of the file as (HDU index, EXTNAME upper-cased, HDU)."""
    return [
        (index, text(hdu.header.get("EXTNAME")).upper(), hdu)
        for index, hdu in enumerate(hdus)
        if index > 0 and isinstance(hdu, fits.BinTableHDU)
    ]
