"""Decode image files into `Image`: format sniffed from the bytes, size checked from the header before any
pixel is decoded, EXIF orientation applied, EXIF/ICC kept, bit depth from the file's own sample type.

PNG goes through OpenCV (16-bit and alpha intact), TIFF through tifffile, JPEG/WebP/BMP through Pillow
(which, unlike OpenCV, refuses truncated JPEG data instead of returning a half-grey image).
"""

from __future__ import annotations

import contextlib
import io
import logging
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PIL import Image as PILImage

from msimg.errors import ImageReadError
from msimg.io.image import DEFAULT_MAX_PIXELS, Image, ImageMeta

if TYPE_CHECKING:
    import tifffile

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "SUPPORTED_SUFFIXES",
    "check_size",
    "decode_image",
    "quiet_tifffile",
    "read_image",
    "sniff_format",
]

SUPPORTED_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"})
PILImage.MAX_IMAGE_PIXELS = None  # msimg checks its own, configurable ceiling first
_ORIENTATION = 0x0112
_ICC_TAG = 34675


def sniff_format(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"BM"):
        return "bmp"
    return None


def _megapixels(pixels: int) -> str:
    """Whole megapixels for photos, two significant digits below 10 (a small limit must not read 0)."""
    mp = pixels / 1e6
    return f"{mp:.0f}" if mp >= 10 else f"{mp:.2g}"


def check_size(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageReadError(f"invalid image size {width}x{height}")
    if width * height > max_pixels:
        raise ImageReadError(
            f"{width}x{height} is {_megapixels(width * height)} MP, over the "
            f"{_megapixels(max_pixels)} MP limit (--max-megapixels)"
        )


def orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) so the pixels are upright."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(orientation)
    return pixels if op is None else np.ascontiguousarray(op(pixels))


def _exif_of(im: PILImage.Image) -> tuple[bytes | None, int]:
    """(EXIF with orientation reset to 1, without the 'Exif\\0\\0' prefix; the original orientation)."""
    try:
        exif = im.getexif()
        if not len(exif):
            return None, 1
        orientation = int(exif.get(_ORIENTATION, 1) or 1)
        if _ORIENTATION in exif:
            exif[_ORIENTATION] = 1
        raw = exif.tobytes()
    except Exception:  # a damaged EXIF block must not cost the pixels
        return None, 1
    return (raw[6:] if raw.startswith(b"Exif\x00\x00") else raw), orientation


def _png_chunks(data: bytes) -> dict[bytes, bytes]:
    """Walk the chunk list up to IEND, checking every CRC, so that truncated or damaged files fail here
    (libpng accepts some truncations). Returns the intact ancillary chunks (the last of each kind)."""
    chunks: dict[bytes, bytes] = {}
    view = memoryview(data)  # slices of a memoryview do not copy the (possibly huge) IDAT data
    pos = 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", view[pos : pos + 4])
        end = pos + 12 + length
        if end > len(data):
            break
        body = view[pos + 4 : end - 4]
        kind = bytes(body[:4])
        crc_ok = zlib.crc32(body) == struct.unpack(">I", view[end - 4 : end])[0]
        critical = kind[:1].isupper()
        if not crc_ok and critical:
            raise ImageReadError(f"corrupt PNG data (bad CRC in {kind.decode('latin-1')!r} chunk)")
        if kind == b"IEND":
            return chunks
        if crc_ok and not critical:  # like libpng, a damaged ancillary chunk is dropped, not fatal
            chunks[kind] = bytes(body[4:])
        pos = end
    raise ImageReadError("truncated PNG data")


def _gray_key_alpha(px: np.ndarray, depth: int, trns: bytes) -> np.ndarray:
    """Gray PNG with a tRNS key colour: OpenCV drops it, so rebuild the alpha channel from the key."""
    (key,) = struct.unpack(">H", trns[:2])
    if depth < 8:  # OpenCV widened the samples to 8 bits
        key *= 255 // (2**depth - 1)
    top = np.iinfo(px.dtype).max
    alpha = np.where(px == key, 0, top).astype(px.dtype)
    return np.concatenate([px, alpha], axis=2)


def _decode_png(data: bytes, max_pixels: int) -> Image:
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise ImageReadError("corrupt PNG header")
    width, height = struct.unpack(">II", data[16:24])
    check_size(width, height, max_pixels)
    chunks = _png_chunks(data)
    px = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if px is None:
        raise ImageReadError("corrupt PNG data")
    depth, colour_type = data[24], data[25]
    if px.ndim == 2:
        px = px[..., None]
        if colour_type == 0 and len(chunks.get(b"tRNS", b"")) >= 2:
            px = _gray_key_alpha(px, depth, chunks[b"tRNS"])
    elif px.shape[2] == 3:
        px = cv2.cvtColor(px, cv2.COLOR_BGR2RGB)
    elif px.shape[2] == 4:
        px = cv2.cvtColor(px, cv2.COLOR_BGRA2RGBA)
        if colour_type == 4:  # IHDR colour type 4 is gray + alpha, which OpenCV expands to RGBA
            px = np.ascontiguousarray(px[..., [0, 3]])
    exif, icc, orientation = None, None, 1
    try:
        with PILImage.open(io.BytesIO(data)) as im:  # lazy: header and metadata chunks only
            icc = im.info.get("icc_profile")
            exif, orientation = _exif_of(im)
    except Exception:  # metadata is a courtesy; the pixels decoded fine
        pass
    return Image(orient(px, orientation), ImageMeta("png", exif, icc))


def _pil_pixels(im: PILImage.Image) -> np.ndarray:
    mode = im.mode
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode in ("1", "CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        im = im.convert("L" if mode == "1" else "RGB")
    elif mode in ("I;16", "I;16B", "I;16L"):
        return np.asarray(im, dtype=np.uint16)[..., None].copy()
    elif mode in ("I", "F"):
        im = im.convert("F")
        return np.asarray(im, dtype=np.float32)[..., None].copy()
    elif mode == "PA":
        im = im.convert("RGBA")
    arr = np.asarray(im)
    return (arr[..., None] if arr.ndim == 2 else arr).copy()


def _decode_pil(data: bytes, fmt: str, max_pixels: int) -> Image:
    try:
        im = PILImage.open(io.BytesIO(data))
        check_size(im.width, im.height, max_pixels)
        im.load()
    except ImageReadError:
        raise
    except Exception as err:
        raise ImageReadError(f"truncated or corrupt {fmt.upper()} data ({err})") from err
    exif, orientation = _exif_of(im)
    icc = im.info.get("icc_profile")
    return Image(orient(_pil_pixels(im), orientation), ImageMeta(fmt, exif, icc))


@contextlib.contextmanager
def quiet_tifffile() -> Iterator[None]:
    """tifffile logs each damaged tag to stderr; the reader reports one cause per file instead."""
    logger = logging.getLogger("tifffile")
    drop_all = logging.Filter("\0")  # matches no logger name, so every record is dropped
    logger.addFilter(drop_all)
    try:
        yield
    finally:
        logger.removeFilter(drop_all)


def _tiff_photometric(page: tifffile.TiffPage, arr: np.ndarray) -> np.ndarray:
    """Palette -> RGB through the colour map; min-is-white -> min-is-black (integers)."""
    import tifffile

    if page.photometric == tifffile.PHOTOMETRIC.PALETTE and page.colormap is not None:
        cmap = np.asarray(page.colormap)
        if cmap.ndim != 2 or cmap.shape[0] != 3 or arr.ndim != 2:
            raise ImageReadError("unsupported TIFF palette layout")
        rgb = np.moveaxis(cmap, 0, -1)[np.clip(arr, 0, cmap.shape[1] - 1)]
        # TIFF colour maps are always 16-bit; an 8-bit index image keeps 8-bit colours
        return np.rint(rgb / 257).astype(np.uint8) if arr.dtype == np.uint8 else rgb.astype(np.uint16)
    if page.photometric == tifffile.PHOTOMETRIC.MINISWHITE and arr.dtype.kind == "u":
        return np.iinfo(arr.dtype).max - arr
    return arr


def _decode_tiff(data: bytes, max_pixels: int) -> Image:
    import tifffile

    try:
        with quiet_tifffile(), tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = tif.pages.first
            check_size(int(page.imagewidth), int(page.imagelength), max_pixels)
            if page.samplesperpixel > 4 or page.imagedepth > 1:  # refused below anyway: allocate none
                raise ImageReadError(
                    f"unsupported TIFF layout ({page.samplesperpixel} samples, depth {page.imagedepth})"
                )
            ends = [o + n for o, n in zip(page.dataoffsets, page.databytecounts, strict=False)]
            if ends and max(ends) > len(data):
                raise ImageReadError("truncated TIFF data")
            # no warnings filter here: it is process-wide and would turn other threads' warnings into errors;
            # tifffile raises on damaged segments, and strips past the end were refused above
            arr = _tiff_photometric(page, page.asarray())
            icc_tag = page.tags.get(_ICC_TAG)
            icc = bytes(icc_tag.value) if icc_tag is not None else None
            orient_tag = page.tags.get(274)
            orientation = int(orient_tag.value) if orient_tag is not None else 1
            planar = page.planarconfig == 2 and arr.ndim == 3 and page.samplesperpixel > 1
    except ImageReadError:
        raise
    except Exception as err:
        raise ImageReadError(f"truncated or corrupt TIFF data ({type(err).__name__}: {err})") from err
    if planar:
        arr = np.moveaxis(arr, 0, -1)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4):
        raise ImageReadError(f"unsupported TIFF layout {arr.shape}")
    if arr.dtype == np.float64 or arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    if arr.dtype not in (np.uint8, np.uint16, np.float32):
        raise ImageReadError(f"unsupported TIFF sample type {arr.dtype} (use 8/16-bit or float32)")
    return Image(orient(np.ascontiguousarray(arr), orientation), ImageMeta("tiff", None, icc))


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image:
    """Decode one image held in memory. Raises `ImageReadError` with a one-line cause."""
    if not data:
        raise ImageReadError("empty file (0 bytes)")
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageReadError("not a supported image (PNG, JPEG, TIFF, WebP, BMP)")
    if fmt == "png":
        return _decode_png(data, max_pixels)
    if fmt == "tiff":
        return _decode_tiff(data, max_pixels)
    return _decode_pil(data, fmt, max_pixels)


def read_image(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image:
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise ImageReadError("is a folder, not an image") from None
    except OSError as err:
        raise ImageReadError(err.strerror or str(err)) from err
    return decode_image(data, max_pixels)
