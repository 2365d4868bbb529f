"""SPICA modes (chara-spica.md §5.1)."""

from __future__ import annotations

import msgspec
import pytest

from spicadb_astro.spica import LEGACY, MODES, Mode, mode


def test_modes_table() -> None:
    assert list(MODES) == ["LR", "MR640", "MR685", "MR720", "MR800", "MR850", "HR"]
    assert MODES["LR"] == Mode("LR", 0.6142e-6, 0.8999e-6, 140.0, 59)
    assert MODES["MR640"] == Mode("MR640", 0.593e-6, 0.6817e-6, 3678.0, 500)
    assert MODES["MR685"] == Mode("MR685", 0.6377e-6, 0.7264e-6, 3936.0, 500)
    assert MODES["MR720"] == Mode("MR720", 0.6728e-6, 0.7616e-6, 4134.0, 500)
    assert MODES["MR800"] == Mode("MR800", 0.7557e-6, 0.8445e-6, 4582.0, 500)
    assert MODES["MR850"] == Mode("MR850", 0.8285e-6, 0.9183e-6, 4978.0, 500)
    hr = MODES["HR"]
    assert hr.resolving_power == 13213.0
    assert hr.em_max - hr.em_min == pytest.approx(29.1e-9, abs=1e-15)
    assert (hr.em_min + hr.em_max) / 2 == pytest.approx(0.720e-6, abs=1e-15)


def test_modes_are_consistent() -> None:
    for name, m in MODES.items():
        assert m.name == name
        assert 0.59e-6 <= m.em_min < m.em_max <= 0.92e-6
    for name in ("MR640", "MR685", "MR720", "MR800", "MR850"):
        m = MODES[name]
        # ~88.8 nm bands (MR850: 89.8 nm as configured)
        assert m.em_max - m.em_min == pytest.approx(88.8e-9, abs=1.1e-9)


def test_mode_lookup() -> None:
    assert mode("lr") is MODES["LR"]
    assert mode(" MR720 ") is MODES["MR720"]
    assert LEGACY["MR855"] == "MR850"
    assert mode("MR855") is MODES["MR850"]
    assert mode("mr855") is MODES["MR850"]
    with pytest.raises(KeyError, match="LR, MR640"):
        mode("MR900")


def test_mode_is_frozen_and_encodes() -> None:
    m = mode("HR")
    with pytest.raises(AttributeError):
        m.name = "X"  # type: ignore[misc]
    assert msgspec.json.decode(msgspec.json.encode(m), type=Mode) == m
