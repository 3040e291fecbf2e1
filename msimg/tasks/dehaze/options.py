"""`msimg dehaze`'s options and help."""

from __future__ import annotations

from dataclasses import dataclass

from msimg.errors import UsageError
from msimg.tasks.fields import option

METHODS = {"net": "dehaze-gunet", "dcp": "dehaze-dcp"}

SUMMARY = "Clear haze and fog from landscapes, city views, drone and surveillance frames."
HELP = """Clear haze and fog from landscapes, city views, drone frames and surveillance stills.

The haze colour (air light) is estimated once per image on a reduced copy; then the image is
restored tile by tile. The network estimates how much haze each pixel sees and removes it by the
scattering model; the dark channel prior is the classical method, for comparison.

Examples:

  msimg dehaze hazy/ -o clear/

  msimg dehaze view.jpg --method dcp

  msimg dehaze frames/ -o out/ --strength 0.7 --json
"""


@dataclass(frozen=True)
class DehazeOptions:
    """`method` net (trained network) or dcp (dark channel prior); `strength` blends with the input."""

    method: str = option("net", "net (the trained network) or dcp (the dark channel prior, no training).")
    strength: float = option(1.0, "0 keeps the input, 1 is the full dehaze.")

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UsageError(f"--method must be net or dcp, got '{self.method}'")
        if not 0 <= self.strength <= 1:
            raise UsageError(f"--strength must be within 0-1, got {self.strength:g}")
