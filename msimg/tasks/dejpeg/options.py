"""`msimg dejpeg`'s options and help."""

from __future__ import annotations

from dataclasses import dataclass, field

from msimg.errors import UsageError
from msimg.tasks.fields import auto_or, option

SUMMARY = "Remove JPEG blocking, ringing and colour bleeding, any quality."
HELP = """Remove JPEG artefacts from photos: blocking, ringing and colour bleeding, any quality.

One network covers quality 5-95. It is told the quality a JPEG file was saved at, read from the file's
quantisation tables; a PNG of a decoded JPEG runs blind, or give --quality. Output is PNG unless
--format says otherwise: saving the result as JPEG again would add new artefacts.

Examples:

  msimg dejpeg photos/ -o clean/

  msimg dejpeg scan.png --quality 20

  msimg dejpeg web/*.jpg -o out/ --json
"""


@dataclass(frozen=True)
class DejpegOptions:
    """`quality` 1-100 overrides what the file says; None = read it from a JPEG's tables, blind for
    other files. `strength` blends with the input. `source` says where the quality came from (per image)."""

    quality: int | None = option(
        None,
        "The JPEG quality (1-100) the input was saved at; auto reads it from a JPEG file's quantisation "
        "tables, and other files (a PNG of a decoded JPEG) run blind. This is the input's quality: the "
        "output is PNG by default.",
        parse=auto_or(int, "--quality", "a quality 1-100"),
        shown="auto",
        replaces="quality",
    )
    strength: float = option(1.0, "0 keeps the input, 1 is the full clean-up.")
    source: str = field(default="option", init=False)

    def __post_init__(self) -> None:
        if self.quality is not None and not 1 <= self.quality <= 100:
            raise UsageError(f"--quality must be 'auto' or 1-100, got {self.quality}")
        if not 0 <= self.strength <= 1:
            raise UsageError(f"--strength must be within 0-1, got {self.strength:g}")
