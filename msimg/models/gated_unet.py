"""GatedUNet: a multi-scale encoder-decoder of gated blocks with skip paths and a global residual.

Input (N, C_in, H, W) with H, W multiples of 2**len(enc_blocks); extra input channels (e.g. a noise-level
map) are conditioning, and the residual is added to the first `out_channels` input channels. With
`scale` > 1 the whole network runs at the (low) input resolution and only its last convolution up-samples,
by sub-pixel convolution (ESPCN's pixel shuffle); the residual is then the bilinear up-sampled input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from msimg.models.blocks import GatedBlock
from msimg.models.descriptor import CPU_TILE, EAGER_FIRST, UNET_REACH, Traits


@dataclass(frozen=True)
class GatedUNetConfig:
    in_channels: int = 4
    out_channels: int = 3
    width: int = 16
    enc_blocks: tuple[int, ...] = (1, 1, 2)
    mid_blocks: int = 2
    dec_blocks: tuple[int, ...] = (1, 1, 1)
    kernel: int = 3
    scale: int = 1
    fusion: str = "add"  # how a decoder level joins the coarser features and the skip: add | attention
    extra: dict[str, Any] = field(default_factory=dict)


class AttentionFusion(nn.Module):
    """Joins features of two scales with per-pixel, per-channel softmax weights computed from both:
    the selective fusion of multi-scale attention networks, kept local (no global pooling) so tiles stay
    exact."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.score = nn.Conv2d(2 * channels, 2 * channels, 1)

    def forward(self, coarse: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        n, c, h, w = skip.shape
        weights = self.score(torch.cat([coarse, skip], dim=1)).view(n, 2, c, h, w).softmax(dim=1)
        return weights[:, 0] * coarse + weights[:, 1] * skip


class GatedUNet(nn.Module):
    def __init__(self, **config: Any) -> None:
        super().__init__()
        cfg = GatedUNetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()})
        if len(cfg.enc_blocks) != len(cfg.dec_blocks):
            raise ValueError("enc_blocks and dec_blocks must have the same length")
        if cfg.fusion not in ("add", "attention"):
            raise ValueError(f"fusion must be add or attention, got '{cfg.fusion}'")
        self.config = cfg
        w = cfg.width
        self.intro = nn.Conv2d(cfg.in_channels, w, 3, padding=1)
        self.encoders = nn.ModuleList()
        self.downs = nn.ModuleList()
        for n in cfg.enc_blocks:
            self.encoders.append(nn.Sequential(*[GatedBlock(w, kernel=cfg.kernel) for _ in range(n)]))
            self.downs.append(nn.Conv2d(w, 2 * w, 2, stride=2))
            w *= 2
        self.middle = nn.Sequential(*[GatedBlock(w, kernel=cfg.kernel) for _ in range(cfg.mid_blocks)])
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        self.fusions = nn.ModuleList()
        for n in cfg.dec_blocks:
            self.ups.append(nn.Sequential(nn.Conv2d(w, 2 * w, 1, bias=False), nn.PixelShuffle(2)))
            w //= 2
            if cfg.fusion == "attention":
                self.fusions.append(AttentionFusion(w))
            self.decoders.append(nn.Sequential(*[GatedBlock(w, kernel=cfg.kernel) for _ in range(n)]))
        self.ending = nn.Conv2d(w, cfg.out_channels * cfg.scale**2, 3, padding=1)
        self.shuffle = nn.PixelShuffle(cfg.scale)

    @staticmethod
    def describe(**config: Any) -> Traits:
        """What follows from the config: channels, size multiple, receptive field."""
        cfg = GatedUNetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()})
        levels = len(cfg.enc_blocks)
        r = cfg.kernel // 2
        radius = 1  # intro conv
        for lvl, n in enumerate(cfg.enc_blocks):
            radius += n * r * 2**lvl + 2**lvl  # blocks, then the 2x2 stride-2 down-sampling
        radius += cfg.mid_blocks * r * 2**levels
        for lvl, n in zip(reversed(range(levels)), cfg.dec_blocks, strict=True):
            radius += n * r * 2**lvl
        radius += 1 + (cfg.scale > 1)  # ending conv, bilinear residual
        return Traits(
            in_channels=cfg.in_channels,
            out_channels=cfg.out_channels,
            scale=cfg.scale,
            multiple_of=2**levels,
            receptive_radius=radius,
            context=min(radius, UNET_REACH),
            # Peak activation bytes per input pixel in fp32 (measured ~1.5x the widest level's tensors),
            # plus the up-scaled output and residual.
            memory_per_pixel=4 * (cfg.width * 2 * 12 + 3 * cfg.out_channels * cfg.scale**2),
            backends=EAGER_FIRST,  # in bf16 too, since the fused norm (BENCHMARKS.md, "Which backend")
            # 1024-pixel cores read 1.2x the image instead of 1.48x (48 of context each side); with the
            # fused norm the saved context outweighs cache reuse, most where deblur runs six passes. From
            # x3 up the output side of such windows outgrows that gain (BENCHMARKS.md, blind deblur at 24 MP).
            cpu_tile=1024 if cfg.scale <= 2 else CPU_TILE,
        )

    def decode(self, x: torch.Tensor) -> torch.Tensor:
        """The ending's output at the input resolution, before pixel shuffle and the residual."""
        h = self.intro(x)
        skips = []
        for enc, down in zip(self.encoders, self.downs, strict=True):
            h = enc(h)
            skips.append(h)
            h = down(h)
        h = self.middle(h)
        for i, (up, dec, skip) in enumerate(zip(self.ups, self.decoders, reversed(skips), strict=True)):
            h = dec(self.fusions[i](up(h), skip) if self.fusions else up(h) + skip)
        return self.ending(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = x[:, : self.config.out_channels]
        if self.config.scale > 1:
            base = F.interpolate(base, scale_factor=self.config.scale, mode="bilinear", align_corners=False)
        return self.shuffle(self.decode(x)) + base

    def config_dict(self) -> dict[str, Any]:
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self.config).items() if k != "extra"
        }
