"""Demosaic: a RAW mosaic (Quad-Bayer with event-pixel holes, Quad-Bayer, or Bayer) -> RGB.

The reader keeps the mosaic as stored (integers of the file's bit depth) and what the file says about it
(pattern, black and white levels, white balance, colour matrix); `prepare` puts those facts beside the
user's options, where the user's own values win; a layout no file names is read from the values
(`cfa.detect`). `plan` turns them into a per-site gain and offset, so every band reaches the model as
levelled values with the pattern's site channels (`msimg.ops.cfa.sites`) and the input space. Linear sensor
data is white-balanced on the way in, and `finish` applies the colour matrix and the output transfer curve
to the model's linear RGB; a display-referred (sRGB) mosaic is already balanced and encoded, and the model
answers in sRGB. Tiles start on multiples of the pattern period, so they stay in phase.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np
import torch

from msimg.engine.task import Plan, Restored, Run, Task
from msimg.errors import ImageReadError, UsageError
from msimg.io.image import ImageMeta
from msimg.io.raw import RAW_SUFFIXES
from msimg.ops import cfa
from msimg.ops.colour import srgb_decode, srgb_encode
from msimg.tasks.demosaic.options import (
    HELP,
    INPUT_SPACES,
    MAX_MASK_PERIOD,
    METHODS,
    SUMMARY,
    WB_ON_SRGB,
    DemosaicOptions,
)
from msimg.tasks.demosaic.reading import read


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
    raw: torch.Tensor, gain: torch.Tensor, offset: torch.Tensor, sites: torch.Tensor, space: str
) -> torch.Tensor:
    """(N, 1, h, w) stored values / full scale, per-site (4, 4) gain and offset, (N, 4, h, w) sites, the
    input space -> (N, 6, h, w): the levelled mosaic (white-balanced when linear; 0 at holes), the sites,
    and the space as a constant channel (0 linear, 1 srgb). Shared with training."""
    h, w = raw.shape[2:]
    levelled = (raw * cfa.repeat(gain, h, w) - cfa.repeat(offset, h, w)) * sites[:, 3:4]
    flag = torch.full_like(levelled, float(INPUT_SPACES.index(space)))
    return torch.cat([levelled, sites, flag], dim=1)


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


def _pattern(mosaic: np.ndarray, options: DemosaicOptions) -> tuple[str, str]:
    """The layout and where it came from: the option, the file, or the values (`cfa.detect`). Values
    that do not say it clearly stop this file with a usage error (exit 2) naming what was seen."""
    if options.pattern is not None:
        return options.pattern, "option"
    if options.frame is not None and options.frame.pattern is not None:
        return options.frame.pattern, "file"
    found = cfa.detect(mosaic)
    if found.pattern is None:
        raise UsageError(f"cannot tell the CFA layout ({found.evidence}); give --pattern")
    return found.pattern, f"detected: {found.evidence}"


def _holes(pattern: str, height: int, width: int, options: DemosaicOptions) -> tuple[np.ndarray | None, str]:
    """The (height, width) hole map when a mask is given (None: the pattern's own), and its description."""
    own = cfa.holes(pattern)
    if options.mask is None:
        return None, f"{int(own.sum())} of 16 sites (the pattern's)" if own.any() else "none"
    mask = load_mask(Path(options.mask))
    mh, mw = mask.shape
    if (mh, mw) != (height, width):
        if mh > MAX_MASK_PERIOD or mw > MAX_MASK_PERIOD:
            raise UsageError(
                f"--mask is {mw}x{mh}; it must be one period of the layout (at most {MAX_MASK_PERIOD}x"
                f"{MAX_MASK_PERIOD}) or the frame's {width}x{height}"
            )
        mask = cfa.repeat(mask, height, width)
    if options.mask_mode == "add":
        mask = mask | cfa.repeat(own, height, width)
    return mask, f"{mask.mean():.2%} of pixels (--mask, {options.mask_mode})"


def plan(colour: np.ndarray, options: DemosaicOptions) -> tuple[Plan, dict[str, str] | None]:
    """The pass over the mosaic, and what was found about it (None: LibRaw developed it)."""
    if options.method == "libraw":
        return _libraw_plan(colour, options), None
    if colour.shape[2] != 1:
        raise ImageReadError("demosaic takes a one-channel mosaic, got a colour image")
    frame = options.frame
    height, width = colour.shape[:2]
    pattern, pattern_from = _pattern(colour[..., 0], options)
    space = options.input_space or (frame.space if frame is not None else None) or "linear"
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
    if space == "srgb" and options.wb is not None:
        raise UsageError(
            f"{WB_ON_SRGB}, as MIPI HybridEVS files are; drop --wb, or pass --input-space linear if its "
            "values are sensor data"
        )
    # a display-referred mosaic is balanced and encoded already: only its levels are undone
    wb = (options.wb or (frame.wb if frame is not None else None)) if space == "linear" else None
    site_wb = np.asarray(wb or (1.0, 1.0, 1.0), dtype=np.float64)[cfa.layout(pattern)]
    gain = torch.from_numpy(full_scale * site_wb / (white - black)).float()
    offset = torch.from_numpy(black * site_wb / (white - black)).float()

    if options.tta and not pattern.startswith("bayer"):
        # a flip or quarter turn of a Quad-Bayer window starts it out of phase, which the networks never saw
        raise UsageError(f"--tta averages flips of Bayer mosaics only; this one is {pattern}: drop --tta")
    missing, holes_found = _holes(pattern, height, width, options)
    if options.defects:
        floor = cfa.repeat(black.astype(np.float32), height, width)
        levelled = (colour[..., 0].astype(np.float32) - floor) / (np.float32(white) - floor)
        defects = cfa.isolated_extremes(levelled, pattern, missing, site_wb if space == "linear" else None)
        if defects.any():
            own = cfa.repeat(cfa.holes(pattern), height, width) if missing is None else missing
            missing = own | defects
            count = int(defects.sum())
            holes_found += f", and {count} dead or hot pixel{'s' if count > 1 else ''} found"
    extra = None if missing is None else torch.from_numpy(missing)[None, None]

    def model_input_of(rgb: torch.Tensor, holes: torch.Tensor | None) -> torch.Tensor:
        h, w = rgb.shape[2:]
        sites = cfa.sites(pattern, h, w, None if holes is None else holes[0, 0].numpy())[None]
        return model_input(rgb[:, :1], gain, offset, sites, space)

    matrix = None
    if space == "linear" and frame is not None and frame.camera_to_srgb is not None:
        matrix = torch.from_numpy(frame.camera_to_srgb)

    def finish(y: torch.Tensor) -> torch.Tensor:
        if space == "srgb":  # the model answers in its input's space
            y = y.clamp(0, 1)
            return y if options.output_space == "srgb" else srgb_decode(y)
        if matrix is not None:
            y = torch.einsum("ij,njhw->nihw", matrix.to(y), y)
        return encode(y, options.output_space)

    found = {"pattern": pattern, "pattern_from": pattern_from, "input_space": space, "holes": holes_found}
    if pattern_from.startswith("detected"):
        found["note"] = f"{pattern} {pattern_from}; --pattern overrides"
    return Plan(
        model_input=model_input_of,
        extra=extra,
        channels=3,
        dtype=np.dtype(np.uint16 if options.output_depth == 16 else np.uint8),
        finish=finish,
        ensemble=options.tta,
    ), found


def restore(run: Run, options: DemosaicOptions) -> Restored:
    pass_, found = plan(run.colour, options)
    if found is not None:  # which network the frame's layout goes to
        route = run.route(pass_)
        if route is not None:
            found["network"] = route
    return Restored(run.stream(pass_, run.progress), found=found)


TASK = Task(
    name="demosaic",
    summary=SUMMARY,
    help=HELP,
    default_model=METHODS["net"],
    options_type=DemosaicOptions,
    restore=restore,
    model_for=lambda options: METHODS[options.method],
    read=read,
    suffixes=RAW_SUFFIXES,
    prepare=prepare,
    result_kind=lambda options, header: (np.dtype(np.uint16 if options.output_depth == 16 else np.uint8), 3),
    depth_option="--output-depth 8",
    takes_graphs=False,
)
