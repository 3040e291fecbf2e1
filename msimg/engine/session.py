"""A task bound to a loaded model and tile settings: what turns one image's pixels into the result."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from msimg.engine.device import auto_tile, load_model, resolve_device
from msimg.engine.options import EngineOptions
from msimg.engine.runner import Stream, TileSettings, reflect_index, run_with_backoff, tensor_stream
from msimg.engine.survey import survey, with_constants
from msimg.errors import UsageError
from msimg.io.convert import from_float, to_float
from msimg.io.image import Image, ImageMeta
from msimg.io.read import read_image
from msimg.models.descriptor import LoadedModel
from msimg.models.load import resolve_spec
from msimg.tasks import get_task
from msimg.tasks.base import Plan, Task, to_pixels, to_tensor


@dataclass(frozen=True)
class Session:
    task: Task
    model: LoadedModel
    tiles: TileSettings
    tile: int  # starting tile size (0 = whole image); may shrink per image on out-of-memory
    options: Any  # the task's options dataclass

    @property
    def device(self) -> str:
        return str(self.model.device)

    def read(self, path: Path, max_pixels: int) -> Image:
        """Decode one input file the way this task reads its inputs."""
        if self.task.read is not None:
            return self.task.read(path, self.options, max_pixels)
        return read_image(path, max_pixels)

    def restore_image(
        self, image: Image, progress: Callable[[float], None] | None = None
    ) -> tuple[Image, int]:
        """A decoded file -> the result to write, and the tile used. A task that describes its result as
        data (segment's region table) leaves it in `meta.extra["document"]`, for the JSON writer; what the
        task found in the image (deblur's kernel) goes to `meta.extra["found"]`, for the `--json` line."""
        pixels, tile, plan = self._run(image.pixels, progress, image.meta)
        extra = dict(image.meta.extra)
        if plan.document is not None:
            extra["document"] = plan.document(pixels)
        if plan.found is not None:
            extra["found"] = plan.found
        return Image(pixels, dataclasses.replace(image.meta, extra=extra)), tile

    def restore(
        self,
        pixels: np.ndarray,
        progress: Callable[[float], None] | None = None,
        meta: ImageMeta | None = None,
    ) -> tuple[np.ndarray, int]:
        """(H, W, C) pixels of any supported dtype -> result pixels of the same dtype (unless the task's plan
        says otherwise); and the tile used. `meta` is what the reader found in the file.

        The image is streamed through the model in bands of rows: only the decoded input, the output and
        one band in float are in memory. The tile shrinks for this image only if it runs out of memory;
        `progress` gets the fraction done.
        """
        pixels, tile, _ = self._run(pixels, progress, meta)
        return pixels, tile

    def _run(
        self, pixels: np.ndarray, progress: Callable[[float], None] | None, meta: ImageMeta | None
    ) -> tuple[np.ndarray, int, Plan]:
        h, w, channels = pixels.shape
        colour = pixels[..., : 1 if channels in (1, 2) else 3]
        options = self.options
        if self.task.prepare is not None and meta is not None:
            options = self.task.prepare(options, meta)
        plan = self.task.plan(colour, options)
        tile = self.tile
        if plan.strength == 0 and plan.iterate is None:  # the input, as it is: no model to run
            if progress is not None:
                progress(1.0)
            return pixels.copy(), tile, plan
        constants = survey(self.model, colour)
        if plan.iterate is not None:
            plan, tile, progress = self._iterate(plan, h, w, tile, constants, progress)
        desc = self.model.descriptor
        s = desc.scale
        out_colour = plan.channels or colour.shape[2]
        dtype = plan.dtype or pixels.dtype
        out = np.empty((h * s, w * s, out_colour + channels - colour.shape[2]), dtype=dtype)
        hp, wp = desc.size.padded(h), desc.size.padded(w)
        rows = reflect_index(h, hp, desc.period).numpy()  # once per image
        cols = reflect_index(w, wp, desc.period).numpy()

        def read(r0: int, r1: int) -> torch.Tensor:
            rgb = to_tensor(to_float(colour[rows[r0:r1]][:, cols])[0])
            extra = None if plan.extra is None else plan.extra[..., rows[r0:r1], :][..., cols]
            return with_constants(plan.model_input(rgb, extra), constants)

        def write(o0: int, o1: int, y: torch.Tensor) -> None:
            o1 = min(o1, h * s)
            if o0 >= o1:
                return
            y = y[..., : o1 - o0, : w * s]
            if plan.strength < 1:
                y = torch.lerp(to_tensor(to_float(colour[o0:o1])[0]), y, plan.strength)
            if plan.finish is not None:
                y = plan.finish(y)
            out[o0:o1, :, :out_colour] = from_float(to_pixels(y, out_colour), None, dtype)

        stream = Stream(hp, wp, read, write, plan.ensemble)
        used = run_with_backoff(self.model, stream, self.tiles, tile, progress)
        if channels in (2, 4):
            alpha = np.ascontiguousarray(pixels[..., -1])
            if s != 1:  # bicubic: sharper edges than a wider kernel, and no ringing to speak of
                alpha = cv2.resize(alpha, (w * s, h * s), interpolation=cv2.INTER_CUBIC)
            out[..., -1] = np.clip(alpha, 0, 1) if alpha.dtype == np.float32 else alpha
        if plan.size is not None and plan.size != (w * s, h * s):
            out = _resize(out, plan.size).reshape(plan.size[1], plan.size[0], channels)
        if plan.finalize is not None:
            out = plan.finalize(out)
        return out, used, plan

    def _iterate(
        self,
        plan: Plan,
        h: int,
        w: int,
        tile: int,
        constants: torch.Tensor | None,
        progress: Callable[[float], None] | None,
    ) -> tuple[Plan, int, Callable[[float], None] | None]:
        """Run all passes of `plan.iterate` but the last, which becomes an ordinary plan for the caller to
        stream; returns it, the tile that fitted, and the progress callback for the last pass."""
        passes, step = plan.iterate.passes, plan.iterate.step

        def part(i: int) -> Callable[[float], None] | None:
            return None if progress is None else lambda f: progress((i + f) / passes)

        previous = None
        for i in range(passes - 1):
            stream, out = tensor_stream(self.model, with_constants(step(i, previous), constants))
            tile = run_with_backoff(self.model, stream, self.tiles, tile, part(i))
            previous = out[..., :h, :w]
        last = dataclasses.replace(plan, model_input=_given, extra=step(passes - 1, previous), iterate=None)
        return last, tile, part(passes - 1)


def _given(rgb: torch.Tensor, extra: torch.Tensor | None) -> torch.Tensor:
    """The model input a plan computed whole: the rows of `extra`."""
    assert extra is not None
    return extra


def _resize(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area averaging to shrink, Lanczos to enlarge; integers saturate, floats keep their range."""
    shrink = size[0] < pixels.shape[1]
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LANCZOS4)


def open_session(task_name: str, engine: EngineOptions, task_options: Any = None) -> Session:
    """Resolve the task, its options, the device and the model once, before any file is touched."""
    task = get_task(task_name)
    options = task_options if task_options is not None else task.options_type()
    if not isinstance(options, task.options_type):
        raise UsageError(f"{task_name} takes {task.options_type.__name__}, got {type(options).__name__}")
    device = resolve_device(engine.device)
    spec = resolve_spec(task.name, engine.model, task.model_name(options))
    model = load_model(spec, device, engine.precision)
    tiles = TileSettings(engine.tile_overlap, engine.batch)
    if engine.tile is None:
        tile = auto_tile(model.descriptor, device, model.dtype, engine.batch)
    else:
        tile = engine.tile
    return Session(task, model, tiles, tile, options)
