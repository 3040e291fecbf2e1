"""What a file's header says its decoded image will be, without decoding it: so a batch can refuse an output
format that cannot hold a result before any model loads, and a progress bar can count megapixels from the
first band.

Only certain answers: a file the header cannot describe gives None, and the reader names its fault later.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from msimg.io.read import quiet_tifffile, sniff_format

_HEAD = 64 * 1024  # PNG ancillary chunks before IDAT, JPEG/WebP/BMP headers: all well inside this
_PIL_MODES = {"1": 1, "L": 1, "LA": 2, "PA": 4, "RGB": 3, "YCbCr": 3, "CMYK": 3, "RGBA": 4, "RGBX": 3}


@dataclass(frozen=True)
class Header:
    width: int
    height: int
    channels: int  # as the reader decodes it: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA
    dtype: np.dtype

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6


def _png_has_trns(head: bytes) -> bool | None:
    """Whether a tRNS chunk comes before the image data (chunk by chunk: the bytes may occur inside
    another chunk); None when the chunks before IDAT run past `head`."""
    pos = 8
    while pos + 8 <= len(head):
        (length,) = struct.unpack(">I", head[pos : pos + 4])
        kind = head[pos + 4 : pos + 8]
        if kind == b"tRNS":
            return True
        if kind in (b"IDAT", b"IEND"):
            return False
        pos += 12 + length
    return None


def _png(head: bytes) -> Header | None:
    if len(head) < 33 or head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    depth, colour_type = head[24], head[25]
    trns = _png_has_trns(head)
    if trns is None:
        return None
    # a tRNS chunk gives alpha to gray (a key), RGB (OpenCV decodes it as RGBA) and palette images
    channels = {0: 1 + trns, 2: 3 + trns, 3: 3 + trns, 4: 2, 6: 4}.get(colour_type)
    if channels is None:
        return None
    return Header(width, height, channels, np.dtype(np.uint16 if depth == 16 else np.uint8))


def _webp(head: bytes) -> Header | None:
    """From the RIFF chunk header: opening the file with Pillow would run libwebp on all of it here, in
    the main process, which a hostile file must not reach (`io.guard`)."""
    kind, data = head[12:16], head[20:30]
    if len(data) < 10:
        return None
    if kind == b"VP8X":  # extended: flags, then the canvas size minus one, 24 bits each
        width = 1 + int.from_bytes(data[4:7], "little")
        height = 1 + int.from_bytes(data[7:10], "little")
        return Header(width, height, 4 if data[0] & 0x10 else 3, np.dtype(np.uint8))
    if kind == b"VP8L" and data[0] == 0x2F:  # lossless: 14-bit sizes minus one, then the alpha hint
        bits = int.from_bytes(data[1:5], "little")
        width, height = 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
        return Header(width, height, 4 if (bits >> 28) & 1 else 3, np.dtype(np.uint8))
    if kind == b"VP8 " and data[3:6] == b"\x9d\x01\x2a":  # lossy key frame: 14-bit sizes, no alpha
        width = int.from_bytes(data[6:8], "little") & 0x3FFF
        height = int.from_bytes(data[8:10], "little") & 0x3FFF
        return Header(width, height, 3, np.dtype(np.uint8))
    return None


def _tiff(path: Path) -> Header | None:
    import tifffile

    with quiet_tifffile(), tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        channels = 3 if page.photometric == tifffile.PHOTOMETRIC.PALETTE else int(page.samplesperpixel)
        dtype = np.dtype(page.dtype)
        if dtype.kind == "f":
            dtype = np.dtype(np.float32)
        elif dtype == np.dtype(bool):
            dtype = np.dtype(np.uint8)
        return Header(int(page.imagewidth), int(page.imagelength), channels, dtype)


def _pil(path: Path) -> Header | None:
    """JPEG and BMP: Pillow's parsers of their headers are Python, and decode nothing yet."""
    with PILImage.open(path) as im:
        mode = im.mode
        if mode == "P":
            channels = 4 if "transparency" in im.info else 3
        elif mode.startswith("I;16"):
            return Header(im.width, im.height, 1, np.dtype(np.uint16))
        elif mode in ("I", "F"):
            return Header(im.width, im.height, 1, np.dtype(np.float32))
        elif mode in _PIL_MODES:
            channels = _PIL_MODES[mode]
        else:
            return None
        return Header(im.width, im.height, channels, np.dtype(np.uint8))


def probe(path: Path) -> Header | None:
    """The decoded image's size, channels and sample type as the header tells them, or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD)
        fmt = sniff_format(head)
        if fmt == "png":
            return _png(head)
        if fmt == "tiff":
            return _tiff(path)
        if fmt == "webp":
            return _webp(head)
        return _pil(path) if fmt is not None else None
    except Exception:  # a damaged header: the reader will say what is wrong with the file
        return None
