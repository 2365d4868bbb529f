"""The deployment checks read spicadb_kit's settings classes and service specs.

`make install` installs the kit into the virtualenv; when it is not installed (a bare checkout, or the
kit being reworked), the checks read it from the source tree instead of failing to import.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

KIT_SRC = Path(__file__).resolve().parents[2] / "libs" / "kit" / "src"

if importlib.util.find_spec("spicadb_kit") is None and KIT_SRC.is_dir():
    sys.path.insert(0, str(KIT_SRC))
