"""Dehaze: a trained network (default) or the dark channel prior, both told the atmospheric light.

The air light A is a property of the whole scene (the colour of the haze at infinite distance), so
`plan` finds it once per image on a down-scaled copy (the engine's `preview`), by the dark channel
prior's rule, and every tile gets it as three constant input channels. Tiles then stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from msimg.errors import UsageError
from msimg.models.dcp import DarkChannelConfig, atmospheric_light
from msimg.tasks.base import Plan, Task, preview

METHODS = {"net": "dehaze-gunet", "dcp": "dehaze-dcp"}


@dataclass(frozen=True)
class DehazeOptions:
    """`method` net (trained network) or dcp (dark channel prior); `strength` blends with the input."""

    method: str = "net"
    strength: float = 1.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UsageError(f"--method must be net or dcp, got '{self.method}'")
        if not 0 <= self.strength <= 1:
            raise UsageError(f"--strength must be within 0-1, got {self.strength:g}")


def air_light(rgb: np.ndarray) -> torch.Tensor:
    """A (3,) of an (H, W, 1|3) float image (or its preview): the dark channel prior's estimate."""
    rgb = np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else rgb
    return torch.from_numpy(atmospheric_light(rgb, DarkChannelConfig.patch))


def model_input(hazy: torch.Tensor, light: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) hazy RGB and A, (3,) or (N, 3) -> (N, 6, H, W) (shared with training)."""
    n, _, h, w = hazy.shape
    return torch.cat([hazy, light.view(-1, 3, 1, 1).to(hazy.dtype).expand(n, 3, h, w)], dim=1)


def plan(colour: np.ndarray, options: DehazeOptions) -> Plan:
    light = air_light(preview(colour)[0])
    return Plan(model_input=lambda rgb, _: model_input(rgb, light), strength=options.strength)


TASK = Task(
    name="dehaze",
    summary="Clear haze and fog from landscapes, city views, drone and surveillance frames.",
    default_model=METHODS["net"],
    options_type=DehazeOptions,
    plan=plan,
    model_for=lambda options: METHODS[options.method],
)
