"""SPICA-VIS instrument modes, as Aspro2 ``CHARA.xml`` configures them (chara-spica.md §5.1).

Aspro2's configuration is what simulations and OiDB mode resolution rely on, so SPICA-DB uses it
rather than the papers or the CHARA web page (whose numbers differ). Configuration in code: a change
is a reviewed commit, and ``CONFIGURATION`` says which version of the file the table follows.
"""

from __future__ import annotations

import msgspec

INSTRUMENT = "SPICA"
# the Aspro2 CHARA.xml update the table follows (JMMC-OpenDev/aspro-conf)
CONFIGURATION = "Aspro2 CHARA.xml 2024-12-04"


class Mode(msgspec.Struct, frozen=True):
    """One SPICA-VIS mode: wavelength range (metres), resolving power lambda/dlambda, spectral channels."""

    name: str
    em_min: float
    em_max: float
    resolving_power: float
    channels: int


MODES: dict[str, Mode] = {
    m.name: m
    for m in (
        # LR: channel centres 0.6142-0.8999 um, nominal R 140 (per-channel 122-175), 59 explicit channels
        Mode("LR", 0.6142e-6, 0.8999e-6, 140.0, 59),
        # MR: ~88.8 nm bands, R set so that 500 channels cover the band
        Mode("MR640", 0.593e-6, 0.6817e-6, 3678.0, 500),
        Mode("MR685", 0.6377e-6, 0.7264e-6, 3936.0, 500),
        Mode("MR720", 0.6728e-6, 0.7616e-6, 4134.0, 500),
        Mode("MR800", 0.7557e-6, 0.8445e-6, 4582.0, 500),
        Mode("MR850", 0.8285e-6, 0.9183e-6, 4978.0, 500),
        # HR: a 29.1 nm band tunable within 0.600-0.900 um; the default reference 0.720 um +- 14.55 nm
        Mode("HR", 0.70545e-6, 0.73455e-6, 13213.0, 500),
    )
}

# Old mode names still carried by older products and logs -> current name.
# The 2023-02-07 CHARA.xml listed MR640, MR720, MR800 and MR855, all at R = 4344, covering
# 600-685, 680-765, 760-845 and 815-900 nm; the 2024-12-04 update added MR685, renamed MR855 to
# MR850 and set the values of MODES. Old names map to the current mode of the same name or band.
LEGACY: dict[str, str] = {"MR855": "MR850"}


def mode(name: str) -> Mode:
    """The mode called ``name`` (case-insensitive, surrounding blanks ignored, legacy names accepted)."""
    key = name.strip().upper()
    key = LEGACY.get(key, key)
    try:
        return MODES[key]
    except KeyError:
        known = ", ".join([*MODES, *(f"{old} (now {new})" for old, new in LEGACY.items())])
        raise KeyError(f"unknown SPICA mode {name!r}; known modes: {known}") from None
