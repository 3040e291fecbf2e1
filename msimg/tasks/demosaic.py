"""Demosaic: a RAW mosaic (Quad-Bayer with event-pixel holes, Quad-Bayer, or Bayer) -> RGB.

The reader keeps the mosaic as stored (integers of the file's bit depth) and what the file says about it
(pattern, black and white levels, white balance, colour matrix); `prepare` puts those facts beside the
user's options, where the user's own values win. `plan` turns them into a per-site gain and offset, so
every band reaches the model as linear, white-balanced values with the pattern's site channels
(`msimg.cfa.sites`); the model returns linear RGB, and `finish` applies the colour matrix and the
output transfer curve pixel by pixel. Tiles start on multiples of the pattern period, so they stay in
phase.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from msimg import cfa
from msimg.colour import srgb_encode
from msimg.errors import ImageReadError, UsageError
from msimg.io.image import Image, ImageMeta
from msimg.io.raw import RAW_SUFFIXES, RawFrame, RawLayout, develop_with_libraw, read_raw
from msimg.tasks.base import Plan, Task

METHODS = {"net": "demosaic-swin", "classic": "demosaic-classic", "libraw": "demosaic-libraw"}
SPACES = ("srgb", "linear")
DEFAULT_PATTERN = "quad-bayer-evs"


@dataclass(frozen=True)
class DemosaicOptions:
    """What the user says; None = take it from the file, else the default.

    `width`, `height`, `bit_depth`, `packed` describe headerless files; `black_level` and `white_level` are
    in the file's raw units; `wb` are R, G, B gains; `mask` a PNG/.npy of the holes (non-zero = missing),
    one 4x4 period or the whole frame. `frame` holds what the file itself records (set per image).
    """

    method: str = "net"
    pattern: str | None = None
    width: int | None = None
    height: int | None = None
    bit_depth: int | None = None
    packed: bool = False
    black_level: float | None = None
    white_level: float | None = None
    wb: tuple[float, float, float] | None = None
    mask: Path | None = None
    output_space: str = "srgb"
    output_depth: int = 16
    frame: RawFrame | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UsageError(f"--method must be one of {', '.join(METHODS)}, got '{self.method}'")
        if self.pattern is not None and self.pattern not in cfa.PATTERNS:
            raise UsageError(f"--pattern must be one of {', '.join(cfa.PATTERNS)}, got '{self.pattern}'")
        if self.output_space not in SPACES:
            raise UsageError(f"--output-space must be srgb or linear, got '{self.output_space}'")
        if self.output_depth not in (8, 16):
            raise UsageError(f"--output-depth must be 8 or 16, got {self.output_depth}")
        if self.bit_depth is not None and self.bit_depth not in (8, 10, 12, 14, 16):
            raise UsageError(f"--bit-depth must be 8, 10, 12, 14 or 16, got {self.bit_depth}")
        if self.wb is not None and (len(self.wb) != 3 or min(self.wb) <= 0):
            raise UsageError(f"--wb takes three positive gains R,G,B, got {self.wb}")
        if self.black_level is not None and self.black_level < 0:
            raise UsageError(f"--black-level must be 0 or more, got {self.black_level:g}")
        if self.white_level is not None and self.white_level <= 0:
            raise UsageError(f"--white-level must be above 0, got {self.white_level:g}")
        if None not in (self.black_level, self.white_level) and self.black_level >= self.white_level:
            raise UsageError(
                f"--black-level {self.black_level:g} must be below --white-level {self.white_level:g}"
            )
        if self.mask is not None and not Path(self.mask).is_file():
            raise UsageError(f"--mask {self.mask}: file not found")
        self.layout()  # checks the headerless-file options once, before any file is read
        if self.method == "libraw":
            ignored = {
                "--pattern": self.pattern,
                "--width/--height": self.width,
                "--bit-depth": self.bit_depth,
                "--packed": self.packed or None,
                "--black-level": self.black_level,
                "--white-level": self.white_level,
                "--mask": self.mask,
            }
            given = [name for name, value in ignored.items() if value is not None]
            if given:
                raise UsageError(f"--method libraw takes everything from the file; drop {', '.join(given)}")

    def layout(self) -> RawLayout:
        return RawLayout(self.width, self.height, self.bit_depth, self.packed)


def read(path: Path, options: DemosaicOptions, max_pixels: int) -> Image:
    """A RAW file -> its mosaic as a one-channel image; the file's facts ride along in `meta.extra`.
    With `--method libraw`, LibRaw develops the file here and the result is linear sRGB."""
    if options.method == "libraw":
        return Image(develop_with_libraw(path, options.wb, max_pixels), ImageMeta("raw"))
    frame = read_raw(path, options.layout(), max_pixels)
    return Image(frame.mosaic[..., None], ImageMeta("raw", extra={"raw": frame}))


def prepare(options: DemosaicOptions, meta: ImageMeta) -> DemosaicOptions:
    frame = meta.extra.get("raw")
    return options if frame is None else dataclasses.replace(options, frame=frame)


@functools.lru_cache(maxsize=4)
def load_mask(path: Path) -> np.ndarray:
    """A hole mask file -> (H, W) bool, True = missing."""
    if path.suffix.lower() == ".npy":
        try:
            mask = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise UsageError(f"--mask {path}: not a readable .npy ({err})") from err
    else:
        from msimg.io.read import read_image

        try:
            mask = read_image(path).pixels[..., 0]
        except ImageReadError as err:
            raise UsageError(f"--mask {path}: {err}") from err
    mask = np.squeeze(mask)
    if mask.ndim != 2:
        raise UsageError(f"--mask {path}: must be one channel, got shape {mask.shape}")
    return mask != 0


def _periodic(values: np.ndarray) -> np.ndarray:
    """A per-site (ph, pw) array (1x1 or 2x2 from the file) -> the (4, 4) tile."""
    values = np.asarray(values, dtype=np.float64).reshape(np.shape(values) or (1, 1))
    return np.tile(values, (cfa.PERIOD // values.shape[0], cfa.PERIOD // values.shape[1]))


def model_input(
    raw: torch.Tensor, gain: torch.Tensor, offset: torch.Tensor, sites: torch.Tensor
) -> torch.Tensor:
    """(N, 1, h, w) stored values / full scale, per-site (4, 4) gain and offset, (N, 4, h, w) sites ->
    (N, 5, h, w): linear white-balanced mosaic (0 at holes), then the sites (shared with training)."""
    rows = torch.arange(raw.shape[2]) % cfa.PERIOD
    cols = torch.arange(raw.shape[3]) % cfa.PERIOD
    linear = (raw * gain[rows][:, cols] - offset[rows][:, cols]) * sites[:, 3:4]
    return torch.cat([linear, sites], dim=1)


def encode(linear: torch.Tensor, space: str) -> torch.Tensor:
    """Linear sRGB -> the output space, clipped to the displayable range."""
    linear = linear.clamp(0, 1)
    return srgb_encode(linear) if space == "srgb" else linear


def _libraw_plan(colour: np.ndarray, options: DemosaicOptions) -> Plan:
    """LibRaw has developed the file (`read`); only the output space and depth are left to do."""
    if colour.shape[2] != 3:
        raise ImageReadError("--method libraw develops camera RAW files; give it the file, not a mosaic")
    return Plan(
        model_input=lambda rgb, _: rgb,
        channels=3,
        dtype=np.dtype(np.uint16 if options.output_depth == 16 else np.uint8),
        finish=lambda linear: encode(linear, options.output_space),
    )


def plan(colour: np.ndarray, options: DemosaicOptions) -> Plan:
    if options.method == "libraw":
        return _libraw_plan(colour, options)
    if colour.shape[2] != 1:
        raise ImageReadError("demosaic takes a one-channel mosaic, got a colour image")
    frame = options.frame
    height, width = colour.shape[:2]
    pattern = options.pattern or (frame.pattern if frame else None) or DEFAULT_PATTERN
    full_scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(colour.dtype, 1.0)
    if options.white_level is not None:
        white = options.white_level
    elif frame is not None:
        white = frame.white
    elif options.bit_depth is not None and full_scale > 1:
        white = 2.0**options.bit_depth - 1
    else:
        white = full_scale
    black = _periodic(
        options.black_level if options.black_level is not None else frame.black if frame is not None else 0.0
    )
    if np.any(black >= white):
        raise ImageReadError(f"black level {black.max():g} is not below the white level {white:g}")
    wb = options.wb or (frame.wb if frame is not None else None) or (1.0, 1.0, 1.0)
    site_wb = np.asarray(wb, dtype=np.float64)[cfa.layout(pattern)]
    gain = torch.from_numpy(full_scale * site_wb / (white - black)).float()
    offset = torch.from_numpy(black * site_wb / (white - black)).float()

    missing = None if options.mask is None else load_mask(Path(options.mask))
    if missing is not None and missing.shape not in ((cfa.PERIOD, cfa.PERIOD), (height, width)):
        raise UsageError(
            f"--mask is {missing.shape[1]}x{missing.shape[0]}; it must be 4x4 or {width}x{height}"
        )
    whole = missing is not None and missing.shape == (height, width)
    extra = torch.from_numpy(missing)[None, None].float() if whole else None

    def model_input_of(rgb: torch.Tensor, holes: torch.Tensor | None) -> torch.Tensor:
        h, w = rgb.shape[2:]
        local = missing if holes is None else holes[0, 0].numpy()
        sites = cfa.sites(pattern, h, w, local)[None]
        return model_input(rgb[:, :1], gain, offset, sites)

    matrix = None if frame is None or frame.camera_to_srgb is None else torch.from_numpy(frame.camera_to_srgb)

    def finish(linear: torch.Tensor) -> torch.Tensor:
        if matrix is not None:
            linear = torch.einsum("ij,njhw->nihw", matrix.to(linear), linear)
        return encode(linear, options.output_space)

    return Plan(
        model_input=model_input_of,
        extra=extra,
        channels=3,
        dtype=np.dtype(np.uint16 if options.output_depth == 16 else np.uint8),
        finish=finish,
    )


TASK = Task(
    name="demosaic",
    summary="RAW mosaics -> RGB: event-camera Quad-Bayer frames with holes, Quad-Bayer, Bayer, camera RAW.",
    default_model=METHODS["net"],
    options_type=DemosaicOptions,
    plan=plan,
    model_for=lambda options: METHODS[options.method],
    read=read,
    suffixes=RAW_SUFFIXES,
    prepare=prepare,
)
