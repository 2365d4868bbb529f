"""How target names are compared across sources: a night log writes ``HD_1234``, a DRS ``HD 1234``."""

from __future__ import annotations

import re

_BLANKS = re.compile(r"[\s_]+")


def name_key(name: str) -> str:
    """A target name as compared: case, blanks and underscores aside (``HD 1234`` = ``hd_1234``)."""
    return _BLANKS.sub("", name).lower()
