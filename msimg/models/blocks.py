"""Building blocks shared by msimg's architectures. All are local (no global pooling), so tiles agree."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LayerNorm2d(nn.Module):
    """LayerNorm over channels at each pixel of (N, C, H, W).

    The engine keeps feature maps channels-last, where each pixel's channels are contiguous: seen as
    (N, H, W, C) the norm is torch's own fused layer norm, one pass over memory instead of the six of
    mean, centring, variance, scaling, weight and bias.
    """

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # statistics in fp32: fp16 squares overflow on bright, wide feature maps
        h = x.float().permute(0, 2, 3, 1)
        h = F.layer_norm(h, self.weight.shape, self.weight.float(), self.bias.float(), self.eps)
        return h.permute(0, 3, 1, 2).to(x.dtype)


def simple_gate(x: torch.Tensor) -> torch.Tensor:
    """Split channels in two halves and multiply them: a cheap non-linearity (NAFNet, Chen et al. 2022)."""
    a, b = x.chunk(2, dim=1)
    return a * b


class GatedBlock(nn.Module):
    """Gated depthwise-conv block then gated feed-forward, both residual with learned (zero-init) scales.

    In the spirit of NAFNet's block, without its global channel attention, which would make a tile's
    output depend on the tile size.
    """

    def __init__(self, channels: int, expand: int = 2, kernel: int = 3) -> None:
        super().__init__()
        hidden = channels * expand
        self.norm1 = LayerNorm2d(channels)
        self.pw1 = nn.Conv2d(channels, hidden, 1)
        self.dw = nn.Conv2d(hidden, hidden, kernel, padding=kernel // 2, groups=hidden)
        self.pw2 = nn.Conv2d(hidden // 2, channels, 1)
        self.norm2 = LayerNorm2d(channels)
        self.ff1 = nn.Conv2d(channels, hidden, 1)
        self.ff2 = nn.Conv2d(hidden // 2, channels, 1)
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pw2(simple_gate(self.dw(self.pw1(self.norm1(x)))))
        x = torch.addcmul(x, y, self.beta)
        y = self.ff2(simple_gate(self.ff1(self.norm2(x))))
        return torch.addcmul(x, y, self.gamma)
