"""bands of rows -> tiles -> batches -> model -> blended stitch -> rows written, with out-of-memory back-off.

The engine sees float tensors (N, C, H, W) one band of rows at a time; where they come from and go to
(files, conversions, a task's pre- and post-processing) is the `Stream`'s business.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from msimg.engine.tiling import Span, blend_weights, spans
from msimg.errors import ModelError
from msimg.models.descriptor import LoadedModel
from msimg.ops.dihedral import turn, unturn

MIN_TILE = 32


@dataclass(frozen=True)
class TileSettings:
    """How windows overlap beyond the model's context, and how many run at once."""

    overlap: int = 16
    batch: int = 1


def reflect_index(n: int, length: int, period: int = 1) -> torch.Tensor:
    """Indices 0..length-1 into an axis of `n`: the axis, then its reflection (without repeating the edge),
    or repetition of the last pixel where the axis is too short to reflect.

    With `period` > 1 (colour filter mosaics) every index past the end is moved to the nearest reflected
    pixel of the same phase, so padding never puts a red sample where the pattern expects green.
    """
    i = torch.arange(length)
    if length > n and length - n < n:
        j = 2 * (n - 1) - i
        if period > 1:
            j = j - (j - i) % period
            j = torch.where(j < 0, j % period, j)
        return torch.where(i < n, i, j.clamp(min=0))
    if period > 1 and n >= period:
        return torch.where(i < n, i, i - ((i - n) // period + 1) * period)
    return i.clamp(max=n - 1)


@dataclass(frozen=True)
class Stream:
    """One image as the engine sees it: read in bands of rows, written in bands of output rows.

    `height` and `width` are the padded input size (multiples of the model's `multiple_of`). `read(r0, r1)`
    gives input rows [r0, r1) as (N, C_in, r1 - r0, width) float32; `write(o0, o1, y)` takes finished
    output rows [o0, o1) as (N, C_out, o1 - o0, width * scale). Only a band of rows is ever in memory.
    `ensemble` averages the model over the 8 flips and rotations of every tile.
    """

    height: int
    width: int
    read: Callable[[int, int], torch.Tensor]
    write: Callable[[int, int, torch.Tensor], None]
    ensemble: bool = False


def _forward(model: LoadedModel, x: torch.Tensor) -> torch.Tensor:
    # non_blocking only on CUDA: on MPS a copy from unpinned memory freed before the stream syncs can
    # silently corrupt the data (pytorch#139550)
    cuda = model.device.type == "cuda"
    x = x.to(model.device, model.dtype, non_blocking=cuda).contiguous(memory_format=torch.channels_last)
    bf16 = model.autocast is not None and model.run is None  # another backend sets its own precision
    with torch.inference_mode(), torch.autocast(model.device.type, model.autocast, enabled=bf16):
        y = model(x)
    return y.to("cpu", torch.float32).contiguous()


def _forward_ensemble(model: LoadedModel, x: torch.Tensor) -> torch.Tensor:
    """The x8 self-ensemble (Lim et al. 2017, EDSR) on one batch of tiles: each transform undone."""
    total = None
    for k in range(4):
        for mirror in (False, True):
            y = unturn(_forward(model, turn(x, k, mirror)), k, mirror)
            total = y if total is None else total + y
    return total / 8


def _band(
    model: LoadedModel,
    x: torch.Tensor,
    cols: list[Span],
    wcols: list[np.ndarray],
    batch: int,
    ensemble: bool,
    progress: Callable[[float], None] | None = None,
) -> torch.Tensor:
    """Run one band of rows through the model, tile by tile across it; returns the band's blended output
    (before the row weights), full width. `progress` gets the fraction of the band's tiles done."""
    s, desc = model.descriptor.scale, model.descriptor
    forward = _forward_ensemble if ensemble else _forward
    out = torch.zeros((x.shape[0], desc.out_channels, x.shape[2] * s, cols[-1].stop * s), dtype=torch.float32)
    for b in range(0, len(cols), batch):
        group = cols[b : b + batch]
        ys = forward(model, torch.cat([x[..., c.start : c.stop] for c in group], 0)).split(x.shape[0], 0)
        for c, y, w in zip(group, ys, wcols[b : b + batch], strict=True):
            core = y[..., (c.core_start - c.start) * s : (c.core_stop - c.start) * s]
            out[..., c.core_start * s : c.core_stop * s] += core * torch.from_numpy(w)
        if progress is not None:
            progress(min(b + batch, len(cols)) / len(cols))
    return out


def run_stream(
    model: LoadedModel,
    stream: Stream,
    tile: int,
    overlap: int = 16,
    batch: int = 1,
    progress: Callable[[float], None] | None = None,
) -> None:
    """Run `model` over `stream` in bands of rows: each band's tiles are blended across the band, bands are
    blended where they overlap, and rows are written as soon as no later band touches them.

    tile 0 runs the whole image at once. The result does not depend on the tile size for a model whose
    receptive field is within its descriptor's context. `progress` gets the fraction done.
    """
    desc = model.descriptor
    s, mult = desc.scale, desc.size.multiple_of
    if tile == 0 or desc.tiling == "whole-image":
        rows, cols = [Span(0, stream.height, 0, stream.height)], [Span(0, stream.width, 0, stream.width)]
    else:
        shrink = not desc.size.maximum  # a fixed-size graph's windows stay its size
        rows = spans(stream.height, tile, desc.context, overlap, mult, shrink)
        cols = spans(stream.width, tile, desc.context, overlap, mult, shrink)
    wrows, wcols = blend_weights(rows, s), blend_weights(cols, s)
    pending, first = None, 0  # blended rows not yet written, and the output row they start at
    for i, r in enumerate(rows):
        x = stream.read(r.start, r.stop)
        if x.shape[1] != desc.in_channels:
            raise ModelError(f"model '{desc.name}' takes {desc.in_channels} channels, got {x.shape[1]}")
        # tiles advance the progress too: one band of a wide image can take minutes
        within = None if progress is None else lambda f, i=i: progress((i + f) / len(rows))
        y = _band(model, x, cols, wcols, batch, stream.ensemble, within)
        core = y[..., (r.core_start - r.start) * s : (r.core_stop - r.start) * s, :]
        core = core * torch.from_numpy(wrows[i])[:, None]
        if pending is None:
            pending, first = core, r.core_start * s
        else:
            grown = torch.zeros((*core.shape[:2], r.core_stop * s - first, core.shape[3]))
            grown[..., : pending.shape[2], :] = pending
            grown[..., r.core_start * s - first :, :] += core
            pending = grown
        done = rows[i + 1].core_start * s if i + 1 < len(rows) else stream.height * s
        if done > first:
            stream.write(first, done, pending[..., : done - first, :])
            pending, first = pending[..., done - first :, :], done


def run_tiled(
    model: LoadedModel,
    x: torch.Tensor,
    tile: int,
    overlap: int = 16,
    batch: int = 1,
    progress: Callable[[float], None] | None = None,
    ensemble: bool = False,
) -> torch.Tensor:
    """`run_stream` over an in-memory (N, C, H, W) float32 tensor; returns (N, C_out, H*scale, W*scale)."""
    stream, out = tensor_stream(model, x, ensemble)
    run_stream(model, stream, tile, overlap, batch, progress)
    return out[..., : x.shape[2] * model.descriptor.scale, : x.shape[3] * model.descriptor.scale]


def tensor_stream(model: LoadedModel, x: torch.Tensor, ensemble: bool = False) -> tuple[Stream, torch.Tensor]:
    """A stream reading the (padded) tensor `x` and writing into the returned output tensor."""
    desc = model.descriptor
    h, w = desc.size.padded(x.shape[2]), desc.size.padded(x.shape[3])
    rows, cols = reflect_index(x.shape[2], h, desc.period), reflect_index(x.shape[3], w, desc.period)
    out = torch.zeros((x.shape[0], desc.out_channels, h * desc.scale, w * desc.scale))

    def read(r0: int, r1: int) -> torch.Tensor:
        return x[..., rows[r0:r1], :][..., cols]

    def write(o0: int, o1: int, y: torch.Tensor) -> None:
        out[..., o0:o1, :] = y

    return Stream(h, w, read, write, ensemble), out


def is_out_of_memory(err: BaseException) -> bool:
    if isinstance(err, torch.OutOfMemoryError):
        return True
    text = str(err).lower()
    failed = ("out of memory", "can't allocate memory", "alloc_failed")  # the last: cuBLAS/cuDNN workspaces
    return isinstance(err, RuntimeError) and any(words in text for words in failed)


def _release(model: LoadedModel) -> None:
    if model.device.type == "cuda":
        torch.cuda.empty_cache()
    elif model.device.type == "mps":
        torch.mps.empty_cache()


def run_with_backoff(
    model: LoadedModel,
    stream: Stream,
    settings: TileSettings,
    tile: int,
    progress: Callable[[float], None] | None = None,
) -> int:
    """`run_stream`, halving the tile on out-of-memory until it fits; returns the tile used.

    A whole-image attempt (tile 0) that runs out of memory falls back to 512 and halves from there. A retry
    rewrites every row, so rows written before the failure are simply replaced.
    """
    while True:
        try:
            run_stream(model, stream, tile, settings.overlap, settings.batch, progress)
            return tile
        except (RuntimeError, torch.OutOfMemoryError) as err:
            if not is_out_of_memory(err):
                raise
            _release(model)
            smaller = 512 if tile == 0 else tile // 2
            if smaller < MIN_TILE:
                raise ModelError(f"out of memory even with --tile {tile}") from err
            tile = smaller
