"""Demosaic's reader, apart from the task so that the decoding worker (`msimg.io.guard`), which imports
it, starts without torch."""

from __future__ import annotations

from pathlib import Path

from msimg.io.image import Image, ImageMeta
from msimg.io.raw import develop_with_libraw, read_raw
from msimg.tasks.demosaic.options import DemosaicOptions


def read(path: Path, options: DemosaicOptions, max_pixels: int) -> Image:
    """A RAW file -> its mosaic as a one-channel image; the file's facts ride along in `meta.extra`.
    With `--method libraw`, LibRaw develops the file here and the result is linear sRGB."""
    if options.method == "libraw":
        return Image(develop_with_libraw(path, options.wb, max_pixels), ImageMeta("raw"))
    frame = read_raw(path, options.layout(), max_pixels)
    return Image(frame.mosaic[..., None], ImageMeta("raw", extra={"raw": frame}))
