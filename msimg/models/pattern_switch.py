"""Two shipped demosaic networks behind one name, each run on the layouts it was trained for.

One network that learns every layout (Quad-Bayer, event holes, random hole layouts, Bayer) shares its
capacity between them; the same network trained on to Bayer alone gains on Bayer what it loses elsewhere.
So Bayer mosaics, whose colour filter repeats every 2 pixels, go to the Bayer network unless holes are
dense (a `--mask` layout: that network saw scattered defects only), and everything else to the general
one. The choice is read from the site channels of each window; every window of an image has the same
layout, so all take the same network and tiles agree. The general network runs each Quad-Bayer window in
the turn of the frame where its holes sit most as HybridEVS's do (`orientation`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from math import lcm
from typing import Any

import torch
from torch import nn

from msimg.models.descriptor import Traits
from msimg.models.orientation import describe_turns, run_oriented, turns_for

# the share of holes up to which a Bayer window still goes to the Bayer network: its training frames held
# up to 0.2 % marked defects and 0.2 % stuck pixels; a hole layout holds several percent
BAYER_HOLES = 0.02


@dataclass(frozen=True)
class PatternSwitchConfig:
    bayer: str  # the shipped model for Bayer layouts
    general: str  # the shipped model for every other layout


def _parts_traits(config: PatternSwitchConfig) -> list[Traits]:
    from msimg.models.registry import architecture
    from msimg.models.weights import shipped_spec

    specs = [shipped_spec(getattr(config, f.name)) for f in fields(config)]
    return [architecture(s.architecture).describe(**s.config) for s in specs]


def is_bayer(x: torch.Tensor) -> bool:
    """A demosaic input (N, 6, H, W: mosaic, R, G, B, valid, space) whose colour sites repeat every 2
    pixels and whose holes are sparse."""
    colour = x[:1, 1:4, :8, :8]
    two = torch.equal(colour[..., 2:, :], colour[..., :-2, :]) and torch.equal(
        colour[..., 2:], colour[..., :-2]
    )
    return two and float((x[:, 4] == 0).float().mean()) <= BAYER_HOLES


class PatternSwitch(nn.Module):
    def __init__(self, bayer: str, general: str) -> None:
        super().__init__()
        from msimg.models.weights import build_module, shipped_spec

        self.config = PatternSwitchConfig(bayer, general)
        self.bayer = build_module(shipped_spec(bayer))
        self.general = build_module(shipped_spec(general))
        self.multiple = PatternSwitch.describe(bayer=bayer, general=general).multiple_of

    @staticmethod
    def parts(**config: Any) -> tuple[str, ...]:
        """The shipped models it runs, each loaded from its own file checked against its manifest sha256
        (`models.weights.build_module`); `--model` may name one of them instead (`models.load`)."""
        c = PatternSwitchConfig(**config)
        return (c.bayer, c.general)

    @staticmethod
    def describe(**config: Any) -> Traits:
        """What both parts need: the larger context and memory, a window size both take, the backends
        both run on."""
        a, b = _parts_traits(PatternSwitchConfig(**config))
        if (a.in_channels, a.out_channels, a.scale) != (b.in_channels, b.out_channels, b.scale):
            raise ValueError("the two parts take or give different channels or scales")
        return Traits(
            in_channels=a.in_channels,
            out_channels=a.out_channels,
            multiple_of=lcm(a.multiple_of, b.multiple_of),
            receptive_radius=max(a.receptive_radius, b.receptive_radius),
            context=max(a.context, b.context),
            memory_per_pixel=max(a.memory_per_pixel, b.memory_per_pixel),
            scale=a.scale,
            dtypes=tuple(d for d in a.dtypes if d in b.dtypes),
            period=lcm(a.period, b.period),
            backends=tuple(k for k in a.backends if k in b.backends) or ("torch",),
            bf16_backends=tuple(k for k in a.preferred("bf16") if k in b.preferred("bf16")) or ("torch",),
            cpu_tile=min(a.cpu_tile, b.cpu_tile),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bayer(x) if is_bayer(x) else run_oriented(self.general, x, self.multiple)

    def route(self, x: torch.Tensor) -> str:
        """Which network runs on a window like `x`, and how, in words (`LoadedModel.route`)."""
        if is_bayer(x):
            return self.config.bayer
        return f"{self.config.general}, {describe_turns(turns_for(x))}"

    def config_dict(self) -> dict[str, Any]:
        return {"bayer": self.config.bayer, "general": self.config.general}
