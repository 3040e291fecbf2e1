"""The colour filter layouts: colours and event holes where the HybridEVS sources put them, site channels
for any region and hole override, mosaics of RGB images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from msimg.errors import UsageError
from msimg.ops import cfa


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
    with pytest.raises(UsageError, match="does not fit 8x8"):
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


def _sample_mosaic(pattern: str) -> np.ndarray:
    """chelsea as a display-referred 10-bit mosaic of `pattern` (holes 0)."""
    from msimg.io.read import read_image

    photo = read_image(Path(__file__).parents[1] / "samples" / "chelsea.png").pixels[:296, :448]
    scene = torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 255
    return np.round(cfa.mosaic(scene, pattern)[0, 0].numpy() * 1023)


def test_detect_event_pixels_that_read_garbage() -> None:
    """Event pixels hold no colour whatever they read: sites that disagree with their quad-mates are
    found as holes, while a dark colour whose quad differs alike everywhere is not."""
    mosaic = _sample_mosaic("quad-bayer")
    garbage = mosaic.copy()
    rng = np.random.default_rng(0)
    for r, c in ((1, 1), (3, 3)):
        garbage[r::4, c::4] = rng.integers(1, 1024, garbage[r::4, c::4].shape)
    assert cfa.detect(garbage).pattern == "quad-bayer-evs"
    dark_blue = mosaic.copy()
    dark_blue[2::4, 2::4] //= 16
    dark_blue[2::4, 3::4] //= 16
    dark_blue[3::4, 2::4] //= 16
    dark_blue[3::4, 3::4] //= 16
    assert cfa.detect(dark_blue).pattern == "quad-bayer"


def test_defects_in_linear_data_are_judged_as_shown() -> None:
    """A dead pixel among linear neighbours at 10 % of full scale (white-balanced to about 20 %, shown
    near 50 %): found when the search knows the data is linear, not when it takes the values as shown."""
    linear = np.full((32, 32), 0.1)
    linear[0::2, 0::2] = 0.05  # red reads low: its white-balance gain is 2
    linear[12, 13] = 0.0
    balance = np.array([2.0, 1.0, 1.6])[cfa.layout("bayer-rggb")]
    assert cfa.isolated_extremes(linear, "bayer-rggb", None, balance).sum() == 1
    assert not cfa.isolated_extremes(linear, "bayer-rggb", None).any()
