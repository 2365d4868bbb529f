"""Quick-look PNGs per granule: UV coverage, V² against spatial frequency, closure phases."""

from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import pytest
import synthetic as syn
from astropy.io import fits
from oifits_samples import SAMPLES, sample_params
from PIL import Image
from spicadb_oifits.granules import Granule, extract, granules
from spicadb_oifits.quicklook import PLOTS, VISAMP2_LABEL, points, render

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NIGHT1, NIGHT2 = syn.mjd("2023-05-19T06:00"), syn.mjd("2023-05-21T05:00")
TARGETS = (syn.Target("HD 1"), syn.Target("HD 2", 30.0, -10.0, "CAL"))
INSNAMES = {"SPICA_LR": tuple(np.linspace(0.62e-6, 0.89e-6, 8)), "SPICA_MR": (0.76e-6, 0.8e-6, 0.84e-6)}
FOUR = ("S1", "S2", "E1", "W1")
# the observations of each granule of a two-night, two-target, two-INSNAME file
GROUPS = {
    "HD 1, LR, first night": (
        syn.Observation(NIGHT1, 1, "SPICA_LR"),
        syn.Observation(NIGHT1 + 0.03, 1, "SPICA_LR", FOUR),
    ),
    "HD 2, LR, first night": (syn.Observation(NIGHT1 + 0.01, 2, "SPICA_LR", FOUR),),
    "HD 1, LR, second night": (syn.Observation(NIGHT2, 1, "SPICA_LR"),),
    "HD 1, MR, second night": (syn.Observation(NIGHT2 + 0.01, 1, "SPICA_MR"),),
}


def spec(*observations: syn.Observation) -> syn.Spec:
    return syn.Spec(targets=TARGETS, insnames=INSNAMES, observations=observations)


@contextmanager
def opened(hdus: fits.HDUList) -> Iterator[fits.HDUList]:
    """The file as the indexer sees it: written, then read back."""
    with fits.open(io.BytesIO(syn.to_bytes(hdus))) as read:
        yield read


def plotted(hdus: fits.HDUList) -> tuple[list[Granule], list[dict[str, bytes]]]:
    with opened(hdus) as read:
        found = extract(read)
        return found, render(read, found)


def counts(hdus: fits.HDUList) -> list[dict[str, int]]:
    with opened(hdus) as read:
        return [
            {
                kind: len(series) if series is not None else 0
                for kind, series in vars(p).items()
                if kind != "stride"
            }
            for p in points(read, extract(read))
        ]


def every_observation() -> fits.HDUList:
    return syn.build(spec(*sorted((o for group in GROUPS.values() for o in group), key=lambda o: o.mjd)))


def distinct_baselines(hdus: fits.HDUList) -> fits.HDUList:
    """The writer gives every baseline the same (u, v); here each row of OI_VIS and OI_VIS2 gets its own."""
    for name in ("OI_VIS", "OI_VIS2"):
        for row in range(len(hdus[syn.index_of(hdus, name)].data)):
            syn.set_cell(hdus, name, "UCOORD", row, 10.0 + 20.0 * row)
    return hdus


def test_one_decodable_png_per_plot() -> None:
    [_granule], [plots] = plotted(syn.build())
    assert tuple(plots) == PLOTS
    for png in plots.values():
        assert png.startswith(PNG_SIGNATURE)
        # no text or time chunk: the bytes depend neither on the matplotlib version nor on the clock
        assert b"tEXt" not in png
        assert b"tIME" not in png
        with Image.open(io.BytesIO(png)) as image:
            image.load()
            assert image.size == (480, 400)


def test_one_entry_per_granule_in_the_order_given() -> None:
    hdus = every_observation()
    with opened(hdus) as read:
        found = extract(read)
        assert len(found) == len(GROUPS)
        forward = render(read, found)
        backward = render(read, found[::-1])
    assert len(forward) == len(found)
    assert backward == forward[::-1]
    assert len({plots["uv"] for plots in forward}) == len(found)  # each granule its own plot


def test_each_granule_plots_its_own_rows() -> None:
    hdus = distinct_baselines(every_observation())
    with opened(hdus) as read:
        found = extract(read)
    for granule, numbers in zip(found, counts(hdus), strict=True):
        channels = granule.nb_channels
        # a baseline in OI_VIS and OI_VIS2 is one UV point per channel
        assert numbers == {
            "uv": granule.nb_vis2 * channels,
            "vis2": granule.nb_vis2 * channels,
            "t3phi": granule.nb_t3 * channels,
        }


def test_a_granule_plots_as_the_file_of_its_rows_alone() -> None:
    found, together = plotted(every_observation())
    for observations in GROUPS.values():
        [alone], [plots] = plotted(syn.build(spec(*observations)))
        assert plots == together[found.index(alone)]


def test_names_are_plain_text() -> None:
    # '$' would start matplotlib's mathtext, and an unknown command there is a parse error
    hdus = syn.build(
        targets=(syn.Target("HD $\\x$"),),
        insnames={"S_$^": (0.7e-6,)},
        observations=(syn.Observation(NIGHT1, insname="S_$^"),),
    )
    [granule], [plots] = plotted(hdus)
    assert (granule.target_name, granule.insname) == ("HD $\\x$", "S_$^")
    assert tuple(plots) == PLOTS


def test_no_closure_phase_plot_without_oi_t3() -> None:
    _found, plots = plotted(syn.drop(every_observation(), "OI_T3"))
    assert [tuple(p) for p in plots] == [("uv", "vis2")] * len(GROUPS)


def test_flagged_points_are_left_out() -> None:
    hdus = distinct_baselines(syn.build())
    assert counts(hdus) == [{"uv": 24, "vis2": 24, "t3phi": 8}]
    first_three = np.array([True] * 3 + [False] * 5)
    syn.set_cell(hdus, "OI_VIS2", "FLAG", 0, first_three)
    syn.set_cell(hdus, "OI_VIS2", "VIS2DATA", 0, np.where(first_three, 7.0, 0.5))  # would stand out
    syn.set_cell(hdus, "OI_T3", "FLAG", 0, np.ones(8, dtype=bool))
    # the OI_VIS row of the same baseline still has those channels: the UV points stay
    assert counts(hdus) == [{"uv": 24, "vis2": 21, "t3phi": 0}]
    with opened(hdus) as read:
        [found] = points(read, extract(read))
    assert found.vis2 is not None
    assert float(found.vis2.y.max()) == 0.5
    syn.set_cell(hdus, "OI_VIS", "FLAG", 0, first_three)
    assert counts(hdus)[0]["uv"] == 21
    _granules, [plots] = plotted(hdus)
    assert tuple(plots) == ("uv", "vis2")  # every closure phase flagged: no plot


def test_visamp_squared_stands_in_for_a_missing_oi_vis2_when_absolute() -> None:
    hdus = syn.drop(syn.build(), "OI_VIS2")
    with opened(hdus) as read:
        [found] = points(read, extract(read))
    assert found.vis2 is not None
    assert found.vis2.label == VISAMP2_LABEL
    assert np.allclose(found.vis2.y, 0.25)  # VISAMP 0.5
    assert tuple(plotted(hdus)[1][0]) == PLOTS
    differential = syn.set_key(hdus, "OI_VIS", "AMPTYP", "differential")
    assert tuple(plotted(differential)[1][0]) == ("uv", "t3phi")


def test_same_input_same_bytes_in_threads_too() -> None:
    hdus = every_observation()
    _found, first = plotted(hdus)
    with opened(hdus) as read, ThreadPoolExecutor(4) as pool:  # read again, rendered in worker threads
        found = extract(read)
        threaded = list(pool.map(lambda g: render(read, [g])[0], found))
    assert threaded == first


@pytest.mark.parametrize("row", sample_params())
def test_sample_plots(row: dict[str, str]) -> None:
    if row["expected_verdict"] == "invalid":
        pytest.skip("invalid files are not indexed")
    path = SAMPLES / row["filename"]
    found = granules(path)
    with fits.open(path) as hdus:
        for granule, shown in zip(found, points(hdus, found), strict=True):
            channels = granule.nb_channels
            assert shown.uv is not None
            assert 0 < len(shown.uv) <= (granule.nb_vis + granule.nb_vis2) * channels
            assert (shown.vis2 is None) == (granule.nb_vis2 == 0) or shown.vis2.label == VISAMP2_LABEL
            assert len(shown.vis2 or ()) <= max(granule.nb_vis2, granule.nb_vis) * channels
            assert len(shown.t3phi or ()) <= granule.nb_t3 * channels
        [plots] = render(hdus, found[:1])  # one granule per file keeps the test quick
    assert "uv" in plots
    assert all(png.startswith(PNG_SIGNATURE) for png in plots.values())


def test_a_huge_granule_is_drawn_from_one_row_in_k_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plots of a file with millions of points read a stride of its rows (MAX_POINTS at most), so a
    500 MB file's quick-look costs what a small one does; the axis label tells the reader."""
    from spicadb_oifits import quicklook

    hdus = syn.build()
    with opened(hdus) as read:
        (granule,) = extract(read)
        (full,) = points(read, [granule])
        monkeypatch.setattr(quicklook, "MAX_POINTS", 16)
        (thin,) = points(read, [granule])
    assert full.stride == 1
    assert thin.stride > 1
    assert thin.vis2 is not None
    assert full.vis2 is not None
    assert len(thin.vis2) <= len(full.vis2) // thin.stride + 16
    labelled = quicklook._thinned(thin.vis2, thin.stride)
    assert labelled is not None
    assert "shown" in labelled.label
