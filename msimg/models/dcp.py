"""The dark channel prior (He, Sun and Tang, CVPR 2009 / TPAMI 2011) as a weightless "model", so it
runs through the same tiled engine as the networks, on the GPU too.

In most haze-free patches some pixel is dark in some channel; haze lifts that minimum toward the
atmospheric light A. So 1 - omega * dark(I / A) estimates the transmission t, which a guided filter
(radius `radius`, guide = the hazy image's gray) sharpens to the edges, and J = (I - A) / max(t, t0) + A.
A is global (the brightest of the most haze-opaque pixels): `survey` finds it on a down-scaled copy of the
whole image (`engine.survey`), and every tile gets it as three constant input channels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from msimg.models.descriptor import Traits
from msimg.ops.filters import guided_filter, min_filter


@dataclass(frozen=True)
class DarkChannelConfig:
    patch: int = 15  # the paper's 15x15 minimum filter
    omega: float = 0.95  # keep a little haze, for depth perception (the paper's value)
    t0: float = 0.1  # lower bound on the transmission
    radius: int = 60  # guided filter radius, and eps: the values of the guided-filter paper for haze
    eps: float = 1e-4


def dark_channel(x: torch.Tensor, patch: int) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 1, H, W): the minimum over the channels and a patch x patch window."""
    return min_filter(x.amin(dim=1, keepdim=True), patch)


def atmospheric_light(x: torch.Tensor, patch: int, fraction: float = 0.001) -> torch.Tensor:
    """A (N, 3) of (N, 3, H, W) hazy images: among the `fraction` of pixels with the brightest dark
    channel (the most haze-opaque), the colour of the one with the highest intensity."""
    x = x.float()
    dark = dark_channel(x, patch).flatten(1)
    count = max(1, int(dark.shape[1] * fraction))
    candidates = torch.topk(dark, count).indices  # (N, count)
    pixels = torch.gather(x.flatten(2), 2, candidates[:, None].expand(-1, 3, -1))  # (N, 3, count)
    brightest = pixels.sum(dim=1).argmax(dim=1)
    return pixels[torch.arange(len(x)), :, brightest].clamp(min=1e-3)


class DarkChannelPrior(nn.Module):
    """Input (N, 6, H, W): the hazy image and A as three constant channels. Output: the dehazed image."""

    def __init__(self, **config: Any) -> None:
        super().__init__()
        self.config = DarkChannelConfig(**config)

    @staticmethod
    def describe(**config: Any) -> Traits:
        cfg = DarkChannelConfig(**config)
        radius = cfg.patch // 2 + 2 * cfg.radius  # minimum filter, then the guided filter's two boxes
        return Traits(
            in_channels=6,
            out_channels=3,
            multiple_of=1,
            receptive_radius=radius,
            context=radius,  # exact: every tile needs all of it
            memory_per_pixel=4 * 40,
            dtypes=("fp32",),  # running sums over long rows need fp32
        )

    def survey(self, x: torch.Tensor) -> torch.Tensor:
        """(1, 3, h, w) down-scaled whole image -> its air light A (1, 3)."""
        return atmospheric_light(x, self.config.patch).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        hazy, light = x[:, :3], x[:, 3:6].clamp(min=1e-3)
        t = 1 - cfg.omega * dark_channel(hazy / light, cfg.patch)
        t = guided_filter(hazy.mean(dim=1, keepdim=True), t, cfg.radius, cfg.eps)
        return (hazy - light) / t.clamp(min=cfg.t0) + light

    def config_dict(self) -> dict[str, Any]:
        return asdict(self.config)
