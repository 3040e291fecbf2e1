"""BoundaryNet: a multi-scale boundary detector with side outputs and deep supervision.

In the spirit of HED (Xie and Tu, ICCV 2015) and RCF (Liu et al., CVPR 2017): an encoder of stages at
halving resolutions, each stage reading out a boundary score ("side output") that is up-sampled to full
resolution, and a learned 1x1 fusion of all of them. Fine stages see thin, local edges; coarse stages see
object contours and suppress texture. During training every side output and the fusion are supervised
(deep supervision), so the forward pass returns all their logits; in eval mode it returns the fused
boundary probability. Not pretrained: trained here on the BSDS500 human boundaries. Gated blocks (no
global pooling) keep tiles exact.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from msimg.models.blocks import GatedBlock
from msimg.models.descriptor import EAGER_FIRST, Traits


@dataclass(frozen=True)
class BoundaryNetConfig:
    in_channels: int = 3
    width: int = 16
    blocks: tuple[int, ...] = (1, 2, 2, 2)  # gated blocks per stage; stage k runs at 1 / 2**k
    kernel: int = 5


class BoundaryNet(nn.Module):
    def __init__(self, **config: Any) -> None:
        super().__init__()
        cfg = BoundaryNetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()})
        self.config = cfg
        self.intro = nn.Conv2d(cfg.in_channels, cfg.width, 3, padding=1)
        self.downs, self.stages, self.sides = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        w = cfg.width
        for k, n in enumerate(cfg.blocks):
            if k > 0:
                self.downs.append(nn.Conv2d(w, 2 * w, 2, stride=2))
                w *= 2
            self.stages.append(nn.Sequential(*[GatedBlock(w, kernel=cfg.kernel) for _ in range(n)]))
            self.sides.append(nn.Conv2d(w, 1, 1))
        self.fuse = nn.Conv2d(len(cfg.blocks), 1, 1)
        nn.init.constant_(self.fuse.weight, 1 / len(cfg.blocks))  # start as the mean of the sides
        nn.init.zeros_(self.fuse.bias)

    @staticmethod
    def describe(**config: Any) -> Traits:
        cfg = BoundaryNetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()})
        r = cfg.kernel // 2
        radius = 1 + sum(n * r * 2**k + (2**k if k else 0) for k, n in enumerate(cfg.blocks))
        radius += 2 ** (len(cfg.blocks) - 1)  # bilinear up-sampling of the coarsest side output
        return Traits(
            in_channels=cfg.in_channels,
            out_channels=1,
            multiple_of=2 ** (len(cfg.blocks) - 1),
            receptive_radius=radius,
            context=min(radius, 64),  # measured like the U-Nets' (`descriptor.UNET_REACH`)
            memory_per_pixel=4 * cfg.width * 2 * 10,
            backends=EAGER_FIRST,  # in bf16 too, since the fused norm (BENCHMARKS.md, "Which backend")
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> training: (N, stages + 1, H, W) logits (the sides, then the fusion);
        eval: (N, 1, H, W) boundary probability."""
        h, w = x.shape[-2:]
        f = self.intro(x)
        sides = []
        for k, stage in enumerate(self.stages):
            if k > 0:
                f = self.downs[k - 1](f)
            f = stage(f)
            side = self.sides[k](f)
            if k > 0:
                side = F.interpolate(side, size=(h, w), mode="bilinear", align_corners=False)
            sides.append(side)
        stacked = torch.cat(sides, dim=1)
        fused = self.fuse(stacked)
        if self.training:
            return torch.cat([stacked, fused], dim=1)
        return torch.sigmoid(fused)

    def config_dict(self) -> dict[str, Any]:
        return asdict(self.config)
