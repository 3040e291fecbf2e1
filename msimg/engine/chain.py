"""Stages in one pass (`msimg run`): each image goes through every stage's session in turn, in memory.

Between stages the image is float32 in [0, 1], never rounded to the 8 or 16 bits of a file, and only the
last stage's result is written: in the sample type the first stage's result has (an 8-bit photo stays
8-bit, a mosaic becomes demosaic's RGB at its `--output-depth`), so a chain gives what the commands run
one after another with 16-bit files between them give. A chain is a `Restorer` like a single session,
so the batch (`engine.pipeline`) and the records (`engine.provenance`) run it unchanged.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from msimg.engine.options import EngineOptions
from msimg.engine.session import Session, open_session
from msimg.engine.task import Progress, Task, part
from msimg.errors import MsimgError, UsageError
from msimg.io.convert import from_float, to_float
from msimg.io.image import Image


def chain_task(stages: Sequence[tuple[Task, Any]]) -> Task:
    """The task a chain of one or more (task, options) stages is to the batch, checked before any model
    loads: named after its stages, it reads files as the first stage does (its reader, suffixes and
    options), its result has the first stage's kind (the option for 8 bits named as the chain's command
    line names it) and the last stage's format. What restores is the `Chain`, not this task's `restore`.

    A stage that reads files of its own (demosaic's RAW mosaics) can only be first, and one whose options
    fix the output's format (segment's label maps, overlays and tables) only last: neither an image
    another stage hands on nor a result that is no image to restore further fits elsewhere.
    """
    name = ",".join(task.name for task, _ in stages)
    for i, (task, _) in enumerate(stages):
        if task.suffixes and i > 0:
            raise UsageError(
                f"{task.name} reads files of its own, not images, so it must be the first stage ({name})"
            )
        if task.file_format is not None and i < len(stages) - 1:
            raise UsageError(
                f"{task.name} makes no image for another stage to restore, so it must be the last stage "
                f"({name})"
            )
    first, (last, last_options) = stages[0][0], stages[-1]
    fixed = last.file_format
    return dataclasses.replace(
        first,
        name=name,
        file_format=None if fixed is None else lambda _options: fixed(last_options),
        default_format=last.default_format,
        depth_option=first.depth_option and f"--{first.name}.{first.depth_option.removeprefix('--')}",
    )


def _tightest(tiles: Iterable[int]) -> int:
    """The smallest tile of the stages; 0 (the whole image) only when every stage ran whole."""
    return min((tile for tile in tiles if tile), default=0)


def _as_float(pixels: np.ndarray) -> np.ndarray:
    """A stage's result -> what the next stage gets: float32 in [0, 1], of any sample type it came in."""
    if pixels.dtype != np.float32:
        return from_float(*to_float(pixels), np.dtype(np.float32))
    return np.clip(pixels, 0, 1, out=pixels)


def _failed(stage: str, err: Exception) -> MsimgError:
    """A stage's error, naming the stage; a usage error stays one (the file needs other options)."""
    if isinstance(err, MsimgError):
        return type(err)(f"{stage}: {err}")
    return MsimgError(f"{stage}: {type(err).__name__}: {err}")


@dataclass(frozen=True)
class Chain:
    """Sessions run one after another on each image (`chain_task` is `task`): a `Restorer`."""

    task: Task
    stages: tuple[Session, ...]

    @property
    def options(self) -> Any:
        """The first stage's options, which read the files."""
        return self.stages[0].options

    @property
    def tile(self) -> int:
        return _tightest(stage.tile for stage in self.stages)

    @property
    def device(self) -> str:
        return self.stages[0].device

    @property
    def backend(self) -> str:
        """What ran the networks, each backend said once (the stages may differ)."""
        return ",".join(dict.fromkeys(stage.backend for stage in self.stages))

    def restore_image(self, image: Image, progress: Progress | None = None) -> tuple[Image, int]:
        """A decoded file -> the last stage's result, and the tightest tile used; each stage gets its
        share of `progress`. What each stage found goes to `meta.extra["found"]` as `{"stages": [{"task",
        "seconds", "found"}, ...]}`, with their notes (a detected layout) joined. A stage's failure names
        the stage; nothing of the image is kept."""
        first = self.stages[0]
        kind = image.pixels.dtype
        if first.task.result_kind is not None:
            kind = first.task.result_kind(first.options, None)[0]
        said: list[dict[str, Any]] = []
        tiles = []
        for i, stage in enumerate(self.stages):
            start = time.perf_counter()
            given = {k: v for k, v in image.meta.extra.items() if k != "found"}  # the last stage's alone
            image = Image(image.pixels, dataclasses.replace(image.meta, extra=given))
            try:
                image, tile = stage.restore_image(image, part(progress, i, len(self.stages)), floats=True)
            except Exception as err:  # the file fails, in the stage's words; the batch goes on
                raise _failed(stage.task.name, err) from err
            seconds = round(time.perf_counter() - start, 3)
            said.append({"task": stage.task.name, "seconds": seconds, "found": image.meta.extra.get("found")})
            tiles.append(tile)
            if i < len(self.stages) - 1:
                image = Image(_as_float(image.pixels), image.meta)
        pixels = image.pixels
        if pixels.dtype == np.float32 and kind != np.float32:  # a task's own type (labels) stays
            pixels = from_float(*to_float(pixels), kind)
        found: dict[str, Any] = {"stages": said}
        notes = [f"{s['task']}: {s['found']['note']}" for s in said if (s["found"] or {}).get("note")]
        if notes:
            found["note"] = "; ".join(notes)
        extra = {**image.meta.extra, "found": found}
        return Image(pixels, dataclasses.replace(image.meta, extra=extra)), _tightest(tiles)


def open_chain(stages: Sequence[tuple[Task, Any, EngineOptions]]) -> Chain:
    """Check the stages (`chain_task`), then load each stage's model once, with its engine options."""
    task = chain_task([(stage, options) for stage, options, _ in stages])
    return Chain(task, tuple(open_session(stage, engine, options) for stage, options, engine in stages))
