"""`msimg super-resolve`'s options and help."""

from __future__ import annotations

from dataclasses import dataclass

from msimg.errors import UsageError
from msimg.tasks.fields import option

MODEL_SCALES = (2, 3, 4)

SUMMARY = "Enlarge photos x2, x3, x4 (or any factor) with detail a resize cannot make."
HELP = """Enlarge photos x2, x3 or x4 (or any factor) with detail a plain resize cannot make.

Alpha is enlarged alongside; 16-bit and gray images keep their type.

Examples:

  msimg super-resolve photos/ -o large/ --scale 2

  msimg super-resolve scan.png --outscale 3.5 --format tif

  msimg super-resolve thumbs/*.jpg --scale 4 --tta -o print/
"""


@dataclass(frozen=True)
class SuperResolveOptions:
    """`scale` picks the model (2, 3 or 4); `outscale` the final factor (default: `scale`), reached by
    resizing the model's output; `tta` averages the 8 flips and rotations (8x the time)."""

    scale: int | None = option(None, "Model scale: 2, 3 or 4. Default: 4, or the one --outscale needs.")
    outscale: float | None = option(
        None, "Final scale factor, any value; the model's output is resized to it."
    )
    tta: bool = option(False, "Average 8 flips and rotations: a little sharper, 8x slower.", flag="--tta")

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
