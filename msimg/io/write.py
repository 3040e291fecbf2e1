"""Encode `Image` to files, atomically, with EXIF and ICC where the format holds them.

PNG is encoded here (8/16-bit, 1-4 channels, with iCCP/eXIf chunks): neither OpenCV nor Pillow writes
16-bit RGB PNG with metadata, and both deflate on one core. TIFF keeps ICC but not EXIF (an EXIF IFD
inside TIFF is not written); JPEG and WebP keep both.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PILImage

from msimg.errors import ImageWriteError
from msimg.io.atomic import atomic_write_bytes
from msimg.io.image import Image
from msimg.ops.threads import map_threads

FORMAT_SUFFIX = {
    "png": ".png",
    "jpeg": ".jpg",
    "tiff": ".tif",
    "webp": ".webp",
    "bmp": ".bmp",
    "json": ".json",  # a result described as data (segment's region table), not pixels
}
_ALIASES = {
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "png": "png",
    "tif": "tiff",
    "tiff": "tiff",
    "webp": "webp",
    "bmp": "bmp",
    "json": "json",
}


def format_name(name: str) -> str:
    """'jpg' -> 'jpeg', 'tif' -> 'tiff', ...; unknown names are an error."""
    try:
        return _ALIASES[name.lower().lstrip(".")]
    except KeyError:
        raise ImageWriteError(f"unknown image format '{name}' (png, jpg, tif, webp, bmp, json)") from None


def format_from_suffix(suffix: str) -> str:
    """'.jpeg' -> 'jpeg', '.TIF' -> 'tiff', ...; an unknown suffix is an `ImageWriteError`."""
    return format_name(suffix)


def file_format(path: Path) -> str:
    """The format an output file is written in: its suffix's, PNG for a suffix that names none."""
    try:
        return format_name(path.suffix)
    except ImageWriteError:
        return "png"


def can_hold(fmt: str, dtype: np.dtype, channels: int) -> bool:
    """Whether `fmt` stores this dtype and channel count without loss of depth or alpha.

    WebP says yes to gray (it is widened to RGB on write); float32 fits TIFF only.
    """
    dtype = np.dtype(dtype)
    if fmt == "json":
        return True  # the document, whatever the pixels
    if fmt == "tiff":
        return dtype in (np.uint8, np.uint16, np.float32)
    if fmt == "png":
        return dtype in (np.uint8, np.uint16)
    if fmt == "jpeg":
        return dtype == np.uint8 and channels in (1, 3)
    if fmt == "webp":
        return dtype == np.uint8
    if fmt == "bmp":
        return dtype == np.uint8 and channels in (1, 3, 4)  # gray+alpha would come back as RGBA
    return False


def output_format(input_format: str, requested: str, dtype: np.dtype, channels: int) -> str:
    """The format to write: the requested one, or for "same" the input's unless it cannot hold the result
    (then PNG, or TIFF for float32)."""
    if requested != "same":
        return format_name(requested)
    if can_hold(input_format, dtype, channels):
        return input_format
    return "tiff" if np.dtype(dtype) == np.float32 else "png"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def _png_with_metadata(png: bytes, exif: bytes | None, icc: bytes | None) -> bytes:
    """Insert iCCP and eXIf right after IHDR (both must precede IDAT)."""
    extra = b""
    if icc:
        extra += _chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc))
    if exif:
        extra += _chunk(b"eXIf", exif)
    end_of_ihdr = 8 + 8 + 13 + 4
    return png[:end_of_ihdr] + extra + png[end_of_ihdr:]


_PNG_COLOUR = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type: gray, gray+alpha, RGB, RGBA
_ZLIB_HEADER = b"\x78\x01"  # deflate, 32 KiB window; its level field is informative only
_BAND_BYTES = 1 << 20  # rows deflated per task: enough to amortise a task, small enough to share out
_IDAT_BYTES = 1 << 20


def _paeth(rows: np.ndarray, above: np.ndarray, bpp: int) -> np.ndarray:
    """PNG filter type 4 on (n, bytes) uint8 rows, `above` the (1, bytes) row before them: each byte less
    the one of left, up and upper-left nearest to left + up - upper-left."""
    up = np.concatenate([above, rows[:-1]]).astype(np.int16)
    left = np.zeros_like(up)
    left[:, bpp:] = rows[:, :-bpp]
    corner = np.zeros_like(up)
    corner[:, bpp:] = up[:, :-bpp]
    guess = left + up - corner
    to_left, to_up, to_corner = np.abs(guess - left), np.abs(guess - up), np.abs(guess - corner)
    nearest = np.where(
        (to_left <= to_up) & (to_left <= to_corner), left, np.where(to_up <= to_corner, up, corner)
    )
    return rows - nearest.astype(np.uint8)  # modulo 256, as the format wants


def _average(rows: np.ndarray, above: np.ndarray, bpp: int) -> np.ndarray:
    """PNG filter type 3 on (n, bytes) uint8 rows, `above` the row before them: each byte less the mean
    (rounded down) of left and up."""
    up = np.concatenate([above, rows[:-1]]).astype(np.uint16)
    up[:, bpp:] += rows[:, :-bpp]
    return rows - (up >> 1).astype(np.uint8)  # modulo 256, as the format wants


_FILTERS = {3: _average, 4: _paeth}


def _adler_join(first: int, second: int, length: int) -> int:
    """The Adler-32 of two byte strings joined, from theirs and the second's length: with A = 1 + the
    bytes' sum and B = the sum of A after each byte, A = A1 + A2 - 1 and B = B1 + B2 + length * (A1 - 1),
    modulo 65521. So each band's bytes are summed where they are made and need not be kept."""
    mod = 65521
    a1, b1, a2, b2 = first & 0xFFFF, first >> 16, second & 0xFFFF, second >> 16
    return ((b1 + b2 + length * (a1 - 1)) % mod) << 16 | (a1 + a2 - 1) % mod


def _png(pixels: np.ndarray, level: int, strategy: int = zlib.Z_DEFAULT_STRATEGY, kind: int = 4) -> bytes:
    """(H, W, C) uint8 or uint16 pixels as PNG, every row filtered with PNG filter `kind` (Paeth, 4, is
    what libpng picks for photos: OpenCV's files came out the same size) and deflated in bands of rows on
    every core, the bands joined into one zlib stream by full flushes: one core deflating a large photo
    held up the end of every run after the network had finished (BENCHMARKS.md, PNG writing)."""
    h, w, channels = pixels.shape
    depth = 16 if pixels.dtype == np.uint16 else 8
    rows = np.ascontiguousarray(pixels.astype(">u2") if depth == 16 else pixels).reshape(h, -1).view(np.uint8)
    bpp = channels * depth // 8
    per_band = max(1, _BAND_BYTES // max(1, rows.shape[1]))
    bounds = [(i, min(h, i + per_band)) for i in range(0, h, per_band)]

    def band(span: tuple[int, int]) -> tuple[bytes, int, int]:
        i0, i1 = span
        above = rows[i0 - 1 : i0] if i0 else np.zeros((1, rows.shape[1]), np.uint8)
        filtered = _FILTERS[kind](rows[i0:i1], above, bpp)
        raw = np.concatenate([np.full((i1 - i0, 1), kind, np.uint8), filtered], axis=1)
        deflate = zlib.compressobj(level, zlib.DEFLATED, -15, 8, strategy)  # raw: one header for all bands
        last = zlib.Z_FINISH if i1 == h else zlib.Z_FULL_FLUSH
        return deflate.compress(raw) + deflate.flush(last), zlib.adler32(raw), raw.nbytes

    parts = map_threads(band, bounds)
    checksum = 1
    for _, band_sum, length in parts:
        checksum = _adler_join(checksum, band_sum, length)
    stream = b"".join([_ZLIB_HEADER, *(d for d, _, _ in parts)]) + struct.pack(">I", checksum)
    idat = [_chunk(b"IDAT", stream[i : i + _IDAT_BYTES]) for i in range(0, len(stream), _IDAT_BYTES)]
    ihdr = struct.pack(">IIBBBBB", w, h, depth, _PNG_COLOUR[channels], 0, 0, 0)
    return b"".join([b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", ihdr), *idat, _chunk(b"IEND", b"")])


def _bgr(pixels: np.ndarray) -> np.ndarray:
    """OpenCV's layout for 1, 3 or 4 channels (gray+alpha never reaches OpenCV)."""
    channels = pixels.shape[2]
    if channels == 1:
        return pixels[..., 0]
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR if channels == 3 else cv2.COLOR_RGBA2BGRA)


def _pil_image(pixels: np.ndarray) -> PILImage.Image:
    channels = pixels.shape[2]
    if channels == 1:
        return PILImage.fromarray(pixels[..., 0], "L")
    if channels == 2:
        return PILImage.fromarray(pixels, "LA")
    return PILImage.fromarray(pixels, "RGB" if channels == 3 else "RGBA")


def encode_image(image: Image, fmt: str, quality: int = 95) -> bytes:
    """The file bytes of `image` in `fmt`; the format must be able to hold its dtype and channels."""
    fmt = format_name(fmt)
    if not 1 <= quality <= 100:
        raise ImageWriteError(f"quality must be 1-100, not {quality}")
    if fmt == "json":
        document = image.meta.extra.get("document")
        if document is None:
            raise ImageWriteError("this task's results are images; JSON output is for segment's region table")
        return (json.dumps(document) + "\n").encode()
    px = np.ascontiguousarray(image.pixels)
    channels = px.shape[2]
    if not can_hold(fmt, px.dtype, channels):
        holds = "TIFF" if px.dtype == np.float32 else "PNG or TIFF"
        raise ImageWriteError(
            f"{fmt.upper()} cannot hold {channels}-channel {px.dtype} images; write {holds} (--format), "
            "or 8 bits where the task offers it (demosaic --output-depth 8)"
        )
    meta = image.meta
    if fmt == "png":
        # 16-bit samples of a network's float result: their low bytes are noise, where deflate's search
        # for repeated strings finds next to nothing, so it only codes runs (zlib's RLE strategy), and
        # the average filter costs a sixth of Paeth's for a file 0.7 % larger: together a third of the
        # time and a smaller file than before (BENCHMARKS.md, demosaic); 8-bit images still gain from
        # Paeth and the full search at level 6
        if px.dtype == np.uint16:
            return _png_with_metadata(_png(px, 1, zlib.Z_RLE, kind=3), meta.exif, meta.icc)
        return _png_with_metadata(_png(px, 6), meta.exif, meta.icc)
    if fmt == "bmp":
        ok, buf = cv2.imencode(".bmp", _bgr(px))
        if not ok:
            raise ImageWriteError("BMP encoding failed")
        return buf.tobytes()
    if fmt == "tiff":
        import tifffile

        out = io.BytesIO()
        photometric = "minisblack" if channels <= 2 else "rgb"
        extrasamples = ["unassalpha"] if channels in (2, 4) else None
        data = px[..., 0] if channels == 1 else px
        tifffile.imwrite(
            out,
            data,
            photometric=photometric,
            extrasamples=extrasamples,
            compression="zlib",
            iccprofile=meta.icc,
        )
        return out.getvalue()
    im = _pil_image(px)
    kwargs: dict[str, object] = {"quality": quality}
    if meta.icc:
        kwargs["icc_profile"] = meta.icc
    if fmt == "jpeg":
        kwargs["subsampling"] = 0 if quality >= 90 else 2
        if meta.exif:
            kwargs["exif"] = b"Exif\x00\x00" + meta.exif
    else:
        if im.mode in ("L", "LA"):
            im = im.convert("RGBA" if im.mode == "LA" else "RGB")
        # lossless WebP rewrites the colour of fully transparent pixels unless told to be exact
        kwargs["lossless"] = kwargs["exact"] = quality == 100
        if meta.exif:
            kwargs["exif"] = meta.exif
    out = io.BytesIO()
    im.save(out, format="JPEG" if fmt == "jpeg" else "WEBP", **kwargs)
    return out.getvalue()


def write_image(path: Path, image: Image, fmt: str, quality: int = 95) -> None:
    """Encode then write atomically: `path` ends complete or untouched, never partial."""
    try:
        data = encode_image(image, fmt, quality)
    except ImageWriteError:
        raise
    except Exception as err:
        raise ImageWriteError(f"encoding {fmt.upper()} failed ({type(err).__name__}: {err})") from err
    try:
        atomic_write_bytes(Path(path), data)
    except OSError as err:
        raise ImageWriteError(f"cannot write {path}: {err.strerror or err}") from err
