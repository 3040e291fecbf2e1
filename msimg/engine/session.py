"""A task bound to a loaded model and tile settings: what turns one image's pixels into the result."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np
import torch

from msimg.engine.device import auto_tile, load_model, resolve_device
from msimg.engine.options import EngineOptions
from msimg.engine.runner import Stream, TileSettings, reflect_index, run_with_backoff, tensor_stream
from msimg.engine.survey import survey
from msimg.engine.task import Plan, Progress, Restored, Task, to_pixels, to_tensor
from msimg.errors import UsageError
from msimg.io.convert import from_float, to_float
from msimg.io.image import Image, ImageMeta
from msimg.models.descriptor import LoadedModel
from msimg.models.load import resolve_spec
from msimg.models.survey import with_constants
from msimg.models.weights import ModelSpec


class Restorer(Protocol):
    """What a batch runs (`engine.pipeline`) and records (`engine.provenance`): one `Session`, or a chain
    of them (`engine.chain`) that takes each image through every stage in turn. `task` and `options` read
    the files; `stages` are the sessions whose recipes make the outputs."""

    @property
    def task(self) -> Task: ...
    @property
    def options(self) -> Any: ...
    @property
    def tile(self) -> int: ...
    @property
    def device(self) -> str: ...
    @property
    def backend(self) -> str: ...
    @property
    def stages(self) -> tuple[Session, ...]: ...

    def restore_image(self, image: Image, progress: Progress | None = None) -> tuple[Image, int]: ...


@dataclass(frozen=True)
class Session:
    task: Task
    model: LoadedModel
    tiles: TileSettings
    tile: int  # starting tile size (0 = whole image); may shrink per image on out-of-memory
    options: Any  # the task's options dataclass
    spec: ModelSpec | None = None  # what the model was built from (its weights' sha256 for the records)

    @property
    def device(self) -> str:
        return str(self.model.device)

    @property
    def backend(self) -> str:
        return self.model.backend

    @property
    def stages(self) -> tuple[Session, ...]:
        """One stage: this session (`Restorer`)."""
        return (self,)

    def restore_image(
        self, image: Image, progress: Progress | None = None, *, floats: bool = False
    ) -> tuple[Image, int]:
        """A decoded file -> the result to write, and the tile used. A task that describes its result as
        data (segment's region table) leaves it in `meta.extra["document"]`, for the JSON writer; what the
        task found in the image (deblur's kernel) goes to `meta.extra["found"]`, for the `--json` line.
        `floats` asks for the model's passes as float32 rather than rounded to the task's sample type: a
        chain hands them to its next stage (`engine.chain`)."""
        result, tile = self._run(image.pixels, progress, image.meta, floats)
        extra = dict(image.meta.extra)
        if result.document is not None:
            extra["document"] = result.document
        if result.found is not None:
            extra["found"] = result.found
        return Image(result.pixels, dataclasses.replace(image.meta, extra=extra)), tile

    def restore(
        self, pixels: np.ndarray, progress: Progress | None = None, meta: ImageMeta | None = None
    ) -> tuple[np.ndarray, int]:
        """(H, W, C) pixels of any supported dtype -> result pixels of the same dtype (unless the task says
        otherwise); and the tile used. `meta` is what the reader found in the file.

        The image is streamed through the model in bands of rows: only the decoded input, the output and
        one band in float are in memory. The tile shrinks for this image only if it runs out of memory;
        `progress` gets the fraction done.
        """
        result, tile = self._run(pixels, progress, meta)
        return result.pixels, tile

    def _run(
        self, pixels: np.ndarray, progress: Progress | None, meta: ImageMeta | None, floats: bool = False
    ) -> tuple[Restored, int]:
        options = self.options
        if self.task.prepare is not None and meta is not None:
            options = self.task.prepare(options, meta)
        run = _ImageRun(self, pixels, progress, floats)
        return self.task.restore(run, options), run.tile


ROUTE_WINDOW = 64  # whole periods of every mosaic layout a composite model tells apart (8)


class _ImageRun:
    """The `Run` a task's restore gets: one image, the session's model, and the tile that fits so far."""

    def __init__(self, session: Session, pixels: np.ndarray, progress: Progress | None, floats: bool) -> None:
        self.session, self.pixels, self.progress, self.floats = session, pixels, progress, floats
        self.colour = pixels[..., : 1 if pixels.shape[2] in (1, 2) else 3]
        self.tile = session.tile
        self._constants: tuple[torch.Tensor | None] | None = None

    @property
    def constants(self) -> torch.Tensor | None:
        """The model's global values for this image, surveyed once (`engine.survey`)."""
        if self._constants is None:
            self._constants = (survey(self.session.model, self.colour),)
        return self._constants[0]

    def whole(self, x: torch.Tensor, progress: Progress | None) -> torch.Tensor:
        stream, out = tensor_stream(self.session.model, with_constants(x, self.constants))
        self.tile = run_with_backoff(self.session.model, stream, self.session.tiles, self.tile, progress)
        return out[
            ...,
            : x.shape[2] * self.session.model.descriptor.scale,
            : x.shape[3] * self.session.model.descriptor.scale,
        ]

    def route(self, plan: Plan) -> str | None:
        """Which network of a composite model runs on this image: asked of its first window, padded in
        phase as a small image is, so it holds whole periods of a mosaic's layout."""
        desc = self.session.model.descriptor
        rows, cols = (reflect_index(n, ROUTE_WINDOW, desc.period).numpy() for n in self.colour.shape[:2])
        return self.session.model.route(self._input(plan, rows, cols).to(self.session.model.device))

    def _input(self, plan: Plan, rows: np.ndarray, cols: np.ndarray) -> torch.Tensor:
        """The model input of the image's `rows` and `cols`, as the plan builds it."""
        rgb = to_tensor(to_float(self.colour[rows][:, cols])[0])
        extra = None if plan.extra is None else plan.extra[..., rows, :][..., cols]
        return with_constants(plan.model_input(rgb, extra), self.constants)

    def stream(self, plan: Plan, progress: Progress | None) -> np.ndarray:
        pixels, colour = self.pixels, self.colour
        h, w, channels = pixels.shape
        if plan.strength == 0:  # the input, as it is: no model to run
            if progress is not None:
                progress(1.0)
            return pixels.copy()
        desc = self.session.model.descriptor
        s = desc.scale
        out_colour = plan.channels or colour.shape[2]
        dtype = np.dtype(np.float32) if self.floats else plan.dtype or pixels.dtype
        out = np.empty((h * s, w * s, out_colour + channels - colour.shape[2]), dtype=dtype)
        hp, wp = desc.size.padded(h), desc.size.padded(w)
        rows = reflect_index(h, hp, desc.period).numpy()  # once per image
        cols = reflect_index(w, wp, desc.period).numpy()

        def read(r0: int, r1: int) -> torch.Tensor:
            return self._input(plan, rows[r0:r1], cols)

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
        self.tile = run_with_backoff(self.session.model, stream, self.session.tiles, self.tile, progress)
        if channels in (2, 4):
            alpha = np.ascontiguousarray(pixels[..., -1])
            if s != 1:  # bicubic: sharper edges than a wider kernel, and no ringing to speak of
                alpha = cv2.resize(alpha, (w * s, h * s), interpolation=cv2.INTER_CUBIC)
            if alpha.dtype != dtype:  # a result of another sample type than the image's (`floats`)
                alpha = from_float(to_float(alpha[..., None])[0], None, dtype)[..., 0]
            out[..., -1] = np.clip(alpha, 0, 1) if alpha.dtype == np.float32 else alpha
        return out


def open_session(task: Task, engine: EngineOptions, task_options: Any = None) -> Session:
    """Resolve the task's options, the device and the model once, before any file is touched."""
    options = task_options if task_options is not None else task.options_type()
    if not isinstance(options, task.options_type):
        raise UsageError(f"{task.name} takes {task.options_type.__name__}, got {type(options).__name__}")
    device = resolve_device(engine.device)
    io = {"order": engine.model_order, "value_range": engine.model_range, "scale": engine.model_scale}
    spec = resolve_spec(task.name, engine.model, task.model_name(options), {**io, "runtime": engine.backend})
    if spec.architecture == "onnx" and not task.takes_graphs:
        raise UsageError(f"{task.name} feeds its network more than an image; an ONNX graph cannot stand in")
    model = load_model(spec, device, engine.precision, engine.backend)
    desc = model.descriptor
    tiles = TileSettings(engine.tile_overlap, engine.batch)
    tile = auto_tile(desc, device, model.dtype, engine.batch) if engine.tile is None else engine.tile
    if desc.size.maximum:  # a fixed-size graph: windows of its size at most, never the whole image
        core = desc.size.maximum - 2 * desc.context
        tile = min(tile or core, core)
        tiles = TileSettings(min(tiles.overlap, max(0, core - 1)), tiles.batch)
    return Session(task, model, tiles, tile, options, spec)
