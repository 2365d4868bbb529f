"""CHARA geometry: station coordinates, baselines, (u,v), sidereal time, projected baselines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spicadb_astro import chara
from spicadb_astro.chara import (
    EQUATORIAL,
    LATITUDE,
    STATIONS,
    apparent_sidereal_time,
    location,
    normalise_configuration,
    pairs,
    projected_baselines,
    uv,
)

# chara-spica.md §3: baseline -> (length m, ground PA deg east of north)
BASELINES = {
    "S1-S2": (34.074, 350.29),
    "S1-E1": (330.661, 22.28),
    "S1-E2": (278.762, 14.63),
    "S1-W1": (278.500, 321.02),
    "S1-W2": (210.967, 340.88),
    "S2-E1": (302.324, 25.70),
    "S2-E2": (248.130, 17.87),
    "S2-W1": (249.393, 317.18),
    "S2-W2": (177.445, 339.08),
    "E1-E2": (65.878, 236.61),
    "E1-W1": (313.526, 253.39),
    "E1-W2": (221.825, 241.27),
    "E2-W1": (251.333, 257.73),
    "E2-W2": (156.272, 243.23),
    "W1-W2": (107.922, 99.11),
}
# chara-spica.md §2: East, North, Up (m) from S1
ENU = {
    "S1": (0.0, 0.0, 0.0),
    "S2": (-5.7465, 33.5794, 0.6454),
    "E1": (125.3357, 305.9289, -5.9112),
    "E2": (70.3942, 269.7131, -2.7943),
    "W1": (-175.0729, 216.3223, -10.7850),
    "W2": (-69.0928, 199.3317, 0.4698),
}


def ground(station: str) -> tuple[float, float, float]:
    """E, N, U from the equatorial X, Y, Z (inverse of chara-spica.md §2)."""
    x, y, z = EQUATORIAL[station]
    phi = math.radians(LATITUDE)
    return y, -math.sin(phi) * x + math.cos(phi) * z, math.cos(phi) * x + math.sin(phi) * z


def test_site_constants() -> None:
    assert chara.SITE == "CHARA"
    assert chara.TIMEZONE == "America/Los_Angeles"
    assert STATIONS == ("E1", "W2", "W1", "S2", "S1", "E2")
    assert set(EQUATORIAL) == set(STATIONS)


def test_location_is_geodetic_not_geocentric() -> None:
    site = location()
    assert site.lon.deg == pytest.approx(-118.0570313, abs=1e-9)
    assert site.lat.deg == pytest.approx(34.2243837, abs=1e-9)
    assert site.height.to_value("m") == pytest.approx(1725.21, abs=1e-6)


@pytest.mark.parametrize("station", sorted(ENU))
def test_equatorial_matches_east_north_up(station: str) -> None:
    assert ground(station) == pytest.approx(ENU[station], abs=1e-3)


@pytest.mark.parametrize(("name", "expected"), BASELINES.items())
def test_baseline_lengths_and_ground_angles(name: str, expected: tuple[float, float]) -> None:
    first, second = name.split("-")
    b = np.subtract(EQUATORIAL[second], EQUATORIAL[first])
    assert float(np.linalg.norm(b)) == pytest.approx(expected[0], abs=1e-3)
    e1, n1, _ = ground(first)
    e2, n2, _ = ground(second)
    angle = math.degrees(math.atan2(e2 - e1, n2 - n1)) % 360.0
    assert angle == pytest.approx(expected[1], abs=0.01)


def test_pairs_follow_channel_order() -> None:
    six = pairs(STATIONS)
    assert len(six) == 15
    assert six[:6] == [("E1", "W2"), ("E1", "W1"), ("E1", "S2"), ("E1", "S1"), ("E1", "E2"), ("W2", "W1")]
    assert six[-1] == ("S1", "E2")
    # order and case of the input do not matter
    assert pairs(["e2", "S1", "W2", "E1"]) == [
        ("E1", "W2"), ("E1", "S1"), ("E1", "E2"), ("W2", "S1"), ("W2", "E2"), ("S1", "E2"),
    ]  # fmt: skip
    assert pairs(["S1", "E1"]) == [("E1", "S1")]
    with pytest.raises(ValueError, match="unknown CHARA station"):
        pairs(["S1", "X9"])
    with pytest.raises(ValueError, match="twice"):
        pairs(["S1", "s1"])


def test_normalise_configuration() -> None:
    assert normalise_configuration(["S1", "e2", " W1 ", "E1", ""]) == ["E1", "W1", "S1", "E2"]
    with pytest.raises(ValueError, match="unknown CHARA station"):
        normalise_configuration(["S1", "S2", "E1", "X9"])
    with pytest.raises(ValueError, match="twice"):
        normalise_configuration(["S1", "S2", "E1", "S1"])
    with pytest.raises(ValueError, match="4 to 6 telescopes, not 3"):
        normalise_configuration(["S1", "S2", "E1"])


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        (-2.0, (197.020, 249.450, 317.872)),
        (0.0, (125.336, 304.971, 329.721)),
        (2.0, (20.067, 330.014, 330.624)),
    ],
)
def test_uv_worked_example(hours: float, expected: tuple[float, float, float]) -> None:
    """chara-spica.md §4: S1 -> E1 at dec +40 deg."""
    u_m, v_m = uv("S1", "E1", math.radians(15.0 * hours), math.radians(40.0))
    assert float(u_m) == pytest.approx(expected[0], abs=1e-3)
    assert float(v_m) == pytest.approx(expected[1], abs=1e-3)
    assert float(np.hypot(u_m, v_m)) == pytest.approx(expected[2], abs=1e-3)


def test_uv_broadcasts_and_reverses_sign() -> None:
    h = np.radians(np.linspace(-90.0, 90.0, 7))
    u1, v1 = uv("S2", "W1", h, math.radians(20.0))
    u2, v2 = uv("W1", "S2", h, math.radians(20.0))
    assert u1.shape == v1.shape == (7,)
    np.testing.assert_allclose(u1, -u2)
    np.testing.assert_allclose(v1, -v2)


def test_apparent_sidereal_time() -> None:
    lst = apparent_sidereal_time([60083.3220586, 60083.3220586 + 1.0 / 24.0])
    assert lst.shape == (2,)
    assert np.all((lst >= 0.0) & (lst < 2.0 * np.pi))
    # one solar hour is 1.0027379 sidereal hours
    assert float(lst[1] - lst[0]) == pytest.approx(2.0 * np.pi / 24.0 * 1.0027379, abs=1e-6)
    # a scalar in, a 0-d array out
    assert np.ndim(apparent_sidereal_time(60083.0)) == 0


def test_projected_baselines_six_telescopes() -> None:
    ra, dec = 249.28975, -10.56709  # zet Oph, the SPICA sample file
    start, end = 60083.30, 60083.30 + 1.0 / 24.0
    result = projected_baselines(list(STATIONS), ra, dec, start, end)
    assert [b.stations for b in result] == [f"{a}-{b}" for a, b in pairs(STATIONS)]
    assert len(result) == 15
    lst = apparent_sidereal_time([start, end])
    for b in result:
        first, second = b.stations.split("-")
        ground_length = float(np.linalg.norm(np.subtract(EQUATORIAL[second], EQUATORIAL[first])))
        assert b.length_start <= ground_length + 1e-9
        assert b.length_end <= ground_length + 1e-9
        assert (b.u_start, b.v_start) != (b.u_end, b.v_end)
        assert b.length_start != pytest.approx(b.length_end, abs=1e-6)
        u_m, v_m = uv(first, second, lst - math.radians(ra), math.radians(dec))
        assert (b.u_start, b.u_end) == pytest.approx(tuple(u_m), abs=1e-9)
        assert (b.v_start, b.v_end) == pytest.approx(tuple(v_m), abs=1e-9)
        assert b.length_start == pytest.approx(math.hypot(b.u_start, b.v_start))
        assert 0.0 <= b.angle_start < 360.0
        assert 0.0 <= b.angle_end < 360.0
        assert b.angle_start == pytest.approx(math.degrees(math.atan2(b.u_start, b.v_start)) % 360.0)


def test_projected_baselines_four_telescopes_any_order() -> None:
    result = projected_baselines(["s1", "E1", "W2", "E2"], 279.2347, 38.7837, 60200.2, 60200.25)
    assert [b.stations for b in result] == ["E1-W2", "E1-S1", "E1-E2", "W2-S1", "W2-E2", "S1-E2"]
