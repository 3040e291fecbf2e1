"""AirLightNet: the dark channel prior's air light, corrected by a small network; the dehaze network's
global stage.

The rule takes A from the brightest of the most haze-opaque pixels. That pixel is often a white wall or
a cloud rather than the haze, and in light haze no pixel is opaque at all: on the held-out photos the rule
is off by 0.10 per channel at light haze and 0.05 in dense haze, and told the true A the shipped network
gains 1.0 / 1.5 dB. This stage starts from the rule's answer and learns a bounded correction from a
down-scaled copy of the whole image, its dark channel and the rule's A. It is trained through the frozen
dehaze network on that network's output (recipe `dehaze-gunet`), so it learns the A that makes the
network's result right, not the A the haze was made with: the network was trained with the rule's
estimate and allows for its typical errors.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from msimg.models.dcp import atmospheric_light, dark_channel


@dataclass(frozen=True)
class AirLightConfig:
    width: int = 32
    size: int = 192  # the stage works on a copy whose long side is at most this, whatever the caller's size
    patch: int = 7  # dark channel window at that size
    reach: float = 0.3  # the largest correction of each channel


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.GELU())


class AirLightNet(nn.Module):
    """(N, 3, H, W) hazy RGB of any size -> (N, 3) air light in (0, 1]."""

    def __init__(self, **config: Any) -> None:
        super().__init__()
        self.config = AirLightConfig(**config)
        c = self.config.width
        self.features = nn.Sequential(
            _conv(7, c, 2), _conv(c, 2 * c, 2), _conv(2 * c, 2 * c), _conv(2 * c, 2 * c, 2)
        )
        self.correction = nn.Linear(4 * c, 3)
        nn.init.zeros_(self.correction.weight)  # starts as the rule
        nn.init.zeros_(self.correction.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        factor = self.config.size / max(x.shape[-2:])
        if factor < 1:
            x = F.interpolate(x, scale_factor=factor, mode="bilinear", antialias=True, align_corners=False)
        n, _, h, w = x.shape
        rule = atmospheric_light(x, self.config.patch).to(x.dtype)
        hints = [x, dark_channel(x, self.config.patch), rule.view(n, 3, 1, 1).expand(n, 3, h, w)]
        f = self.features(torch.cat(hints, dim=1))
        pooled = torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)
        delta = self.config.reach * torch.tanh(self.correction(pooled))
        return (rule + delta).clamp(1e-3, 1)

    def config_dict(self) -> dict[str, Any]:
        return asdict(self.config)
