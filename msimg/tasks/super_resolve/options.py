"""`msimg super-resolve`'s options and help."""

from __future__ import annotations

from dataclasses import dataclass

from msimg.errors import UsageError
from msimg.tasks.fields import option

MODEL_SCALES = (2, 3, 4)
# `--degradation real`'s networks, by scale: the last of training.py's real recipes (the common kinds of
# the mild web mix, luma-weighted loss), which scored highest on the held-out web images
REAL_MODELS = {2: "sr-real-x2-common", 4: "sr-real-x4-common"}
DEGRADATIONS = {"real": tuple(REAL_MODELS), "bicubic": MODEL_SCALES}  # what the inputs went through -> scales

SUMMARY = "Enlarge photos x2, x3, x4 (or any factor) with detail a resize cannot make."
HELP = """Enlarge photos x2, x3 or x4 (or any factor) with detail a plain resize cannot make.

Alpha is enlarged alongside; 16-bit and gray images keep their type.

By default the models expect photos as cameras and the web make them: slightly blurred, noisy, JPEG
compressed; they remove that instead of sharpening it. --degradation bicubic runs the models for clean
images reduced by a bicubic resize (SR benchmarks, renders, your own downscales): sharper there, but they
sharpen noise and JPEG blocks along with the edges.

Examples:

  msimg super-resolve photos/ -o large/ --scale 2

  msimg super-resolve scan.png --outscale 3.5 --format tif

  msimg super-resolve thumbs/*.jpg --scale 4 --tta -o print/

  msimg super-resolve benchmark-lr/ --degradation bicubic -o sr/
"""


@dataclass(frozen=True)
class SuperResolveOptions:
    """`scale` picks the model (2, 3 or 4; a degradation without a model at that scale runs the next larger
    one); `outscale` the final factor (default: `scale`), reached by resizing the model's output; `tta`
    averages the 8 flips and rotations (8x the time); `degradation` what the inputs went through, which
    picks the models' training."""

    scale: int | None = option(
        None,
        "Scale: 2, 3 or 4. Default: 4, or the one --outscale needs. With --degradation real, x3 runs "
        "the x4 model and shrinks its output.",
    )
    outscale: float | None = option(
        None, "Final scale factor, any value; the model's output is resized to it."
    )
    tta: bool = option(False, "Average 8 flips and rotations: a little sharper, 8x slower.", flag="--tta")
    degradation: str = option(
        "real",
        "What the inputs went through. real: photos from cameras and the web (blur, noise, JPEG), which "
        "the model removes. bicubic: clean images reduced by a bicubic resize (SR benchmarks).",
    )

    def __post_init__(self) -> None:
        if self.scale is not None and self.scale not in MODEL_SCALES:
            raise UsageError(f"--scale must be 2, 3 or 4, got {self.scale}")
        if self.outscale is not None and not 0 < self.outscale <= 16:
            raise UsageError(f"--outscale must be within (0, 16], got {self.outscale:g}")
        if self.degradation not in DEGRADATIONS:
            known = " or ".join(DEGRADATIONS)
            raise UsageError(f"--degradation must be {known}, got '{self.degradation}'")

    @property
    def model_scale(self) -> int:
        """The smallest model of this degradation reaching the given scale, else `outscale` (shrinking
        beats enlarging); 4 when neither is given."""
        want = self.scale if self.scale is not None else self.outscale if self.outscale is not None else 4
        scales = DEGRADATIONS[self.degradation]
        return next((s for s in scales if s >= want), scales[-1])

    @property
    def final_scale(self) -> float:
        if self.outscale is not None:
            return self.outscale
        return float(self.scale if self.scale is not None else self.model_scale)
