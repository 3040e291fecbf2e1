"""The contract a task plugs into the engine with: a `Task` (its options, model choice, how one image is
restored from the engine's primitives)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from msimg.io.image import Image, ImageMeta
from msimg.io.probe import Header

if TYPE_CHECKING:
    import torch

SAMPLE_PIXELS = 4_000_000
PREVIEW_PIXELS = 1_000_000


def _rgb_only(rgb: torch.Tensor, extra: torch.Tensor | None) -> torch.Tensor:
    return rgb


Progress = Callable[[float], None]


@dataclass(frozen=True)
class Plan:
    """How one streamed pass of the model sees each band of rows of an image, and what becomes of it; the
    engine streams the image band by band, so no whole-image float copy is needed.

    `model_input(rgb, extra)` turns a band, (1, 3, h, W) float32 in [0, 1], plus the same rows of `extra`
    (a whole-image (1, C, H, W) tensor the task computed up front, or None) into the model input.
    `strength` < 1 blends the result with the input (models of scale 1); 0 keeps the input and runs
    nothing. `ensemble` averages the model over the 8 flips and rotations of every tile.
    A pass whose output differs in kind from its input (demosaic: a one-channel mosaic in, RGB out) sets
    `channels` (output colour channels) and `dtype` (output sample type), and `finish(y)` maps each band of
    model output, (1, C_out, h, W) float32, to output colour values in [0, 1] (per pixel, so tile-safe).
    """

    model_input: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor] = _rgb_only
    extra: torch.Tensor | None = None
    strength: float = 1.0
    ensemble: bool = False
    channels: int | None = None
    dtype: np.dtype | None = None
    finish: Callable[[torch.Tensor], torch.Tensor] | None = None


class Run(Protocol):
    """One image in the engine's hands: what a task's `restore` builds its result from.

    `stream(plan, progress)` is one tiled pass of the model over the image, band by band, returning the
    whole output (input channels beyond colour, i.e. alpha, carried over); `whole(x, progress)` is one
    tiled pass over a whole-image model input, (1, C_in, H, W), returning (1, C_out, H', W') float32 (the
    passes of an iterative method). `progress` reports the fraction of the image done. `constants` are the
    model's global values for this image, (1, K) float32 (dehaze: the air light; `engine.survey`), or None.
    `route(plan)` says which network of a composite model runs on this image's windows, or None.
    """

    pixels: np.ndarray
    colour: np.ndarray
    progress: Progress | None

    @property
    def constants(self) -> torch.Tensor | None: ...

    def stream(self, plan: Plan, progress: Progress | None) -> np.ndarray: ...

    def whole(self, x: torch.Tensor, progress: Progress | None) -> torch.Tensor: ...

    def route(self, plan: Plan) -> str | None: ...


@dataclass(frozen=True)
class Restored:
    """A task's result for one image: the pixels to write, what it found in the image and acted on (for
    the `--json` line) and, for a result that is data (segment's region table), its document."""

    pixels: np.ndarray
    found: dict[str, Any] | None = None
    document: dict[str, Any] | None = None


def part(progress: Progress | None, index: int, count: int) -> Progress | None:
    """The progress of pass `index` of `count` equal passes, as a share of the whole."""
    return None if progress is None else lambda f: progress((index + f) / count)


def streamed(plan: Callable[[np.ndarray, Any], Plan]) -> Callable[[Run, Any], Restored]:
    """The restore of a task that is one streamed pass: `plan(colour, options)`, then the pass."""

    def restore(run: Run, options: Any) -> Restored:
        return Restored(run.stream(plan(run.colour, options), run.progress))

    return restore


@dataclass(frozen=True)
class Task:
    """A task is data plus one function.

    `restore(run, options)` makes one image's result from the engine's primitives (`Run`): one streamed
    pass (`streamed(plan)`, where `plan` looks at the image's colour channels, (H, W, 1|3) as decoded, and
    never touches files or devices), several passes, or a stage over the whole image after them.
    `options_type` is the task's options dataclass (its fields' metadata carry the command-line help, see
    `msimg.tasks.fields`); `help` the command's help.

    A task whose inputs are not ordinary images (demosaic's RAW files) brings its own `read(path, options,
    max_pixels) -> Image` and the file `suffixes` a folder walk should pick up; `prepare(options, meta)`
    completes the user's options from what the reader found in the file (per image).
    `file_format(options)` fixes the output format when the options decide it (segment's json);
    `default_format` replaces "same" when the input's own format would be wrong (dejpeg: not JPEG again).
    `result_kind(options, header)` is the result's sample type and channels when they are not the input's
    (demosaic: RGB at `--output-depth`), so a format that cannot hold them is refused before any work;
    `depth_option` is the option that gives 8-bit results, for that message. `takes_graphs` is False
    for a task whose network reads more than the image's colours (a mosaic and its sites, a segmentation's
    boundaries), where a user's image-to-image ONNX graph cannot stand in.
    """

    name: str
    summary: str
    help: str
    default_model: str
    options_type: type
    restore: Callable[[Run, Any], Restored]
    model_for: Callable[[Any], str] | None = None  # when the options pick the model (e.g. the scale)
    file_format: Callable[[Any], str] | None = None
    default_format: str | None = None
    read: Callable[[Path, Any, int], Image] | None = None
    suffixes: frozenset[str] = frozenset()
    prepare: Callable[[Any, ImageMeta], Any] | None = None
    result_kind: Callable[[Any, Header | None], tuple[np.dtype, int]] | None = None
    depth_option: str | None = None
    takes_graphs: bool = True  # a user's RGB-to-RGB ONNX graph may stand in for its network

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
