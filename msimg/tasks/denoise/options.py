"""`msimg denoise`'s options and help."""

from __future__ import annotations

from dataclasses import dataclass

from msimg.errors import UsageError
from msimg.tasks.fields import auto_or, option

MAX_SIGMA = 75.0  # the highest level the model was trained on, on the 8-bit scale

SUMMARY = "Remove camera and Gaussian noise, colour or gray, any level."
HELP = """Remove camera and Gaussian noise from photos, colour or gray, at any level.

The noise level is estimated in each image unless --sigma gives it; one network covers every level.
Camera photos (demosaiced, colour-corrected, often JPEG) have noise that is not white: leave --sigma at
auto for them, which runs the model that learnt camera noise; --sigma N means white Gaussian noise of that
level and runs the white-noise model.

Examples:

  msimg denoise photos/ -o clean/

  msimg denoise scan.tif --sigma 15 --strength 0.8

  msimg denoise shots/*.png --json --quiet > report.jsonl
"""


@dataclass(frozen=True)
class DenoiseOptions:
    """`sigma` on the 8-bit scale (0-75), None = estimate per image; `strength` blends with the input."""

    sigma: float | None = option(
        None,
        "White-noise level on the 8-bit scale (0-75), or auto to estimate it (camera photos: auto).",
        parse=auto_or(float, "--sigma", "a number 0-75"),
        shown="auto",
    )
    strength: float = option(1.0, "0 keeps the input, 1 is the full denoise.")

    def __post_init__(self) -> None:
        if self.sigma is not None and not 0 <= self.sigma <= MAX_SIGMA:
            raise UsageError(f"--sigma must be 'auto' or 0-75 on the 8-bit scale, got {self.sigma:g}")
        if not 0 <= self.strength <= 1:
            raise UsageError(f"--strength must be within 0-1, got {self.strength:g}")
