"""A task bound to a loaded model and tile settings: what turns one image's pixels into the result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch

from msimg.engine.descriptor import LoadedModel
from msimg.engine.device import auto_tile, resolve_device
from msimg.engine.options import EngineOptions
from msimg.engine.runner import TileSettings, run_with_backoff
from msimg.errors import UsageError
from msimg.io.convert import from_float, to_float
from msimg.models.load import load_model, resolve_spec
from msimg.tasks import get_task
from msimg.tasks.base import Task


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

    def restore(
        self, pixels: np.ndarray, progress: Callable[[float], None] | None = None
    ) -> tuple[np.ndarray, int]:
        """(H, W, C) pixels of any supported dtype -> result pixels of the same dtype; and the tile used.

        The tile shrinks for this image only if it runs out of memory; `progress` gets the fraction done.
        """
        color, alpha = to_float(pixels)
        used = self.tile

        def infer(x: torch.Tensor) -> torch.Tensor:
            nonlocal used
            y, used = run_with_backoff(self.model, x, self.tiles, used, progress)
            return y

        out = self.task.process(color, infer, self.options)
        if alpha is not None and alpha.shape != out.shape[:2]:
            alpha = np.clip(cv2.resize(alpha, out.shape[1::-1], interpolation=cv2.INTER_CUBIC), 0, 1)
        return from_float(out, alpha, pixels.dtype), used


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
