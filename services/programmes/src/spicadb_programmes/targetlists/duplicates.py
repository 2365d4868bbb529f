"""Duplicates in a target list: the same name, or the same star under another name.

Names are compared case-insensitively with whitespace collapsed ("HD  1234" = "hd 1234").
Positions are compared at **J2000.0**, each moved there by its own proper motion, so a star given
at J2016 (Gaia) and the same star at J2000 (Simbad) coincide. Neighbours within the radius are
found with a KD-tree on unit vectors: 100,000 targets take a fraction of a second.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np
from scipy.spatial import cKDTree

from ..models import TargetIn
from ..sky import propagate

COMMON_EPOCH = 2000.0


class Duplicate(msgspec.Struct, frozen=True):
    """``row`` (index ``index`` in the list) repeats ``other_row`` of the list or ``other_target`` of the
    programme: by name (``same_name``) or by position; ``separation`` in arcsec at J2000.0."""

    row: int
    other_row: int | None
    other_target: str | None
    reason: str
    same_name: bool = False
    separation: float = 0.0
    index: int = -1
    other_index: int | None = None


def normalise_name(name: str) -> str:
    return " ".join(name.split()).casefold()


def _unit_vectors(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    a, d = np.radians(ra), np.radians(dec)
    return np.column_stack((np.cos(d) * np.cos(a), np.cos(d) * np.sin(a), np.sin(d)))


def _positions(
    new: list[TargetIn], existing: list[tuple[str, float, float, float, float | None, float | None]]
) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors at J2000.0 of the new targets then the existing ones, and which moved to get there."""
    ra = np.array([t.ra for t in new] + [e[1] for e in existing], dtype=float)
    dec = np.array([t.dec for t in new] + [e[2] for e in existing], dtype=float)
    epoch = np.array([t.epoch for t in new] + [e[3] for e in existing], dtype=float)
    pmra = np.array([t.pmra for t in new] + [e[4] for e in existing], dtype=float)  # None -> NaN -> 0
    pmdec = np.array([t.pmdec for t in new] + [e[5] for e in existing], dtype=float)
    ra0, dec0 = propagate(ra, dec, pmra, pmdec, epoch, COMMON_EPOCH)
    moved = ((np.nan_to_num(pmra) != 0) | (np.nan_to_num(pmdec) != 0)) & (epoch != COMMON_EPOCH)
    return _unit_vectors(ra0, dec0), moved


def find_duplicates(
    new: list[TargetIn],
    rows: list[int],
    existing: list[tuple[str, float, float, float, float | None, float | None]],
    radius_arcsec: float = 1.0,
) -> list[Duplicate]:
    """Each target of ``new`` (at source row ``rows[i]``) that repeats an earlier one of the list or
    one of ``existing`` (name, ra, dec, epoch, pmra, pmdec): one Duplicate per pair, by row, the
    same name first. A pair matching both by name and by position is reported once, as "same name"."""
    if len(rows) != len(new):
        raise ValueError("rows and new differ in length")
    found: dict[tuple[int, int], Duplicate] = {}  # (new index, -1 - existing index | earlier new index)
    n_new = len(new)
    xyz, moved = _positions(new, existing) if n_new else (np.zeros((0, 3)), np.zeros(0, dtype=bool))

    def apart(a: int, b: int) -> float:
        gap = float(np.linalg.norm(xyz[a] - xyz[b]))
        return math.degrees(2.0 * math.asin(min(gap / 2.0, 1.0))) * 3600.0

    stored: dict[str, int] = {}
    for j, item in enumerate(existing):
        stored.setdefault(normalise_name(item[0]), j)
    first: dict[str, int] = {}
    for i, t in enumerate(new):
        name = normalise_name(t.name)
        if name in stored:
            j = stored[name]
            found[(i, -1 - j)] = Duplicate(
                rows[i], None, existing[j][0], "same name", True, apart(i, n_new + j), i, None
            )
        if name in first:
            k = first[name]
            found[(i, k)] = Duplicate(rows[i], rows[k], None, "same name", True, apart(i, k), i, k)
        else:
            first[name] = i

    if n_new and radius_arcsec > 0:
        chord = 2.0 * math.sin(math.radians(radius_arcsec / 3600.0) / 2.0)
        pairs = cKDTree(xyz).query_pairs(chord, output_type="ndarray")
        if len(pairs):
            lo, hi = pairs.min(axis=1), pairs.max(axis=1)
            keep = lo < n_new  # at least one new target: stored-vs-stored pairs are not news
            lo, hi = lo[keep], hi[keep]
            gap = np.linalg.norm(xyz[lo] - xyz[hi], axis=1)
            separation = np.degrees(2.0 * np.arcsin(np.clip(gap / 2.0, 0.0, 1.0))) * 3600.0
            for a, b, sep in zip(lo.tolist(), hi.tolist(), separation.tolist(), strict=True):
                if b < n_new:  # two new targets: the later one is the duplicate
                    key = (b, a)
                    index, other_index = b, a
                    duplicate_row, other_row, other_target = rows[b], rows[a], None
                else:
                    key = (a, -1 - (b - n_new))
                    index, other_index = a, None
                    duplicate_row, other_row, other_target = rows[a], None, existing[b - n_new][0]
                if key in found:
                    continue
                how = " after proper motion" if moved[a] or moved[b] else ""
                reason = f"within {radius_arcsec:.1f} arcsec{how} ({sep:.2f} arcsec)"
                found[key] = Duplicate(
                    duplicate_row, other_row, other_target, reason, False, sep, index, other_index
                )
    order = sorted(found, key=lambda k: (k[0], k[1] >= 0, abs(k[1])))
    return [found[k] for k in order]
