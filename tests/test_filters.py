"""Small-kernel correlation, the O(1) box filter, the minimum filter and the guided filter against direct
computation."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from msimg.ops.filters import box, correlate, guided_filter, min_filter


def _direct_box(x: torch.Tensor, r: int) -> torch.Tensor:
    out = torch.empty_like(x)
    h, w = x.shape[-2:]
    for i in range(h):
        for j in range(w):
            out[..., i, j] = x[..., max(0, i - r) : i + r + 1, max(0, j - r) : j + r + 1].mean(dim=(-2, -1))
    return out


def test_box_is_the_window_mean_over_pixels_inside_the_image() -> None:
    x = torch.rand(1, 2, 13, 9, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for r in (1, 3, 20):  # 20: wider than the image
        assert torch.allclose(box(x, r), _direct_box(x, r), atol=1e-12)


def test_min_filter_sees_only_image_pixels() -> None:
    x = torch.arange(25.0).view(1, 1, 5, 5)
    out = min_filter(x, 3)
    assert out[0, 0, 0, 0] == 0 and out[0, 0, 2, 2] == 6 and out[0, 0, 4, 4] == 18


def test_guided_filter_keeps_the_guides_edges_and_flattens_noise() -> None:
    gen = torch.Generator().manual_seed(1)
    guide = torch.zeros(1, 1, 40, 40)
    guide[..., 20:] = 1.0  # a step edge
    p = guide + 0.1 * torch.randn(1, 1, 40, 40, generator=gen)
    q = guided_filter(guide, p, r=4, eps=1e-3)
    assert (q - guide).abs().max() < 0.05  # the edge survives, the noise is gone
    assert torch.allclose(guided_filter(guide, guide, 4, 1e-8), guide, atol=1e-4)


@pytest.mark.parametrize("shape", [(1, 1, 7, 9), (2, 3, 12, 5)])
def test_correlate_matches_a_zero_padded_convolution(shape: tuple[int, int, int, int]) -> None:
    """Tap by tap, with zero taps skipped, it is `F.conv2d` (a correlation) with zero padding."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(shape, generator=gen, dtype=torch.float64)
    for kh, kw in ((1, 3), (5, 1), (5, 5), (3, 5)):
        kernel = torch.randn(kh, kw, generator=gen, dtype=torch.float64)
        kernel[torch.rand(kh, kw, generator=gen) < 0.3] = 0
        weight = kernel.expand(shape[1], 1, kh, kw)
        want = F.conv2d(x, weight, padding=(kh // 2, kw // 2), groups=shape[1])
        torch.testing.assert_close(correlate(x, kernel.tolist()), want)
