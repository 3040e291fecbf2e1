"""Super-resolve: x2/x3/x4 GatedUNets with a pixel-shuffle ending; any final factor via a resize after
(area averaging when shrinking the model's output, Lanczos when enlarging it; done by the session)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from msimg.errors import UsageError
from msimg.tasks.base import Plan, Task

MODEL_SCALES = (2, 3, 4)


@dataclass(frozen=True)
class SuperResolveOptions:
    """`scale` picks the model (2, 3 or 4); `outscale` the final factor (default: `scale`), reached by
    resizing the model's output; `tta` averages the 8 flips and rotations (8x the time)."""

    scale: int | None = None
    outscale: float | None = None
    tta: bool = False

    def __post_init__(self) -> None:
        if self.scale is not None and self.scale not in MODEL_SCALES:
            raise UsageError(f"--scale must be 2, 3 or 4, got {self.scale}")
        if self.outscale is not None and not 0 < self.outscale <= 16:
            raise UsageError(f"--outscale must be within (0, 16], got {self.outscale:g}")

    @property
    def model_scale(self) -> int:
        """The given scale; else the smallest model reaching `outscale` (shrinking beats enlarging)."""
        if self.scale is not None:
            return self.scale
        if self.outscale is None:
            return 4
        return next((s for s in MODEL_SCALES if s >= self.outscale), MODEL_SCALES[-1])

    @property
    def final_scale(self) -> float:
        return self.outscale if self.outscale is not None else float(self.model_scale)


def model_for(options: SuperResolveOptions) -> str:
    return f"sr-x{options.model_scale}"


def plan(colour: np.ndarray, options: SuperResolveOptions) -> Plan:
    h, w = colour.shape[:2]
    size = (max(1, round(w * options.final_scale)), max(1, round(h * options.final_scale)))
    return Plan(size=size, ensemble=options.tta)


TASK = Task(
    name="super-resolve",
    summary="Enlarge photos x2, x3, x4 (or any factor) with detail a resize cannot make.",
    default_model="sr-x4",
    options_type=SuperResolveOptions,
    plan=plan,
    model_for=model_for,
)
