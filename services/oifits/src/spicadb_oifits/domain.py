"""The fixed rules of the oifits service: which file names a push may carry, which programme a file
belongs to, which observations a granule came from, how a download range is read. Pure functions, tested
without a database."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from spicadb_astro.names import name_key
from spicadb_contracts.bounds import FILENAME_LENGTH, IDENTIFIER_LENGTH

from .granules import Granule

__all__ = ["name_key"]

PLOT_KINDS = ("uv", "vis2", "t3phi")
PLOT_TITLES = {
    "uv": "UV coverage",
    "vis2": "squared visibility against spatial frequency",
    "t3phi": "closure phase against spatial frequency",
}
# what a push may be called: a plain name, no folders, no hidden files, a FITS extension
FILE_SUFFIXES = (".fits", ".fit", ".oifits", ".fts")
MAX_FILENAME = FILENAME_LENGTH


def filename_problem(name: str) -> str | None:
    """Why a pushed file name is refused (None: it is fine). The name is metadata only (files are stored
    by content), but a name that would be a path elsewhere (``../x``, ``a/b``, a drive, control
    characters) is refused so that nobody downloads it into a surprise place."""
    if not name:
        return "a file name is required"
    if len(name) > MAX_FILENAME:
        return f"the file name is longer than {MAX_FILENAME} characters"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        return "the file name holds control characters"
    if "/" in name or "\\" in name or ":" in name:
        return "the file name must be a plain name, without folders or drive letters"
    if name.startswith(".") or name.strip() != name:
        return "the file name must not start with a dot or blanks"
    if not name.lower().endswith(FILE_SUFFIXES):
        return f"the file name must end with one of {', '.join(FILE_SUFFIXES)}"
    return None


# as long as an event's identifier; \Z: "$" would also take a final line break
PRODUCT = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._:/+-]{{0,{IDENTIFIER_LENGTH - 1}}}\Z")


def product_problem(product: str) -> str | None:
    if not PRODUCT.match(product):
        return (
            f"a product id is 1-{IDENTIFIER_LENGTH} letters, digits or . _ : / + - (starting with a letter "
            "or digit)"
        )
    return None


def file_programme(granules: Sequence[Granule], known: Iterable[str]) -> str | None:
    """The programme a file's keywords name: HIERARCH OBS PROG ID, else the programme part of
    HIERARCH SPICADB-ID ('<programme>/<sub-id>'), when that is a programme SPICA-DB knows."""
    codes = set(known)
    for granule in granules:
        for candidate in (granule.progid, (granule.proposal_subid or "").split("/")[0]):
            if candidate and candidate in codes:
                return candidate
    return None


@dataclass(frozen=True)
class ObservationRow:
    """What a granule is compared with: an observation of the night logs."""

    observation_id: str
    programme: str | None
    target_key: str
    ra: float | None
    dec: float | None
    mjd_start: float
    mjd_end: float
    raw_files: Sequence[str]


def separation_arcsec(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Angular distance (haversine, stable at small angles)."""
    a1, d1, a2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    h = math.sin((d2 - d1) / 2) ** 2 + math.cos(d1) * math.cos(d2) * math.sin((a2 - a1) / 2) ** 2
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(h)))) * 3600.0


def link_reason(
    granule: Granule,
    programme: str | None,
    observation: ObservationRow,
    *,
    slack_days: float,
    radius_arcsec: float,
) -> str | None:
    """How ``observation`` is one the granule came from, or None.

    - raw-file: the granule's ARCFILE (obs_id) is a raw file of the observation: the DRS says so;
    - otherwise the times must overlap (within the slack), the programmes must not disagree, and the
      target must be the same by name (case, blanks and underscores aside) or by position.
    """
    if granule.obs_id and granule.obs_id in observation.raw_files:
        return "raw-file"
    if granule.t_max < observation.mjd_start - slack_days or granule.t_min > observation.mjd_end + slack_days:
        return None
    if programme and observation.programme and programme != observation.programme:
        return None
    if name_key(granule.target_name) == observation.target_key:
        return "name"
    positions = (granule.s_ra, granule.s_dec, observation.ra, observation.dec)
    if all(p is not None for p in positions):
        ra1, dec1, ra2, dec2 = (float(p) for p in positions if p is not None)
        if separation_arcsec(ra1, dec1, ra2, dec2) <= radius_arcsec:
            return "position"
    return None


def raw_stem(name: str) -> str:
    """A raw file as granules name it (ARCFILE without .fits)."""
    return name[: -len(".fits")] if name.lower().endswith(".fits") else name


class RangeNotSatisfiable(Exception):
    pass


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The [start, end) a ``Range`` header asks for, or None for the whole file (no header, another
    unit, or several ranges: RFC 9110 lets a server answer those with the whole content). Raises
    :class:`RangeNotSatisfiable` for a range outside the file."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or last.isdigit()) or (first and not first.isdigit()):
        return None
    if last and not last.isdigit():
        return None
    if not first:  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(0, size - length), size
    start = int(first)
    if start >= size:
        raise RangeNotSatisfiable
    end = min(size, int(last) + 1) if last else size
    if end <= start:
        return None  # last < first: syntactically invalid, ignored
    return start, end
