"""The colour filter layouts: colours and event holes where the HybridEVS sources put them, site channels
for any region and hole override, mosaics of RGB images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from msimg import cfa
from msimg.errors import UsageError


def test_hybridevs_layout_and_holes() -> None:
    r, g, b = 0, 1, 2
    expected = [[r, r, g, g], [r, r, g, g], [g, g, b, b], [g, g, b, b]]
    np.testing.assert_array_equal(cfa.layout("quad-bayer-evs"), expected)
    assert sorted(zip(*np.nonzero(cfa.holes("quad-bayer-evs")), strict=True)) == [(1, 1), (3, 3)]
    assert not cfa.holes("quad-bayer").any()


@pytest.mark.parametrize(
    ("pattern", "top_left"),
    [("bayer-rggb", [[0, 1], [1, 2]]), ("bayer-bggr", [[2, 1], [1, 0]]), ("bayer-grbg", [[1, 0], [2, 1]])],
)
def test_bayer_layouts_repeat_with_period_two(pattern: str, top_left: list[list[int]]) -> None:
    tile = cfa.layout(pattern)
    np.testing.assert_array_equal(tile[:2, :2], top_left)
    np.testing.assert_array_equal(tile[2:, 2:], top_left)


def test_sites_one_hot_and_valid() -> None:
    s = cfa.sites("quad-bayer-evs", 6, 10)
    assert s.shape == (4, 6, 10)
    assert torch.all(s[:3].sum(dim=0) == 1)  # every site has one filter, holes included
    assert s[3, 1, 1] == 0 and s[3, 5, 5] == 0 and s[3, 3, 7] == 0
    assert s[3].sum() == 60 - 8  # holes at rows 1 and 5 (cols 1, 5, 9) and row 3 (cols 3, 7)
    assert s[0, 1, 1] == 1  # the hole at (1, 1) sits in the red quad


def test_mask_override_and_wrong_size() -> None:
    hole = np.zeros((8, 8), bool)
    hole[2, 3] = True
    s = cfa.sites("bayer-rggb", 8, 8, hole)
    assert s[3].sum() == 63 and s[3, 2, 3] == 0
    period = np.zeros((4, 4), bool)
    period[0, 0] = True
    assert cfa.sites("bayer-rggb", 8, 8, period)[3].sum() == 60
    with pytest.raises(UsageError, match="4x4 or 8x8"):
        cfa.sites("bayer-rggb", 8, 8, np.zeros((5, 5)))


def test_mosaic_keeps_each_sites_colour() -> None:
    rgb = torch.rand(2, 3, 8, 12)
    m = cfa.mosaic(rgb, "quad-bayer-evs")
    assert m.shape == (2, 1, 8, 12)
    assert torch.equal(m[:, 0, 0, 0], rgb[:, 0, 0, 0]) and torch.equal(m[:, 0, 0, 2], rgb[:, 1, 0, 2])
    assert torch.equal(m[:, 0, 2, 2], rgb[:, 2, 2, 2]) and torch.all(m[:, 0, 1, 1] == 0)


def test_unknown_pattern() -> None:
    with pytest.raises(UsageError, match="unknown CFA pattern"):
        cfa.layout("x-trans")
