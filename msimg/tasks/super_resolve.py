"""Super-resolve: x2/x3/x4 GatedUNets with a pixel-shuffle ending; any final factor via a resize after."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from msimg.errors import UsageError
from msimg.tasks.base import Infer, Task, dihedral_ensemble, to_pixels, to_tensor

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


def process(color: np.ndarray, infer: Infer, options: SuperResolveOptions) -> np.ndarray:
    x = to_tensor(color)
    out = to_pixels(dihedral_ensemble(infer, x) if options.tta else infer(x), color.shape[2])
    h, w = color.shape[:2]
    size = (max(1, round(w * options.final_scale)), max(1, round(h * options.final_scale)))
    if size != (out.shape[1], out.shape[0]):
        shrink = size[0] < out.shape[1]
        out = cv2.resize(out, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LANCZOS4)
    return out.reshape(size[1], size[0], color.shape[2])  # OpenCV drops a single channel axis


TASK = Task(
    name="super-resolve",
    summary="Enlarge photos x2, x3, x4 (or any factor) with detail a resize cannot make.",
    default_model="sr-x4",
    options_type=SuperResolveOptions,
    process=process,
    model_for=model_for,
)
