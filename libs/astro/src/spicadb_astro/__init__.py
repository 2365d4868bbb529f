"""CHARA and SPICA knowledge shared by the SPICA-DB services, so that no service copies it.

- :mod:`spicadb_astro.chara`: the site, station coordinates, baselines, (u,v), sidereal time;
- :mod:`spicadb_astro.spica`: the SPICA instrument modes (Aspro2 CHARA.xml);
- :mod:`spicadb_astro.nights`: night boundaries at CHARA (local-noon convention) and MJD conversions.

Source of every number: ``../shared/reference/chara-spica.md``. Importing the package configures
astropy's IERS handling for offline use, once for the process (:mod:`spicadb_astro._iers`);
:func:`quiet` silences the warnings that the offline fallbacks emit.
"""

from __future__ import annotations

from ._iers import quiet

__all__ = ["quiet"]
