"""The OiDB view as data: the search form read and checked (a target's name or its coordinates with a
radius, a night, a programme, an instrument mode, calibration and quality levels) and mapped onto
``GET /oidb/granules``; a name resolved from the granules the visitor may see; one granule with its
quick-look plots. The oidb API applies the data rights: what it does not list does not appear."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle

from spicadb_astro.spica import MODES

from ..api import ApiProblem
from .session import ApiSession, path

# the cone's radius in arcminutes: a star's positions in two catalogues agree far better than 1'
DEFAULT_RADIUS = 1.0
MAX_RADIUS = 600.0  # the oidb API's largest cone, 10 degrees (its setting may be smaller: its 400 says so)
INSTRUMENT_MODES = tuple(MODES)
CALIB_LEVELS = {0: "raw", 1: "instrumental", 2: "calibrated", 3: "processed"}
# OiDB's scale of the effective quality level
QUALITY_LEVELS = {
    0: "unknown", 1: "trash", 2: "to be reduced again", 3: "quick look", 4: "science ready", 5: "outstanding",
}  # fmt: skip
PLOT_TITLES = {
    "uv": "(u,v) coverage",
    "vis2": "Squared visibility against spatial frequency",
    "t3phi": "Closure phase against spatial frequency",
}
# the API's parameters -> the form's fields, to show an API's refusal beside the right input
API_FIELDS = {
    "ra": "target", "dec": "target", "target": "target", "radius": "radius", "night": "night",
    "programme": "programme", "instrument_mode": "mode", "calib_level": "calib_level",
    "quality_level": "quality",
}  # fmt: skip
DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def is_position(text: str) -> bool:
    """Coordinates start with a digit or a sign and hold no letter but the units' (h, m, s, d) and an
    exponent's; anything else is a name (``Vega``, ``HD 1234``, ``51 Peg``, ``3C 273``)."""
    starts = text[:1].isdigit() or text[:1] in "+-."
    return starts and not any(c.isalpha() and c.lower() not in "hmsde" for c in text)


def parse_position(text: str) -> tuple[float, float]:
    """(ra, dec) in degrees from "ra dec": two decimal numbers are degrees; otherwise sexagesimal, the
    right ascension in hours ("18 36 56.3 +38 47 01", "18:36:56.3 +38:47:01", "18h36m56.3s +38d47m01s").
    ValueError says what is wrong."""
    parts = text.replace(",", " ").split()
    if len(parts) == 2 and all(DECIMAL.fullmatch(p) for p in parts):
        ra, dec = float(parts[0]), float(parts[1])
    elif len(parts) % 2 == 0 and parts:
        half = len(parts) // 2
        try:
            ra = Angle(" ".join(parts[:half]), unit=u.hourangle).to_value(u.deg)
            dec = Angle(" ".join(parts[half:]), unit=u.deg).to_value(u.deg)
        except (ValueError, u.UnitsError) as exc:
            raise ValueError(f"cannot be read as coordinates ({exc})") from None
    else:
        raise ValueError("coordinates are a right ascension and a declination, as many parts each")
    if not (math.isfinite(ra) and 0.0 <= ra < 360.0):
        raise ValueError("the right ascension is not in [0, 360) degrees (24 hours)")
    if not (math.isfinite(dec) and -90.0 <= dec <= 90.0):
        raise ValueError("the declination is not in [-90, 90] degrees")
    return float(ra), float(dec)


def sexagesimal(ra: float, dec: float) -> str:
    return sexagesimals([(ra, dec)])[0]


def sexagesimals(positions: Sequence[tuple[float, float]]) -> list[str]:
    """Positions (degrees) as "hh:mm:ss.ss +dd:mm:ss.s", formatted all at once (astropy's formatting is
    array-wise: a page of fifty costs what a few one by one would)."""
    if not positions:
        return []
    ra, dec = np.array(positions, dtype=float).T
    hours = Angle(ra, u.deg).to_string(unit=u.hourangle, sep=":", precision=2, pad=True)
    degrees = Angle(dec, u.deg).to_string(unit=u.deg, sep=":", precision=1, alwayssign=True, pad=True)
    return [f"{h} {d}" for h, d in zip(hours, degrees, strict=True)]


def same_origin(url: str | None) -> str | None:
    """An API's absolute URL as a path of the console's own origin (the gateway): images and links
    stay same-origin whatever public URL the services were given."""
    if not url:
        return None
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class SearchForm:
    """The search as typed (shown again as it was), and what is wrong with it, by field."""

    target: str = ""
    radius: str = ""
    night: str = ""
    programme: str = ""
    mode: str = ""
    calib_level: str = ""
    quality: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def params(self) -> dict[str, str]:
        """The form's fields as a link keeps them (the pager's)."""
        return {
            "target": self.target, "radius": self.radius, "night": self.night, "programme": self.programme,
            "mode": self.mode, "calib_level": self.calib_level, "quality": self.quality,
        }  # fmt: skip


@dataclass
class Search:
    """The checked search: a name to resolve or a position, the radius (degrees), the other filters as
    the API names them."""

    name: str | None = None
    position: tuple[float, float] | None = None
    radius: float = DEFAULT_RADIUS / 60.0
    filters: list[tuple[str, str | int]] = field(default_factory=list)


def _level(text: str, levels: dict[int, str]) -> int | None:
    if text not in {str(k) for k in levels}:
        raise ValueError(f"one of {', '.join(f'{k} ({v})' for k, v in levels.items())}")
    return int(text)


def read_search(form: SearchForm) -> Search:
    """The form checked field by field; each wrong field's message in ``form.errors``."""
    search = Search()
    errors = form.errors
    target = form.target.strip()
    if target and is_position(target):
        try:
            search.position = parse_position(target)
        except ValueError as exc:
            errors["target"] = str(exc)
    elif target:
        search.name = target
    radius = form.radius.strip()
    if radius:
        value = float(radius) if DECIMAL.fullmatch(radius) else math.nan
        if math.isfinite(value) and 0.0 < value <= MAX_RADIUS:
            search.radius = value / 60.0
        else:
            errors["radius"] = f"a number of arcminutes above 0 and at most {MAX_RADIUS:g}"
    night = form.night.strip()
    if night:
        try:
            if not ISO_DATE.fullmatch(night):
                raise ValueError
            search.filters.append(("night", date.fromisoformat(night).isoformat()))
        except ValueError:
            errors["night"] = "a date as YYYY-MM-DD (the local date of the evening)"
    if form.programme.strip():
        search.filters.append(("programme", form.programme.strip()))
    if form.mode:
        if form.mode in INSTRUMENT_MODES:
            search.filters.append(("instrument_mode", form.mode))
        else:
            errors["mode"] = f"one of {', '.join(INSTRUMENT_MODES)}"
    for name, api_name, levels in (
        ("calib_level", "calib_level", CALIB_LEVELS), ("quality", "quality_level", QUALITY_LEVELS),
    ):  # fmt: skip
        text = getattr(form, name).strip()
        if text:
            try:
                search.filters.append((api_name, _level(text, levels)))  # type: ignore[arg-type]
            except ValueError as exc:
                errors[name] = str(exc)
    return search


@dataclass
class Resolved:
    """A name resolved to the position of a granule the visitor may see that bears it."""

    name: str
    ra: float
    dec: float

    @property
    def text(self) -> str:
        return sexagesimal(self.ra, self.dec)


@dataclass
class SearchPage:
    form: SearchForm
    cursor: str | None = None
    granules: list[dict[str, Any]] = field(default_factory=list)
    next: str | None = None
    resolved: Resolved | None = None
    # a name no granule the visitor may see bears: nothing to look around
    unresolved: str | None = None
    refused: ApiProblem | None = None
    searched: bool = False


def _granule_view(granule: dict[str, Any]) -> dict[str, Any]:
    """A granule as the pages show it: its links same-origin, its plots titled, its levels named."""
    granule["download"] = same_origin(granule.get("access_url"))
    granule["plots"] = [
        {**p, "src": same_origin(p["url"]), "title": PLOT_TITLES.get(p["kind"], p["kind"])}
        for p in granule.get("previews") or []
    ]
    granule["quality_name"] = QUALITY_LEVELS.get(granule.get("quality_level") or 0, "unknown")
    calib = granule.get("calib_level")
    granule["calib_name"] = f"{calib} · {CALIB_LEVELS.get(calib, '')}" if isinstance(calib, int) else ""
    return granule


def _granule_views(granules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Granules as the pages show them, each with its position in sexagesimal when it has one."""
    placed = [g for g in granules if g.get("s_ra") is not None and g.get("s_dec") is not None]
    for granule, text in zip(placed, sexagesimals([(g["s_ra"], g["s_dec"]) for g in placed]), strict=True):
        granule["position"] = text
    return [_granule_view(g) for g in granules]


class OidbConsole:
    """The OiDB search and a granule, for one visitor."""

    def __init__(self, session: ApiSession) -> None:
        self.page_size = session.page_size
        self._get = session.get

    async def search(self, form: SearchForm, cursor: str | None) -> SearchPage:
        """One page of the granules the search finds (keyset pages on the API's cursor). A wrong field is
        not sent: the page shows it beside its input. A name is resolved first (two calls in sequence:
        the second needs the first's answer)."""
        view = SearchPage(form, cursor)
        search = read_search(form)
        if form.errors:
            return view
        view.searched = True
        params: list[tuple[str, str | int]] = list(search.filters)
        position = search.position
        if search.name:
            view.resolved = await self.resolve(search.name)
            if view.resolved is not None:
                position = (view.resolved.ra, view.resolved.dec)
            else:
                params.append(("target", search.name))  # a name with no position: the name itself
        if position:
            params += [
                ("ra", f"{position[0]:.8f}"),
                ("dec", f"{position[1]:.8f}"),
                ("radius", repr(search.radius)),
            ]
        params.append(("limit", self.page_size))
        if cursor:
            params.append(("cursor", cursor))
        try:
            listing = await self._get("/oidb/granules", params)
        except ApiProblem as problem:
            if problem.status not in (400, 422):
                raise
            view.refused = problem
            for error in problem.errors:
                name = API_FIELDS.get(str(error.get("field") or "").split(".")[-1])
                if name:
                    form.errors.setdefault(name, str(error.get("message") or problem.title))
            if "cone" in problem.detail and "radius" in problem.detail:
                form.errors.setdefault("radius", problem.detail)
            return view
        view.granules = _granule_views(listing["items"])
        view.next = listing.get("next")
        if search.name and view.resolved is None and not view.granules:
            view.unresolved = search.name
        return view

    async def resolve(self, name: str) -> Resolved | None:
        """A name's position from the granules' own target names (case and blanks aside, as the API
        matches them): the first one the visitor may see that has a position. No outside resolver: the
        console has no internet, and what the visitor may see is what the search may use."""
        found = await self._get("/oidb/granules", [("target", name), ("limit", 10)])
        for granule in found["items"]:
            if granule.get("s_ra") is not None and granule.get("s_dec") is not None:
                return Resolved(name, float(granule["s_ra"]), float(granule["s_dec"]))
        return None

    async def granule(self, granule_id: UUID) -> dict[str, Any]:
        """One granule (the API's 404 when unknown or not visible: the page is about it)."""
        return _granule_views([await self._get(path("oidb", "granules", str(granule_id)))])[0]
