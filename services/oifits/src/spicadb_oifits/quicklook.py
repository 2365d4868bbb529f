"""Quick-look PNGs of a granule, made once at indexing: UV coverage, V² and closure phases.

A granule's points are the rows of its OI_TARGET row, INSNAME and night (the night of each row as
:mod:`spicadb_oifits.granules` computes it, with the same site helpers), channel by channel, without flagged
or non-finite values. Spatial frequencies are B/λ in Mλ (10⁶ wavelengths); colour is the wavelength.

- ``uv``: (u, v) of OI_VIS2 and OI_VIS rows and their symmetric points (-u, -v), equal axes, u increasing to
  the left (East left, as on the sky). A baseline that is in both tables (same MJD, UCOORD, VCOORD) is drawn
  once: its OI_VIS channels are added only where OI_VIS2 has none unflagged;
- ``vis2``: VIS2DATA against B/λ with VIS2ERR bars. A granule without OI_VIS2 rows falls back to VISAMP²
  (error 2·VISAMP·VISAMPERR), labelled so, but only from OI_VIS tables with AMPTYP='absolute': differential
  or correlated-flux amplitudes squared are not V²;
- ``t3phi``: T3PHI (degrees) against the longest of the triangle's three baselines, with T3PHIERR bars.

A plot without points for the granule (no such rows, or all flagged) is left out of its dict. Rendering
uses matplotlib's object-oriented API only (no pyplot state, so worker threads can render at once) and PNGs
carry no Software or date chunk, so the same input gives the same bytes (plots are stored by content).
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib
import numpy as np
from astropy.io import fits
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from .granules import Granule, _sites, night_of
from .reader import column, rows, tables, text

PLOTS = ("uv", "vis2", "t3phi")
FIGSIZE = (6.0, 5.0)  # inches, at DPI: 480 x 400 px
DPI = 80
AXES = (0.14, 0.11, 0.68, 0.76)  # left, bottom, width, height (figure fraction)
STRIP = (416, 44, 12, 304)  # the colour strip: left, bottom, width, height (px)
CMAP = matplotlib.colormaps["turbo"]
LEVELS = 16  # colours of the wavelength scale: one pair of lines per level is drawn, however many points
MEGA = 1e6
# a plot shows at most this many points: a 500 MB file holds millions, which Agg would take minutes and
# gigabytes to draw for a picture no different from one point in k
MAX_POINTS = 40_000
NO_NIGHT = -1  # night ordinal of a row whose MJD is not finite: in no granule
# no Software chunk: the bytes must not change with the matplotlib version (plots are content-addressed)
PNG_METADATA: dict[str, str | None] = {"Software": None}
VIS2_LABEL = "V²"
VISAMP2_LABEL = "VISAMP² (OI_VIS, no OI_VIS2)"


def _level(normed: np.ndarray) -> np.ndarray:
    """Colour level (0 .. LEVELS-1) of values normalised to 0..1 (masked or NaN: the lowest)."""
    filled = np.nan_to_num(np.ma.filled(normed, np.nan), nan=0.0)
    levels: np.ndarray = np.clip(np.rint(filled * (LEVELS - 1)), 0, LEVELS - 1).astype(np.int64)
    return levels


def _colour(level: int) -> tuple[float, float, float, float]:
    red, green, blue, alpha = CMAP(level / (LEVELS - 1))
    return (red, green, blue, alpha)


# the colour strip, long wavelengths at the top, in the levels the points are drawn with; shared read-only
STRIP_IMAGE = np.repeat(
    (CMAP(_level(np.linspace(1.0, 0.0, STRIP[3])) / (LEVELS - 1)) * 255).astype(np.uint8)[:, None, :],
    STRIP[2],
    axis=1,
)


@dataclass
class Series:
    """Points of one plot: x, y (Mλ, or Mλ and a value), optional 1-sigma errors, wavelength (m)."""

    x: np.ndarray
    y: np.ndarray
    err: np.ndarray | None
    wave: np.ndarray
    label: str = ""

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class Points:
    """What the plots of one granule show; ``uv`` holds the measured points, not their mirror images."""

    uv: Series | None
    vis2: Series | None
    t3phi: Series | None
    # one row in ``stride`` of each table was read (a huge granule); 1: every row
    stride: int = 1


@dataclass
class _Table:
    name: str
    hdu: fits.BinTableHDU
    insname: str
    wave: np.ndarray  # EFF_WAVE (m) of its INSNAME
    target: np.ndarray
    mjd: np.ndarray
    night: np.ndarray  # night ordinal per row (NO_NIGHT when the MJD is not finite)


def _nights(mjds: np.ndarray, longitude: float | None, is_chara: bool) -> np.ndarray:
    """Night ordinal per row, computed once per distinct MJD (rows of one exposure share it)."""
    result = np.full(len(mjds), NO_NIGHT, dtype=np.int64)
    finite = np.isfinite(mjds)
    if finite.any():
        distinct, inverse = np.unique(mjds[finite], return_inverse=True)
        ordinals = [night_of(float(m), longitude, is_chara).toordinal() for m in distinct]
        result[finite] = np.asarray(ordinals, dtype=np.int64)[inverse]
    return result


def _data_tables(hdus: fits.HDUList) -> list[_Table]:
    """OI_VIS, OI_VIS2 and OI_T3 tables whose rows can be in a granule, with each row's target and night."""
    all_tables = tables(hdus)
    waves: dict[str, list[fits.BinTableHDU]] = defaultdict(list)
    for _i, name, hdu in all_tables:
        if name == "OI_WAVELENGTH":
            waves[text(hdu.header.get("INSNAME"))].append(hdu)
    sites, fallback = _sites(hdus)
    result = []
    for _i, name, hdu in all_tables:
        if name not in ("OI_VIS", "OI_VIS2", "OI_T3") or rows(hdu) == 0:
            continue
        insname = text(hdu.header.get("INSNAME"))
        wave = column(waves[insname][0], "EFF_WAVE") if len(waves.get(insname, [])) == 1 else None
        ids, mjds = column(hdu, "TARGET_ID"), column(hdu, "MJD")
        if wave is None or ids is None or mjds is None:
            continue
        arrname = text(hdu.header.get("ARRNAME"))
        site = sites.get(arrname, fallback) if arrname else fallback
        mjds = mjds.astype(float)
        result.append(
            _Table(
                name, hdu, insname, wave.astype(float), ids.astype(np.int64), mjds,
                _nights(mjds, site.longitude, site.is_chara),
            )
        )  # fmt: skip
    return result


def _cells(table: _Table, col: str, selected: np.ndarray) -> np.ndarray | None:
    """Column ``col`` of the selected rows as (rows, channels) floats, None when absent or misshapen."""
    values = column(table.hdu, col)
    if values is None or values.dtype.kind not in "fiu":
        return None
    values = values.reshape(len(values), -1)[selected].astype(float)
    return values if values.shape[1] == len(table.wave) else None


def _unflagged(table: _Table, selected: np.ndarray) -> np.ndarray:
    flag = column(table.hdu, "FLAG")
    shape = (int(selected.sum()), len(table.wave))
    if flag is None:
        return np.ones(shape, dtype=bool)
    flag = flag.reshape(len(flag), -1)[selected]
    return ~flag.astype(bool) if flag.shape == shape else np.ones(shape, dtype=bool)


def _scalar(table: _Table, col: str, selected: np.ndarray) -> np.ndarray | None:
    values = column(table.hdu, col)
    if values is None or values.dtype.kind not in "fiu" or values.size != len(values):
        return None
    scalars: np.ndarray = values.reshape(len(values))[selected].astype(float)
    return scalars


def _join(parts: list[Series], label: str) -> Series | None:
    parts = [part for part in parts if len(part)]
    if not parts:
        return None
    errors = [part.err if part.err is not None else np.full(len(part), np.nan) for part in parts]
    return Series(
        np.concatenate([p.x for p in parts]),
        np.concatenate([p.y for p in parts]),
        np.concatenate(errors),
        np.concatenate([p.wave for p in parts]),
        label,
    )


def _uv(mine: list[tuple[_Table, np.ndarray]]) -> Series | None:
    covered: dict[tuple[float, float, float], np.ndarray] = {}  # (MJD, u, v) of OI_VIS2 -> unflagged channels
    parts = []
    for table, selected in sorted(mine, key=lambda item: item[0].name != "OI_VIS2"):
        if table.name == "OI_T3":
            continue
        u, v = _scalar(table, "UCOORD", selected), _scalar(table, "VCOORD", selected)
        if u is None or v is None:
            continue
        good = _unflagged(table, selected) & np.isfinite(u)[:, None] & np.isfinite(v)[:, None]
        keys = list(zip(table.mjd[selected].tolist(), u.tolist(), v.tolist(), strict=True))
        if table.name == "OI_VIS2":
            for key, row in zip(keys, good, strict=True):
                covered[key] = covered[key] | row if key in covered else row
        else:
            for i, key in enumerate(keys):
                if key in covered:
                    good[i] &= ~covered[key]
        wave = np.broadcast_to(table.wave, good.shape)
        parts.append(
            Series((u[:, None] / wave)[good] / MEGA, (v[:, None] / wave)[good] / MEGA, None, wave[good])
        )
    return _join(parts, "")


def _frequency(table: _Table, selected: np.ndarray) -> np.ndarray | None:
    """Spatial frequency (Mλ) per row and channel: the baseline, or the triangle's longest baseline."""
    if table.name == "OI_T3":
        coords = [_scalar(table, col, selected) for col in ("U1COORD", "V1COORD", "U2COORD", "V2COORD")]
        if any(c is None for c in coords):
            return None
        u1, v1, u2, v2 = (c for c in coords if c is not None)
        length = np.fmax(np.fmax(np.hypot(u1, v1), np.hypot(u2, v2)), np.hypot(u1 + u2, v1 + v2))
    else:
        u, v = _scalar(table, "UCOORD", selected), _scalar(table, "VCOORD", selected)
        if u is None or v is None:
            return None
        length = np.hypot(u, v)
    frequency: np.ndarray = length[:, None] / table.wave / MEGA
    return frequency


def _against_frequency(
    table: _Table, selected: np.ndarray, value: str, error: str, square: bool = False
) -> Series | None:
    y, err = _cells(table, value, selected), _cells(table, error, selected)
    x = _frequency(table, selected)
    if y is None or x is None:
        return None
    if square:  # VISAMP² and its propagated error
        err = None if err is None else 2 * np.abs(y) * err
        y = y**2
    good = _unflagged(table, selected) & np.isfinite(y) & np.isfinite(x)
    wave = np.broadcast_to(table.wave, good.shape)
    return Series(x[good], y[good], None if err is None else err[good], wave[good])


def _vis2(mine: list[tuple[_Table, np.ndarray]]) -> Series | None:
    parts = [_against_frequency(t, s, "VIS2DATA", "VIS2ERR") for t, s in mine if t.name == "OI_VIS2"]
    if any(t.name == "OI_VIS2" for t, _s in mine):
        return _join([p for p in parts if p is not None], VIS2_LABEL)
    absolute = [
        (t, s)
        for t, s in mine
        if t.name == "OI_VIS" and text(t.hdu.header.get("AMPTYP")).lower() == "absolute"
    ]
    parts = [_against_frequency(t, s, "VISAMP", "VISAMPERR", square=True) for t, s in absolute]
    return _join([p for p in parts if p is not None], VISAMP2_LABEL)


def _t3phi(mine: list[tuple[_Table, np.ndarray]]) -> Series | None:
    parts = [_against_frequency(t, s, "T3PHI", "T3PHIERR") for t, s in mine if t.name == "OI_T3"]
    return _join([p for p in parts if p is not None], "closure phase (deg)")


def _points_of(data: list[_Table], granule: Granule) -> Points:
    night = granule.night.toordinal()
    mine = []
    stride = 1
    for table in data:
        if table.insname != granule.insname:
            continue
        selected = (table.target == granule.target_id) & (table.night == night)
        if selected.any():
            selected, k = _every_kth(selected, len(table.wave))
            stride = max(stride, k)
            mine.append((table, selected))
    return Points(_uv(mine), _vis2(mine), _t3phi(mine), stride)


def _every_kth(selected: np.ndarray, channels: int) -> tuple[np.ndarray, int]:
    """Rows of a table beyond what a plot shows (MAX_POINTS points) are not read: one row in k is kept, so
    that a 500 MB file's quick-look costs what a small one does."""
    rows = np.flatnonzero(selected)
    k = -(-len(rows) * channels // MAX_POINTS)
    if k <= 1:
        return selected, 1
    kept = np.zeros_like(selected)
    kept[rows[::k]] = True
    return kept, k


def points(hdus: fits.HDUList, granules: Sequence[Granule]) -> list[Points]:
    """The points each granule's plots show, in the order of ``granules``."""
    data = _data_tables(hdus)
    return [_points_of(data, granule) for granule in granules]


# --- drawing -------------------------------------------------------------------------------------------------


class _Plot:
    """One small Agg figure: the axes, and a wavelength colour strip on the right.

    Cheap by design (a few tens of ms): fixed axes rectangle (no layout engine), at most 6 ticks per axis,
    the colour strip drawn as a figure image rather than a colour-bar axes, limits set here rather than
    autoscaled, points drawn as one line per colour level.
    """

    def __init__(self, granule: Granule) -> None:
        self.figure = Figure(figsize=FIGSIZE, dpi=DPI)
        self.canvas = FigureCanvasAgg(self.figure)
        self.ax: Axes = self.figure.add_axes(AXES)
        # names are the file's text: a '$' must not start mathtext (a parse error would stop the indexing)
        title = f"{granule.target_name} · {granule.insname}\nnight of {granule.night.isoformat()}"
        self.ax.set_title(title, fontsize=9, parse_math=False)
        for axis in (self.ax.xaxis, self.ax.yaxis):
            axis.set_major_locator(MaxNLocator(6, steps=[1, 2, 2.5, 5, 10]))
        self.ax.tick_params(labelsize=8)
        self.ax.grid(True, linewidth=0.4, alpha=0.5)
        # the colour scale spans the INSNAME's channels, the same in the granule's three plots
        low, high = (w * MEGA if np.isfinite(w) else 0.0 for w in (granule.em_min, granule.em_max))
        self.norm = Normalize(low, high) if high > low else Normalize(low - 0.01, high + 0.01)
        self._strip(low, high)

    def _strip(self, low: float, high: float) -> None:
        left, bottom, width, height = STRIP
        single = np.array(_colour(int(_level(np.array([0.5]))[0]))) * 255
        image = STRIP_IMAGE if high > low else np.broadcast_to(single.astype(np.uint8), STRIP_IMAGE.shape)
        self.figure.figimage(image, xo=left, yo=bottom, origin="upper")
        size = FIGSIZE[0] * DPI, FIGSIZE[1] * DPI
        x = (left + width + 3) / size[0]
        self.figure.text((left + width / 2) / size[0], (bottom + height + 6) / size[1], "λ (µm)",
                         fontsize=8, ha="center", va="bottom")  # fmt: skip
        labels = [(high, 1.0), (low, 0.0)] if high > low else [(low, 0.5)]
        for value, at in labels:
            y = (bottom + at * height) / size[1]
            self.figure.text(x, y, f"{value:.3g}", fontsize=7, va="center")

    def draw(self, x: np.ndarray, y: np.ndarray, wave: np.ndarray, err: np.ndarray | None = None) -> None:
        """Points (and their error bars) coloured by wavelength, one marker line and one bar line per
        colour level: Agg draws a line's markers in one call, where a scatter or a LineCollection of
        20,000 points costs 2-3 times as much."""
        level = _level(np.asarray(self.norm(wave * MEGA)))
        size = 3.4 if len(x) < 300 else 2.4  # points
        for k in np.unique(level):
            at = level == k
            colour = _colour(int(k))
            if err is not None:
                self._bars(x[at], y[at], err[at], colour)
            marker = Line2D(x[at], y[at], linestyle="none", marker="o", markersize=size, markeredgewidth=0)
            marker.set(color=colour, zorder=2)
            self.ax.add_line(marker)

    def _bars(self, x: np.ndarray, y: np.ndarray, err: np.ndarray, colour: tuple[float, ...]) -> None:
        has = np.isfinite(err) & (err > 0)
        if not has.any():
            return
        x, y, err = x[has], y[has], err[has]
        gap = np.full(len(x), np.nan)  # one line, broken between bars
        bars = Line2D(np.column_stack([x, x, gap]).ravel(), np.column_stack([y - err, y + err, gap]).ravel())
        bars.set(color=colour, linewidth=0.7, alpha=0.45, zorder=1)
        self.ax.add_line(bars)

    def png(self) -> bytes:
        buffer = io.BytesIO()
        # matplotlib's Agg canvas carries no annotations (savefig is typed but redraws with savefig's settings)
        self.canvas.print_png(buffer, metadata=PNG_METADATA)  # type: ignore[no-untyped-call]
        return buffer.getvalue()


def _y_limits(series: Series) -> tuple[float, float]:
    """The points' range, widened to their error bars but by no more than a quarter of it each side."""
    low, high = float(np.min(series.y)), float(np.max(series.y))
    span = high - low or max(abs(high), 1.0) * 0.1
    if series.err is not None and np.isfinite(series.err).any():
        err = np.nan_to_num(series.err, nan=0.0)
        low = max(min(low, float(np.min(series.y - err))), low - span / 4)
        high = min(max(high, float(np.max(series.y + err))), high + span / 4)
    margin = (high - low) * 0.05 or span * 0.05
    return low - margin, high + margin


def _uv_png(granule: Granule, series: Series) -> bytes:
    plot = _Plot(granule)
    both = np.concatenate
    plot.draw(both([series.x, -series.x]), both([series.y, -series.y]), both([series.wave, series.wave]))
    limit = float(np.max(np.hypot(series.x, series.y))) * 1.08 or 1.0
    plot.ax.set_xlim(limit, -limit)  # East (positive u) to the left
    plot.ax.set_ylim(-limit, limit)
    plot.ax.set_aspect("equal", adjustable="box")
    plot.ax.set_xlabel("u (Mλ), East to the left", fontsize=8)
    plot.ax.set_ylabel("v (Mλ)", fontsize=8)
    return plot.png()


def _frequency_png(granule: Granule, series: Series, xlabel: str) -> bytes:
    plot = _Plot(granule)
    plot.draw(series.x, series.y, series.wave, series.err)
    plot.ax.set_xlim(0.0, float(np.max(series.x)) * 1.05 or 1.0)
    plot.ax.set_ylim(*_y_limits(series))
    plot.ax.set_xlabel(xlabel, fontsize=8)
    plot.ax.set_ylabel(series.label, fontsize=8)
    return plot.png()


def _thinned(series: Series | None, rows: int = 1) -> Series | None:
    """One point in k (an even stride, so the same file gives the same picture) above MAX_POINTS; the
    label says so, with the rows left unread (``rows``)."""
    if series is None:
        return None
    k = max(1, -(-len(series) // MAX_POINTS))
    if k == 1 and rows == 1:
        return series
    err = series.err[::k] if series.err is not None else None
    note = f"1 point in {k * rows} shown"
    label = f"{series.label} ({note})" if series.label else note
    return Series(series.x[::k], series.y[::k], err, series.wave[::k], label)


def render_points(granule: Granule, found: Points) -> dict[str, bytes]:
    """The PNGs of one granule's points; a plot without points is left out."""
    found = Points(_thinned(found.uv, found.stride), _thinned(found.vis2, found.stride),
                   _thinned(found.t3phi, found.stride))  # fmt: skip
    result = {}
    if found.uv is not None:
        result["uv"] = _uv_png(granule, found.uv)
    if found.vis2 is not None:
        result["vis2"] = _frequency_png(granule, found.vis2, "spatial frequency B/λ (Mλ)")
    if found.t3phi is not None:
        result["t3phi"] = _frequency_png(
            granule, found.t3phi, "longest spatial frequency of the triangle (Mλ)"
        )
    return result


def render(hdus: fits.HDUList, granules: Sequence[Granule]) -> list[dict[str, bytes]]:
    """For each granule, in order, its quick-look PNGs by kind (:data:`PLOTS`); plots without data are left out."""
    return [
        render_points(granule, found) for granule, found in zip(granules, points(hdus, granules), strict=True)
    ]
