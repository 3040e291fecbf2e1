"""Dejpeg's reader, apart from the task so that the decoding worker (`msimg.io.guard`), which imports
it, starts without torch."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from msimg.io.image import Image
from msimg.io.read import read_image
from msimg.tasks.dejpeg.options import DejpegOptions
from msimg.tasks.dejpeg.quality import file_quality


def read(path: Path, options: DejpegOptions, max_pixels: int) -> Image:
    """The image as any task reads it, plus the quality its quantisation tables say (JPEG files)."""
    image = read_image(path, max_pixels)
    if image.meta.format != "jpeg":
        return image
    quality = file_quality(path)
    extra = {**image.meta.extra, "jpeg_quality": quality} if quality is not None else image.meta.extra
    return Image(image.pixels, dataclasses.replace(image.meta, extra=extra))
