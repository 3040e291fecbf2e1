"""The in-memory image that flows between reader, task and writer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the CLI reads this module's limit at startup, before numpy
    import numpy as np

# the largest image msimg decodes unless told otherwise (--max-megapixels): checked from the header
DEFAULT_MAX_PIXELS = 400_000_000
# seconds a file may take to decode (--decode-timeout), in a worker process (`msimg.io.guard`): a hang
# guard, not a speed limit: a 24 MP 16-bit PNG takes 4 s on a busy 2-core machine, so a file at the
# --max-megapixels default (400 MP) about 70 s
DEFAULT_DECODE_TIMEOUT = 120.0


@dataclass(frozen=True)
class ImageMeta:
    """What must survive a round trip besides the pixels.

    `exif` is the raw EXIF block (TIFF header onwards, no ``Exif\\0\\0`` prefix) with the orientation tag
    already reset to 1, because the reader applies the orientation to the pixels.
    """

    format: str  # "png" | "jpeg" | "tiff" | "webp" | "bmp"
    exif: bytes | None = None
    icc: bytes | None = None
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Image:
    """Pixels as decoded: (H, W, C) with C in {1, 2, 3, 4} (gray, gray+alpha, RGB, RGBA), RGB order.

    dtype is uint8, uint16 or float32 and decides the output bit depth.
    """

    pixels: np.ndarray
    meta: ImageMeta

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def has_alpha(self) -> bool:
        return self.pixels.shape[2] in (2, 4)
