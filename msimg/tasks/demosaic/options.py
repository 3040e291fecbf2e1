"""`msimg demosaic`'s options and help."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from msimg.errors import UsageError
from msimg.tasks.fields import option

if TYPE_CHECKING:
    from msimg.io.raw import RawFrame, RawLayout

RAW = "RAW input"

SUMMARY = "RAW mosaics -> RGB: event-camera Quad-Bayer frames with holes, Quad-Bayer, Bayer, camera RAW."
HELP = """Turn RAW mosaics into RGB: event-camera Quad-Bayer frames with holes, Bayer, camera RAW.

Event-camera (HybridEVS) frames are Quad-Bayer mosaics whose event pixels carry no colour.
Inputs: headerless .bin/.raw (give --width/--height/--bit-depth; MIPI challenge files carry their
size and are display-referred), .npy arrays, one-channel 8/16-bit PNG/TIFF mosaics and camera RAW
(levels, white balance and colour matrix from the file). A layout no file names is read from the
values and said on stderr and in --json. Output: 16-bit PNG (TIFF with --format tif), sRGB unless
--output-space linear. The network is the default; --method classic needs no model.

Examples:

  msimg demosaic frames/ -o rgb/

  msimg demosaic frame.bin --width 2448 --height 3264 --bit-depth 10

  msimg demosaic kodim01-rggb.png --pattern bayer-rggb --input-space srgb

  msimg demosaic shots/*.dng -o out/ --output-depth 8 --format jpg
"""


def parse_wb(value: str) -> tuple[float, float, float]:
    """`R,G,B` gains -> a tuple."""
    try:
        gains = tuple(float(v) for v in value.split(","))
    except ValueError:
        raise UsageError(f"--wb takes three gains R,G,B such as 2.0,1,1.6, got '{value}'") from None
    if len(gains) != 3:
        raise UsageError(f"--wb takes three gains R,G,B such as 2.0,1,1.6, got '{value}'")
    return gains  # type: ignore[return-value]


METHODS = {"net": "demosaic-net", "classic": "demosaic-classic", "libraw": "demosaic-libraw"}
SPACES = ("srgb", "linear")
INPUT_SPACES = ("linear", "srgb")  # the index is the model's space channel
MASK_MODES = ("replace", "add")
WB_ON_SRGB = "--wb applies to linear sensor data, and a display-referred (sRGB) mosaic is balanced already"
MAX_MASK_PERIOD = 64  # a smaller mask is one period of the layout


@dataclass(frozen=True)
class DemosaicOptions:
    """What the user says; None = take it from the file, else the default.

    `width`, `height`, `bit_depth`, `packed` describe headerless files; `black_level` and `white_level` are
    in the file's raw units; `wb` are R, G, B gains; `mask` a PNG/.npy of the holes (non-zero = missing),
    one period of the layout (a tile from the top-left corner) or the whole frame, which replaces the
    pattern's own holes or adds to them (`mask_mode`); `defects` finds dead and hot pixels nobody marked
    (`cfa.isolated_extremes`) and adds them to the holes. `input_space` is what the values are: linear sensor
    data or a display-referred sRGB mosaic (None: the file's kind says, else linear). `tta` averages the
    model over the 8 flips and rotations of each window (the engine's ensemble). `frame` holds what
    the file itself records (set per image).
    """

    method: str = option(
        "net",
        "net (the trained network), classic (hole fill, remosaic, Malvar-He-Cutler) or libraw (camera RAW "
        "only: LibRaw's own development, AHD for Bayer, for comparison).",
    )
    pattern: str | None = option(
        None,
        "quad-bayer-evs, quad-bayer, bayer-rggb, bayer-bggr, bayer-grbg or bayer-gbrg. Default: the file's "
        "own (camera RAW; MIPI HybridEVS .bin: quad-bayer-evs), else read from the values (Bayer vs "
        "Quad-Bayer, green sites, event holes); exit 2 when they do not say clearly (Bayer's red and blue "
        "never do).",
        panel=RAW,
    )
    width: int | None = option(None, "Width of headerless .bin/.raw.", panel=RAW)
    height: int | None = option(None, "Height of headerless .bin/.raw.", panel=RAW)
    bit_depth: int | None = option(
        None,
        "Bits per sample: 8, 10, 12, 14, 16 (headerless files: default 16). Give it for .npy, PNG or TIFF "
        "holding fewer bits than their 8/16-bit type, else the type's full range is white.",
        panel=RAW,
    )
    packed: bool = option(
        False,
        "Headerless samples are packed: MIPI CSI-2 RAW10/12/14, or RAW8 one byte each (unpacked samples are "
        "16-bit words).",
        panel=RAW,
    )
    black_level: float | None = option(
        None, "Black level in raw units. Default: the file's, else 0.", panel=RAW
    )
    white_level: float | None = option(
        None, "White level in raw units. Default: the file's, else 2^bits - 1.", panel=RAW
    )
    wb: tuple[float, float, float] | None = option(
        None,
        "White-balance gains R,G,B. Default: the file's as-shot, else 1,1,1.",
        panel=RAW,
        parse=parse_wb,
    )
    mask: Path | None = option(
        None,
        "PNG/.npy of missing pixels (non-zero): one period of the layout (up to 64x64, from the top-left "
        "pixel) or the frame's size. See --mask-mode. The network runs a Quad-Bayer layout turned to where "
        "its holes sit most as HybridEVS's do, and turns the result back.",
        panel=RAW,
    )
    mask_mode: str = option(
        "replace",
        "replace: --mask is the whole hole layout (mark the event pixels too); add: --mask adds pixels "
        "(defects) to the pattern's own holes.",
        panel=RAW,
    )
    defects: bool = option(
        True,
        "Find dead and hot pixels nobody marked (a 0 or full-scale reading among same-colour neighbours "
        "that all read otherwise) and fill them as holes.",
        panel=RAW,
    )
    input_space: str | None = option(
        None,
        "What the values are. linear: sensor data (camera RAW, sensor dumps); levels, white balance, colour "
        "matrix and the output curve apply. srgb: a display-referred mosaic sampled from an sRGB image (the "
        "MIPI HybridEVS challenge files, demosaic benchmark mosaics); the output stays in sRGB. Default: "
        "srgb for MIPI .bin files (size header), else linear; pass srgb for a .npy/PNG/TIFF mosaic made "
        "from an ordinary photo.",
        panel=RAW,
    )
    tta: bool = option(
        False,
        "Bayer mosaics: average 8 flips and rotations (each its own CFA phase): a little sharper, 8x slower.",
        flag="--tta",
    )
    output_space: str = option("srgb", "srgb or linear (an sRGB input's result decoded to linear light).")
    output_depth: int = option(16, "Bits per output sample: 16 or 8.")
    frame: RawFrame | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UsageError(f"--method must be one of {', '.join(METHODS)}, got '{self.method}'")
        from msimg.ops import cfa

        if self.pattern is not None and self.pattern not in cfa.PATTERNS:
            raise UsageError(f"--pattern must be one of {', '.join(cfa.PATTERNS)}, got '{self.pattern}'")
        if self.output_space not in SPACES:
            raise UsageError(f"--output-space must be srgb or linear, got '{self.output_space}'")
        if self.input_space is not None and self.input_space not in INPUT_SPACES:
            raise UsageError(f"--input-space must be linear or srgb, got '{self.input_space}'")
        if self.mask_mode not in MASK_MODES:
            raise UsageError(f"--mask-mode must be replace or add, got '{self.mask_mode}'")
        if self.input_space == "srgb" and self.wb is not None:
            raise UsageError(f"{WB_ON_SRGB}; drop --wb")
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
                "--input-space": self.input_space,
                "--mask-mode": None if self.mask_mode == "replace" else self.mask_mode,
                "--no-defects": None if self.defects else True,
                "--tta": self.tta or None,
            }
            given = [name for name, value in ignored.items() if value is not None]
            if given:
                raise UsageError(f"--method libraw takes everything from the file; drop {', '.join(given)}")

    def layout(self) -> RawLayout:
        from msimg.io.raw import RawLayout

        return RawLayout(self.width, self.height, self.bit_depth, self.packed)
