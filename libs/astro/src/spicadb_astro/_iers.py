"""astropy IERS handling for SPICA-DB, set in one place: offline by design.

IERS tables are never downloaded (CI and the services have no network). Beyond the bundled IERS-A
predictions astropy falls back to its 50-year mean polar motion and to UT1 = UTC, errors far below
anything SPICA-DB computes (minutes-scale night samples, metre-scale (u,v)). These are process-wide
astropy settings and only relax errors into warnings; :func:`quiet` silences those warnings locally.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from astropy.utils import iers
from astropy.utils.exceptions import AstropyWarning
from erfa import ErfaWarning

iers.conf.auto_download = False
iers.conf.auto_max_age = None
iers.conf.iers_degraded_accuracy = "warn"


@contextmanager
def quiet() -> Iterator[None]:
    """Silence what astropy/erfa say about predicted IERS values and far-future leap seconds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ErfaWarning)
        warnings.simplefilter("ignore", AstropyWarning)  # IERS degraded accuracy, polar motion mean
        yield
