"""FITS CHECKSUM and DATASUM (FITS 4.0 appendix J) of each HDU, summed on the file's bytes as written: the
32-bit ones' complement sum of big-endian words, over a memory map of the file. astropy's verify rebuilds each
header and sums the data twice, which was an eighth of the indexing time; an in-memory source still gets it."""

from __future__ import annotations

import os

import numpy as np
from astropy.io import fits


def mapped(hdus: fits.HDUList) -> np.ndarray | None:
    """The file's bytes, memory-mapped (None for an in-memory source: astropy then verifies)."""
    filename = hdus.filename()
    return np.memmap(filename, dtype=np.uint8, mode="r") if filename and os.path.isfile(filename) else None


def _ones_sum(buffer: np.ndarray) -> int:
    """The 32-bit ones' complement sum of big-endian words (zero-padded to a word)."""
    if len(buffer) % 4:
        buffer = np.concatenate([buffer, np.zeros(4 - len(buffer) % 4, dtype=np.uint8)])
    return _fold(int(buffer.view(">u4").sum(dtype=np.uint64)))


def _fold(total: int) -> int:
    """Carries above 32 bits added back in (ones' complement)."""
    while total >> 32:
        total = (total & 0xFFFFFFFF) + (total >> 32)
    return total


def bad_sums(hdu: fits.hdu.base._BaseHDU, raw: np.ndarray | None) -> list[str]:
    """The cards of ``hdu`` (CHECKSUM, DATASUM) that do not match its bytes in ``raw``, the file's bytes
    from :func:`mapped`; with no bytes (an in-memory source), astropy verifies."""
    header = hdu.header
    has_checksum, has_datasum = "CHECKSUM" in header, "DATASUM" in header
    if not (has_checksum or has_datasum):
        return []
    if raw is None:
        bad = ["CHECKSUM"] if has_checksum and hdu.verify_checksum() == 0 else []
        return bad + (["DATASUM"] if has_datasum and hdu.verify_datasum() == 0 else [])
    start, data, size = hdu._header_offset, hdu._data_offset, hdu._data_size
    datasum = _ones_sum(raw[data : data + size])
    bad = []
    # a right CHECKSUM makes the whole HDU sum to -0 (all ones)
    if has_checksum and _fold(_ones_sum(raw[start:data]) + datasum) != 0xFFFFFFFF:
        bad.append("CHECKSUM")
    if has_datasum and str(header["DATASUM"]).strip() != str(datasum):
        bad.append("DATASUM")
    return bad
