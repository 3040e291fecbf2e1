"""The Task contract: what a task adds around the engine (model choice, a per-image plan)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from msimg.io.image import Image, ImageMeta

if TYPE_CHECKING:
    import torch

SAMPLE_PIXELS = 4_000_000
PREVIEW_PIXELS = 1_000_000


def _rgb_only(rgb: torch.Tensor, extra: torch.Tensor | None) -> torch.Tensor:
    return rgb


@dataclass(frozen=True)
class Iteration:
    """Plug-and-play restoration (deblur with a known kernel): the model runs `passes` times over the whole
    image, and `step(i, previous)` builds pass i's whole-image model input, (1, C_in, H, W), from the
    previous pass's output ((1, 3, H, W), None before the first). The step sees the whole image, as a
    Fourier-domain deconvolution must; each pass is tiled like any other."""

    passes: int
    step: Callable[[int, torch.Tensor | None], torch.Tensor]


@dataclass(frozen=True)
class Plan:
    """What a task decided about one image before the model runs; the engine then streams the image
    through the model band by band, so no whole-image float copy is needed.

    `model_input(rgb, extra)` turns a band of rows, (1, 3, h, W) float32 in [0, 1], plus the same rows of
    `extra` (a whole-image (1, C, H, W) tensor the task computed up front, or None) into the model input.
    `strength` < 1 blends the result with the input (models of scale 1); 0 keeps the input and runs
    nothing. `size` is the final (width, height) when the model's own scale is not the answer.
    `ensemble` averages the model over the 8 flips and rotations of every tile. Statistics of the whole
    image that a tile cannot see are computed in `plan` on a `preview` and carried by `model_input` to
    every band, or, when the model decides how (dehaze's air light), by the model's own global stage
    (`engine.survey`).

    A task whose output differs in kind from its input (demosaic: a one-channel mosaic in, RGB out) sets
    `channels` (output colour channels) and `dtype` (output sample type), and `finish(y)` maps each band of
    model output, (1, C_out, h, W) float32, to output colour values in [0, 1] (per pixel, so tile-safe).
    `finalize(out)` then works on the whole finished output (segment: regions from the boundary map), and
    `document(out)` describes the final result as data for a JSON output (segment's region table).
    `found` is what the task found in the image and acted on (deblur's kernel), for the `--json` line.
    `iterate` replaces `model_input` and `extra` with passes of the model over the whole image.
    """

    model_input: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor] = _rgb_only
    extra: torch.Tensor | None = None
    strength: float = 1.0
    size: tuple[int, int] | None = None
    ensemble: bool = False
    channels: int | None = None
    dtype: np.dtype | None = None
    finish: Callable[[torch.Tensor], torch.Tensor] | None = None
    finalize: Callable[[np.ndarray], np.ndarray] | None = None
    document: Callable[[np.ndarray], dict[str, Any]] | None = None
    found: dict[str, Any] | None = None
    iterate: Iteration | None = None


@dataclass(frozen=True)
class Task:
    """A task is data plus one pure function.

    `plan(colour, options)` looks at the image's colour channels ((H, W, 1|3) uint8, uint16 or float32, as
    decoded) and returns a `Plan`; it never touches files or devices.

    A task whose inputs are not ordinary images (demosaic's RAW files) brings its own `read(path, options,
    max_pixels) -> Image`, the file `suffixes` a folder walk should pick up, and `prepare(options, meta)`:
    the per-image options, i.e. the user's options completed from what the file records.
    """

    name: str
    summary: str
    default_model: str
    options_type: type
    plan: Callable[[np.ndarray, Any], Plan]
    model_for: Callable[[Any], str] | None = None  # when the options pick the model (e.g. the scale)
    file_format: Callable[[Any], str] | None = None  # when the options fix the output file's format
    read: Callable[[Path, Any, int], Image] | None = None
    suffixes: frozenset[str] = frozenset()
    prepare: Callable[[Any, ImageMeta], Any] | None = None

    def model_name(self, options: Any) -> str:
        """The shipped model these options run when the user names none."""
        return self.model_for(options) if self.model_for is not None else self.default_model


def to_tensor(colour: np.ndarray) -> torch.Tensor:
    """(H, W, 1|3) float32 -> (1, 3, H, W), a view: every model sees RGB, and a gray image is expanded
    to three channels without copying (a one-channel mosaic would otherwise be copied twice per band)."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(colour)).permute(2, 0, 1)[None].expand(-1, 3, -1, -1)


def to_pixels(y: torch.Tensor, channels: int) -> np.ndarray:
    """(1, 3, H, W) -> (H, W, channels); a gray input gets back the mean of the three."""
    out = y[0].numpy().transpose(1, 2, 0)
    return out.mean(axis=2, keepdims=True) if channels == 1 else out


def sample_rows(colour: np.ndarray, pixels: int = SAMPLE_PIXELS, band: int = 64) -> np.ndarray:
    """Bands of `band` rows spread evenly over the image, at most about `pixels` in all, as float32:
    image statistics from everywhere without a float copy of a huge image. Bands start on even rows."""
    from msimg.io.convert import to_float

    h, w = colour.shape[:2]
    count = max(1, pixels // (band * w))
    if h * w <= pixels or count * band >= h:
        return to_float(colour)[0]
    starts = np.linspace(0, h - band, count).astype(int) // 2 * 2
    return np.concatenate([to_float(colour[s : s + band])[0] for s in starts], axis=0)


def preview(colour: np.ndarray, pixels: int = PREVIEW_PIXELS) -> tuple[np.ndarray, float]:
    """A float32 copy of the whole image, area-averaged down to about `pixels`, and its scale factor
    (<= 1): for global statistics (atmospheric light, region merging) that a band or a tile cannot see,
    computed by a task's `plan` or a model's global stage (`engine.survey`)."""
    import cv2

    from msimg.io.convert import to_float

    h, w = colour.shape[:2]
    factor = min(1.0, (pixels / (h * w)) ** 0.5)
    if factor == 1.0:
        return to_float(colour)[0], 1.0
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    small = cv2.resize(colour, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], -1)
    return to_float(small)[0], factor
