from __future__ import annotations

import numpy as np
import pytest
import torch

from msimg.engine.runner import reflect_index, run_tiled
from msimg.engine.tiling import blend_weights, spans
from tests.engine.nets import ConvStack, DownUp, loaded

SIZES = [(1, 1), (7, 300), pytest.param(1001, 517, marks=pytest.mark.slow), (64, 64)]


@pytest.mark.parametrize("length", [1, 7, 31, 32, 100, 517, 1001, 2048])
@pytest.mark.parametrize("tile", [1, 32, 100, 512])
@pytest.mark.parametrize("context,overlap,multiple", [(0, 0, 1), (4, 8, 1), (8, 16, 4), (13, 0, 8)])
def test_spans_cover_axis_and_weights_sum_to_one(length, tile, context, overlap, multiple):
    length = -(-length // multiple) * multiple
    axis = spans(length, tile, context, overlap, multiple)
    sizes = {sp.stop - sp.start for sp in axis}
    assert len(sizes) == 1, "windows must share one size so they batch"
    for sp in axis:
        assert sp.start % multiple == 0 and 0 <= sp.start < sp.stop <= length
        assert sp.start <= sp.core_start < sp.core_stop <= sp.stop
        assert sp.core_start == 0 or sp.core_start - sp.start >= context
        assert sp.core_stop == length or sp.stop - sp.core_stop >= context
    for scale in (1, 3):
        total = np.zeros(length * scale)
        for sp, w in zip(axis, blend_weights(axis, scale), strict=True):
            assert w.shape == ((sp.core_stop - sp.core_start) * scale,)
            assert (w > 0).all()
            total[sp.core_start * scale : sp.core_stop * scale] += w
        np.testing.assert_allclose(total, 1.0, atol=1e-6)


def test_windows_shrink_to_the_axis() -> None:
    """A 4000-pixel axis, cores of 512, context 32, overlap 16, windows on a 32 grid: windows of 576
    would need 9 (step 480: 8 reach only 3936) and read 5184 pixels; 9 of 544 (step 448) reach 4128 and
    read 4896, and no count of windows that fit 576 reads fewer (10 of 512 read 5120)."""
    axis = spans(4000, 512, 32, 16, 32)
    assert [sp.stop - sp.start for sp in axis] == [544] * 9
    assert axis[-1].stop == 4000


def _image(h: int, w: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(h * 7919 + w)
    return torch.rand((1, 3, h, w), generator=g)


@pytest.mark.parametrize("scale", [1, 2, 4])
@pytest.mark.parametrize("h,w", SIZES)
@pytest.mark.parametrize("tile", [32, 77, 512])
def test_tiled_equals_whole_convstack(scale, h, w, tile):
    model = loaded(ConvStack(depth=5, scale=scale), scale=scale, context=5)
    x = _image(h, w)
    whole = run_tiled(model, x, tile=0)
    tiled = run_tiled(model, x, tile=tile, overlap=8, batch=3)
    assert tiled.shape == (1, 3, h * scale, w * scale)
    assert (tiled - whole).abs().max().item() < 1 / 255


@pytest.mark.parametrize("scale", [1, 2, 4])
@pytest.mark.parametrize("h,w", SIZES)
@pytest.mark.parametrize("tile", [32, 256])
def test_tiled_equals_whole_strided_unet(scale, h, w, tile):
    model = loaded(DownUp(scale=scale), scale=scale, context=8, multiple=2)
    x = _image(h, w)
    whole = run_tiled(model, x, tile=0)
    tiled = run_tiled(model, x, tile=tile, overlap=0, batch=2)
    assert tiled.shape == (1, 3, h * scale, w * scale)
    assert (tiled - whole).abs().max().item() < 1 / 255


@pytest.mark.slow
def test_too_little_context_shows_seams():
    """The test can fail: with context below the receptive field, tiles differ from the whole image."""
    model = loaded(ConvStack(depth=6), scale=1, context=1)
    x = _image(200, 200)
    diff = (run_tiled(model, x, tile=32, overlap=0) - run_tiled(model, x, tile=0)).abs().max().item()
    assert diff > 1 / 255


def test_padding_reflects_and_handles_tiny_images():
    assert reflect_index(3, 3).tolist() == [0, 1, 2]
    assert reflect_index(3, 5).tolist() == [0, 1, 2, 1, 0]  # reflection without repeating the edge
    assert reflect_index(1, 8).tolist() == [0] * 8  # too short to reflect: the last pixel repeats
    assert reflect_index(2, 5).tolist() == [0, 1, 1, 1, 1]


def test_reflect_index_keeps_the_pattern_phase() -> None:
    for n in range(4, 30):
        for length in range(n, n + 40):
            index = reflect_index(n, length, 4)
            assert torch.all((index - torch.arange(length)) % 4 == 0)
            assert index.min() >= 0 and index.max() < n
    assert reflect_index(10, 12, 4).tolist()[10:] == [6, 7]  # the nearest reflected sites in phase
