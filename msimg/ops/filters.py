"""Local filters in torch (CPU or GPU): small kernels tap by tap, large windows from running sums."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def correlate(x: torch.Tensor, kernel: list[list[float]]) -> torch.Tensor:
    """Correlate the last two axes with a small kernel, zeros beyond the border (as `F.conv2d` with
    padding), as one scaled in-place addition of a shifted slice per non-zero tap: one-channel
    convolutions on CPU cost far more than these few additions, and more per pixel on larger images."""
    ry, rx = len(kernel) // 2, len(kernel[0]) // 2
    h, w = x.shape[-2:]
    out = torch.zeros_like(x)
    for i, row in enumerate(kernel):
        for j, tap in enumerate(row):
            if tap:
                dy, dx = i - ry, j - rx  # out[y, x] += tap * x[y + dy, x + dx]
                target = out[..., max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
                target.add_(x[..., max(0, dy) : h + min(0, dy), max(0, dx) : w + min(0, dx)], alpha=tap)
    return out


def _box_1d(x: torch.Tensor, r: int, dim: int) -> torch.Tensor:
    """Mean over a window of 2r+1 along `dim`, over the pixels inside the image (shrinking windows at
    the borders, as He et al.'s box filter normalises), from a running sum: O(1) per pixel."""
    n = x.shape[dim]
    zero = torch.zeros_like(x.narrow(dim, 0, 1))
    total = torch.cat([zero, torch.cumsum(x, dim)], dim)  # total[i] = sum of x[:i]
    i = torch.arange(n, device=x.device)
    hi, lo = (i + r + 1).clamp(max=n), (i - r).clamp(min=0)
    window = total.index_select(dim, hi) - total.index_select(dim, lo)
    shape = [1] * x.dim()
    shape[dim] = n
    return window / (hi - lo).to(x.dtype).view(shape)


def box(x: torch.Tensor, r: int) -> torch.Tensor:
    """(N, C, H, W) mean over (2r+1) x (2r+1) windows, normalised by the pixels inside the image."""
    return _box_1d(_box_1d(x, r, 2), r, 3)


def min_filter(x: torch.Tensor, size: int) -> torch.Tensor:
    """(N, C, H, W) minimum over size x size windows (odd size); the border only sees image pixels."""
    return -F.max_pool2d(-x, size, stride=1, padding=size // 2)


def guided_filter(guide: torch.Tensor, p: torch.Tensor, r: int, eps: float) -> torch.Tensor:
    """He, Sun and Tang's guided filter (ECCV 2010) with a one-channel guide: `p` smoothed while
    following the guide's edges; `eps` sets how strong an edge must be to be kept."""
    mean_i, mean_p = box(guide, r), box(p, r)
    cov_ip = box(guide * p, r) - mean_i * mean_p
    var_i = box(guide * guide, r) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box(a, r) * guide + box(b, r)
