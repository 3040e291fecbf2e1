"""Read RAW mosaics for `msimg demosaic`: headerless sensor dumps (`.bin`/`.raw`, MIPI CSI-2 packing), `.npy`
arrays, single-channel PNG/TIFF, and camera RAW through rawpy (LibRaw).

The mosaic is returned as stored (integers stay integers) and the levels travel beside it in `RawFrame`, so
black subtraction and scaling happen once, in the task, whatever the source. Every failure is an
`ImageReadError` with a one-line cause; the pipeline prefixes the file name.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from msimg.errors import ImageReadError, UsageError
from msimg.io.image import DEFAULT_MAX_PIXELS
from msimg.io.read import check_size, quiet_tifffile, read_image
from msimg.ops.cfa import PATTERNS

__all__ = ["BIT_DEPTHS", "RAW_SUFFIXES", "RawFrame", "RawLayout", "develop_with_libraw", "read_raw"]

RAW_SUFFIXES = frozenset(
    {".bin", ".raw", ".npy", ".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".raf", ".orf", ".rw2", ".pef"}
    | {".srw", ".erf", ".3fr", ".iiq"}
)  # .png/.tif/.tiff are image suffixes already; they are read here too, as single-channel mosaics
_HEADERLESS = frozenset({".bin", ".raw"})
_IMAGE = frozenset({".png", ".tif", ".tiff"})
BIT_DEPTHS = (8, 10, 12, 14, 16)

# MIPI CSI-2 RAWn packing: (pixels, bytes) per group; the group holds the pixels' 8 MSBs, one byte each, then
# all their low bits packed little-endian, pixel 0 first
_PACKING = {10: (4, 5), 12: (2, 3), 14: (4, 7)}
_MIPI_HEADER_DEPTH = 10  # the MIPI 2024 HybridEVS challenge files are 10-bit
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_PHOTOMETRIC_CFA = 32803
_DNG_VERSION = 50706
# XYZ from linear sRGB (D65 white): the sRGB primaries of IEC 61966-2-1, as tabulated in dcraw (xyz_rgb)
_XYZ_FROM_SRGB = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)


@dataclass(frozen=True)
class RawLayout:
    """What the user says about a headerless file (CLI --width/--height/--bit-depth/--packed).

    `bit_depth` None means: 10 when a MIPI challenge header is found, else 16 for headerless files; the
    dtype's range for `.npy`/PNG/TIFF. Camera RAW files ignore the layout. `packed` needs a bit depth.
    """

    width: int | None = None
    height: int | None = None
    bit_depth: int | None = None
    packed: bool = False

    def __post_init__(self) -> None:
        if (self.width is None) != (self.height is None):
            raise UsageError("give both --width and --height, or neither")
        for name, value in (("--width", self.width), ("--height", self.height)):
            if value is not None and value <= 0:
                raise UsageError(f"{name} must be positive, got {value}")
        if self.bit_depth is not None and self.bit_depth not in BIT_DEPTHS:
            depths = ", ".join(map(str, BIT_DEPTHS))
            raise UsageError(f"--bit-depth must be one of {depths}, got {self.bit_depth}")
        if self.packed and self.bit_depth is None:
            raise UsageError("--packed needs --bit-depth (8, 10, 12, 14 or 16)")


@dataclass(frozen=True)
class RawFrame:
    """A mosaic as stored in its file plus what the file says about it; None = the file does not say.

    `mosaic` is (H, W) uint16 (raw integer values) or float32 (already normalised, `white` 1.0). `black` is a
    (ph, pw) float32 tile of black levels per CFA site, aligned with the mosaic's top-left pixel; (1, 1) when
    uniform. `wb` holds the as-shot gains (R, G, B) with G = 1; `camera_to_srgb` (3, 3) maps white-balanced
    camera RGB to linear sRGB. `space` is what the values are when the kind of file tells: "linear" sensor
    data (camera RAW) or "srgb", a display-referred mosaic (the MIPI HybridEVS files, whose inputs are
    sampled from the sRGB ground truth: docs/hybridevs-research.md, section 2).
    """

    mosaic: np.ndarray
    white: float
    black: np.ndarray
    pattern: str | None
    wb: tuple[float, float, float] | None
    camera_to_srgb: np.ndarray | None
    space: str | None = None


def read_raw(path: Path, layout: RawLayout = RawLayout(), max_pixels: int = DEFAULT_MAX_PIXELS) -> RawFrame:
    """Read one mosaic, choosing the reader by the (lower-case) suffix. Raises `ImageReadError`."""
    path = _existing(path)
    suffix = path.suffix.lower()
    if suffix in _HEADERLESS:
        return _read_headerless(path, layout, max_pixels)
    if suffix == ".npy":
        return _read_npy(path, layout, max_pixels)
    if _is_camera_raw(path):
        return _read_camera_raw(path, max_pixels)
    if suffix in _IMAGE:
        return _read_image_mosaic(path, layout, max_pixels)
    raise ImageReadError(f"not a RAW mosaic ({suffix or 'no suffix'}); expected one of {_suffix_list()}")


def _existing(path: Path) -> Path:
    path = Path(path)
    if path.is_dir():
        raise ImageReadError("is a folder, not an image")
    if not path.exists():
        raise ImageReadError("no such file")
    return path


def _is_camera_raw(path: Path) -> bool:
    """A file for LibRaw: a camera RAW suffix, or a TIFF that holds a CFA (DNGs often end in .tif)."""
    suffix = path.suffix.lower()
    if suffix in _IMAGE:
        return _is_cfa_tiff(path)
    return suffix in RAW_SUFFIXES and suffix not in _HEADERLESS and suffix != ".npy"


def _suffix_list() -> str:
    return ", ".join(sorted(RAW_SUFFIXES | _IMAGE))


def _frame(mosaic: np.ndarray, white: float) -> RawFrame:
    """A frame whose file says nothing but the values: no black level, pattern, white balance or matrix."""
    return RawFrame(mosaic, float(white), np.zeros((1, 1), np.float32), None, None, None)


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ImageReadError(err.strerror or str(err)) from err
    if not data:
        raise ImageReadError("empty file (0 bytes)")
    return data


# headerless .bin / .raw


def _group(depth: int, packed: bool) -> tuple[int, int]:
    """(pixels, bytes) of one storage unit: a uint16 word when unpacked, a MIPI group when packed."""
    if not packed or depth == 16:
        return 1, 2
    if depth == 8:
        return 1, 1
    return _PACKING[depth]


def _bytes_needed(width: int, height: int, depth: int, packed: bool) -> int | None:
    """Bytes a frame occupies, or None when the width does not split into whole packing groups."""
    pixels, nbytes = _group(depth, packed)
    if width % pixels:
        return None
    return width // pixels * nbytes * height


def _read_headerless(path: Path, layout: RawLayout, max_pixels: int) -> RawFrame:
    data = _read_bytes(path)
    size_depth = layout.bit_depth or 16  # only the packed byte count depends on it, and packed has a depth
    header = _mipi_header(data, layout, size_depth)
    if header is not None:
        width, height = header
    elif layout.width is not None and layout.height is not None:
        width, height = layout.width, layout.height
    else:
        raise ImageReadError(f"headerless raw: give --width and --height ({len(data)} bytes)")
    depth = layout.bit_depth or (_MIPI_HEADER_DEPTH if header is not None else 16)
    check_size(width, height, max_pixels)
    pixels, _ = _group(depth, layout.packed)
    need = _bytes_needed(width, height, depth, layout.packed)
    if need is None:
        raise ImageReadError(
            f"RAW{depth} packing stores {pixels} pixels per group: the width must be a multiple of {pixels}, "
            f"got {width}"
        )
    body = data[4:] if header is not None else data
    if len(body) != need:
        kind = "packed" if layout.packed else "unpacked"
        one_byte = not layout.packed and len(body) == width * height
        hint = " (one byte per sample: --bit-depth 8 --packed)" if one_byte else ""
        raise ImageReadError(
            f"{width}x{height} at {depth} bits {kind} needs {need} bytes, the file has {len(data)}{hint}; "
            "check --width/--height/--bit-depth/--packed"
        )
    mosaic = _decode_samples(body, width, height, depth, layout.packed)
    _check_depth(mosaic, depth, defaulted=layout.bit_depth is None)
    if header is not None:  # a MIPI HybridEVS challenge file: its layout and space are the challenge's
        return RawFrame(
            mosaic, 2.0**depth - 1, np.zeros((1, 1), np.float32), "quad-bayer-evs", None, None, "srgb"
        )
    return _frame(mosaic, 2**depth - 1)


def _mipi_header(data: bytes, layout: RawLayout, depth: int) -> tuple[int, int] | None:
    """(width, height) from the MIPI 2024 challenge header: two little-endian uint16 before the mosaic.

    Taken only when the file length fits those two values exactly (and they equal --width/--height when
    given), so a plain headerless file is never misread.
    """
    if len(data) < 4:
        return None
    width, height = struct.unpack("<HH", data[:4])
    if width == 0 or height == 0:
        return None
    if layout.width is not None and (width, height) != (layout.width, layout.height):
        return None
    need = _bytes_needed(width, height, depth, layout.packed)
    return (width, height) if need is not None and len(data) == 4 + need else None


def _decode_samples(body: bytes, width: int, height: int, depth: int, packed: bool) -> np.ndarray:
    """(H, W) uint16 from little-endian words, plain bytes, or MIPI CSI-2 RAW10/12/14 groups."""
    if not packed or depth == 16:
        return np.frombuffer(body, dtype="<u2").astype(np.uint16).reshape(height, width)
    raw = np.frombuffer(body, dtype=np.uint8)
    if depth == 8:
        return raw.astype(np.uint16).reshape(height, width)
    pixels, nbytes = _PACKING[depth]
    low = depth - 8
    groups = raw.reshape(-1, nbytes).astype(np.uint32)
    lsb_word = np.zeros(len(groups), np.uint32)
    for i in range(nbytes - pixels):
        lsb_word |= groups[:, pixels + i] << np.uint32(8 * i)
    shifts = (low * np.arange(pixels)).astype(np.uint32)
    lsbs = (lsb_word[:, None] >> shifts) & np.uint32(2**low - 1)
    values = (groups[:, :pixels] << np.uint32(low)) | lsbs
    return values.astype(np.uint16).reshape(height, width)


def _check_depth(mosaic: np.ndarray, depth: int, defaulted: bool = False) -> None:
    """Values above full scale mean a wrong --bit-depth; clipping them would hide that."""
    top = int(mosaic.max()) if mosaic.size else 0
    if top > 2**depth - 1:
        hint = " (the default for this file; give --bit-depth)" if defaulted else ""
        raise ImageReadError(f"values up to {top} exceed --bit-depth {depth}{hint}")


def _integer_white(mosaic: np.ndarray, layout: RawLayout, dtype_white: int) -> float:
    """Full scale of integers with no depth in the file: the user's --bit-depth, else the dtype's range."""
    if layout.bit_depth is None:
        return float(dtype_white)
    _check_depth(mosaic, layout.bit_depth)
    return float(2**layout.bit_depth - 1)


# .npy, PNG, TIFF


def _read_npy(path: Path, layout: RawLayout, max_pixels: int) -> RawFrame:
    try:  # memory-mapped, so the shape is checked before the pixels are read
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise ImageReadError(f"not a readable .npy array ({err})") from err
    if not isinstance(arr, np.ndarray):
        arr.close()
        raise ImageReadError("is an .npz archive, not an .npy array")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3:
        raise ImageReadError(f"is a {arr.shape[2]}-channel array, not a single-channel mosaic")
    if arr.ndim != 2:
        raise ImageReadError(f"is a {arr.ndim}-D array of shape {arr.shape}, not an (H, W) mosaic")
    check_size(int(arr.shape[1]), int(arr.shape[0]), max_pixels)
    try:
        values = np.array(arr)
    except (OSError, ValueError) as err:
        raise ImageReadError(f"truncated .npy data ({err})") from err
    if values.dtype.kind == "f":
        return _float_frame(values)
    if values.dtype.kind not in "iu":
        raise ImageReadError(f"unsupported array type {values.dtype} (use integers or floats)")
    low, high = int(values.min()), int(values.max())
    if low < 0 or high > 65535:
        raise ImageReadError(f"values from {low} to {high} are outside 0..65535")
    mosaic = values.astype(np.uint16)
    return _frame(mosaic, _integer_white(mosaic, layout, 255 if values.dtype == np.uint8 else 65535))


def _float_frame(values: np.ndarray) -> RawFrame:
    mosaic = np.ascontiguousarray(values, dtype=np.float32)
    if not np.isfinite(mosaic).all():
        raise ImageReadError("contains NaN or infinite values")
    return _frame(mosaic, 1.0)


def _is_cfa_tiff(path: Path) -> bool:
    """A TIFF holding a colour filter array (or any DNG) must go through LibRaw, not the image decoder."""
    import tifffile

    try:
        with path.open("rb") as f:
            if f.read(4) not in _TIFF_MAGIC:
                return False
        with quiet_tifffile(), tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            return page.photometric == _PHOTOMETRIC_CFA or _DNG_VERSION in page.tags
    except Exception:  # a damaged TIFF is reported by the image decoder, with its cause
        return False


def _read_image_mosaic(path: Path, layout: RawLayout, max_pixels: int) -> RawFrame:
    pixels = read_image(path, max_pixels).pixels
    channels = pixels.shape[2]
    if channels != 1:
        kind = {2: "a gray+alpha", 3: "an RGB", 4: "an RGBA"}.get(channels, f"a {channels}-channel")
        raise ImageReadError(f"is {kind} image, not a single-channel mosaic")
    values = pixels[..., 0]
    if values.dtype == np.float32:
        return _float_frame(values)
    mosaic = np.ascontiguousarray(values, dtype=np.uint16)
    return _frame(mosaic, _integer_white(mosaic, layout, int(np.iinfo(values.dtype).max)))


# camera RAW (rawpy / LibRaw)


@contextmanager
def _libraw(path: Path, max_pixels: int) -> Iterator[Any]:
    """rawpy's handle on a camera RAW file, its size checked before LibRaw unpacks the pixels; LibRaw's
    failures become `ImageReadError`s with LibRaw's own message."""
    import rawpy

    try:
        with rawpy.imread(str(path)) as raw:
            check_size(raw.sizes.width, raw.sizes.height, max_pixels)
            yield raw
    except ImageReadError:
        raise
    except (rawpy.LibRawError, rawpy.NotSupportedError, NotImplementedError, RuntimeError, OSError) as err:
        raise ImageReadError(f"unreadable camera RAW ({_libraw_cause(err)})") from err


def _read_camera_raw(path: Path, max_pixels: int) -> RawFrame:
    with _libraw(path, max_pixels) as raw:
        sizes = raw.sizes
        cfa = _visible_cfa(raw.raw_pattern, sizes.top_margin, sizes.left_margin)
        pattern = _pattern_name(cfa, raw.color_desc.decode("ascii", "replace"))
        mosaic = np.array(raw.raw_image_visible, dtype=np.uint16)  # a copy: LibRaw frees its buffer
        black = np.asarray(raw.black_level_per_channel, np.float32)[cfa]
        white = float(raw.white_level)
        matrix = _camera_matrix(np.asarray(raw.rgb_xyz_matrix), np.asarray(raw.color_matrix))
        wb = _gains(raw.camera_whitebalance)
        if wb is None and matrix is not None:
            wb = _gains(raw.daylight_whitebalance)
    if (black == black.flat[0]).all():
        black = black[:1, :1]
    return RawFrame(mosaic, white, np.ascontiguousarray(black), pattern, wb, matrix, "linear")


def develop_with_libraw(
    path: Path, wb: tuple[float, float, float] | None, max_pixels: int = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """A camera RAW file developed by LibRaw itself (its default demosaic, AHD for Bayer; its colour
    matrix), as (H, W, 3) float32 linear sRGB: the comparison `demosaic --method libraw` offers. `wb` None
    = as shot. Not rotated by the file's orientation flag, like msimg's own path.

    LibRaw divides the white-balance gains by their smallest; msimg applies them as given (green = 1 for
    the file's own), so the result is scaled back by that smallest gain to match msimg's exposure."""
    import rawpy

    path = _existing(path)
    if not _is_camera_raw(path):
        raise ImageReadError("--method libraw reads camera RAW files only (DNG, CR2, NEF, ARW, ...)")
    with _libraw(path, max_pixels) as raw:
        gains = wb if wb is not None else _gains(raw.camera_whitebalance)
        rgb = raw.postprocess(
            use_camera_wb=wb is None,
            user_wb=None if wb is None else [wb[0], wb[1], wb[2], wb[1]],
            output_color=rawpy.ColorSpace.sRGB,
            gamma=(1, 1),
            no_auto_bright=True,
            output_bps=16,
            user_flip=0,
        ).astype(np.float32)
    rgb *= np.float32((min(gains) if gains is not None else 1.0) / 65535)
    return rgb


def _libraw_cause(err: Exception) -> str:
    """rawpy passes LibRaw's message as bytes; show it as text after the error's kind."""
    arg = err.args[0] if err.args else ""
    text = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _visible_cfa(raw_pattern: np.ndarray | None, top: int, left: int) -> np.ndarray:
    """rawpy's `raw_pattern` is phased at the full sensor's origin; re-phase it at the visible area's."""
    if raw_pattern is None:
        raise ImageReadError("not a colour filter array mosaic (linear or demosaiced RAW data)")
    rows, cols = raw_pattern.shape
    return np.roll(raw_pattern, (-(top % rows), -(left % cols)), axis=(0, 1))


def _pattern_name(cfa: np.ndarray, colours: str) -> str:
    """Name of a 2x2 Bayer CFA from its colour indices; LibRaw's 'RGBG' gives the second green index 3."""
    letters = "".join(colours[i] if i < len(colours) else "?" for i in cfa.ravel())
    name = f"bayer-{letters.lower()}"
    if name not in PATTERNS:  # also refuses every period other than 2x2: its name is longer
        rows, cols = cfa.shape
        shown = letters if len(letters) <= 4 else f"{letters[:cols]}..."
        raise ImageReadError(
            f"unsupported colour filter array ({rows}x{cols} {shown}, colours {colours}); only 2x2 RGB Bayer"
        )
    return name


def _gains(coefficients: list[float]) -> tuple[float, float, float] | None:
    """(R, G, B) gains normalised to G = 1, or None when LibRaw has none (a zero or negative entry)."""
    r, g, b = (float(c) for c in coefficients[:3])
    if min(r, g, b) <= 0:
        return None
    return r / g, 1.0, b / g


def _camera_matrix(rgb_xyz: np.ndarray, cmatrix: np.ndarray) -> np.ndarray | None:
    """sRGB-from-camera from the camera's XYZ matrix, else from LibRaw's own `cmatrix` (which LibRaw computes
    the same way from a DNG's ColorMatrixN while leaving the XYZ matrix zero for DNG files)."""
    cam_from_xyz = rgb_xyz[:3].astype(np.float64)
    if np.any(cam_from_xyz):
        return _srgb_from_camera(cam_from_xyz)
    fallback = cmatrix[:, :3]
    return fallback.astype(np.float32) if np.any(fallback) else None


def _srgb_from_camera(cam_from_xyz: np.ndarray) -> np.ndarray | None:
    """dcraw's convention: camera-from-sRGB = camera-from-XYZ @ XYZ-from-sRGB, rows scaled to sum 1 (so
    white-balanced camera white is sRGB white), then inverted. None when the matrix is degenerate."""
    cam_from_srgb = cam_from_xyz @ _XYZ_FROM_SRGB
    sums = cam_from_srgb.sum(axis=1, keepdims=True)
    if np.any(np.abs(sums) < 1e-9):
        return None
    try:
        return np.linalg.inv(cam_from_srgb / sums).astype(np.float32)
    except np.linalg.LinAlgError:
        return None
