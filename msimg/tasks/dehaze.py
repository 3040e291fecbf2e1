"""Dehaze: a trained network (default) or the dark channel prior.

Both need the air light A, the colour of the haze at infinite distance: one value for the whole photo.
Each model finds it with its own global stage on a down-scaled copy of the image (`engine.survey`; both
use the dark channel prior's rule, the network because it was trained with it), and every tile gets it
as three constant input channels, so tiles stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from msimg.errors import UsageError
from msimg.tasks.base import Plan, Task

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


def plan(colour: np.ndarray, options: DehazeOptions) -> Plan:
    return Plan(strength=options.strength)


TASK = Task(
    name="dehaze",
    summary="Clear haze and fog from landscapes, city views, drone and surveillance frames.",
    default_model=METHODS["net"],
    options_type=DehazeOptions,
    plan=plan,
    model_for=lambda options: METHODS[options.method],
)
