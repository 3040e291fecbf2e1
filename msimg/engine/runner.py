"""pad -> tiles -> batches -> model -> blended stitch, with out-of-memory back-off.

The engine sees float tensors (N, C, H, W); conversions to and from files live in `msimg.io`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from msimg.engine.descriptor import LoadedModel
from msimg.engine.tiling import Span, blend_weights, spans
from msimg.errors import ModelError

MIN_TILE = 32


@dataclass(frozen=True)
class TileSettings:
    """How windows overlap beyond the model's context, and how many run at once."""

    overlap: int = 16
    batch: int = 1


def pad_to(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Pad (N, C, H, W) at the bottom/right to (height, width): reflect where the image allows it."""
    ph, pw = height - x.shape[-2], width - x.shape[-1]
    if ph == 0 and pw == 0:
        return x
    mode = "reflect" if ph < x.shape[-2] and pw < x.shape[-1] else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


def _forward(model: LoadedModel, x: torch.Tensor) -> torch.Tensor:
    x = x.to(model.device, model.dtype, non_blocking=True).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        y = model.module(x)
    return y.to("cpu", torch.float32).contiguous()


def _windows(rows: list[Span], cols: list[Span]) -> Iterator[tuple[int, int]]:
    for i in range(len(rows)):
        for j in range(len(cols)):
            yield i, j


def _run_grid(
    model: LoadedModel,
    x: torch.Tensor,
    tile: int,
    overlap: int,
    batch: int,
    progress: Callable[[int], None] | None,
) -> torch.Tensor:
    desc = model.descriptor
    s, mult = desc.scale, desc.size.multiple_of
    height, width = x.shape[-2:]
    rows = spans(height, tile, desc.context, overlap, mult)
    cols = spans(width, tile, desc.context, overlap, mult)
    wrows, wcols = blend_weights(rows, s), blend_weights(cols, s)
    out = torch.zeros((x.shape[0], desc.out_channels, height * s, width * s), dtype=torch.float32)
    windows = list(_windows(rows, cols))
    for b in range(0, len(windows), batch):
        group = windows[b : b + batch]
        tiles = [x[..., rows[i].start : rows[i].stop, cols[j].start : cols[j].stop] for i, j in group]
        ys = _forward(model, torch.cat(tiles, 0)).split(x.shape[0], 0)
        for (i, j), y in zip(group, ys, strict=True):
            r, c = rows[i], cols[j]
            core = y[
                ...,
                (r.core_start - r.start) * s : (r.core_stop - r.start) * s,
                (c.core_start - c.start) * s : (c.core_stop - c.start) * s,
            ]
            weight = torch.from_numpy(wrows[i])[:, None] * torch.from_numpy(wcols[j])[None, :]
            out[..., r.core_start * s : r.core_stop * s, c.core_start * s : c.core_stop * s] += core * weight
        if progress is not None:
            progress(min(b + batch, len(windows)) / len(windows))
    return out


def run_tiled(
    model: LoadedModel,
    x: torch.Tensor,
    tile: int,
    overlap: int = 16,
    batch: int = 1,
    progress: Callable[[float], None] | None = None,
) -> torch.Tensor:
    """Run `model` on x (N, C, H, W) float32 (CPU); returns (N, C_out, H*scale, W*scale) float32 (CPU).

    tile 0 runs the whole image at once. The result does not depend on tile size beyond the model's
    receptive field (exact for models whose context covers it). `progress` gets the fraction done.
    """
    desc = model.descriptor
    if x.shape[1] != desc.in_channels:
        raise ModelError(f"model '{desc.name}' takes {desc.in_channels} channels, got {x.shape[1]}")
    height, width = x.shape[-2:]
    xp = pad_to(x, desc.size.padded(height), desc.size.padded(width))
    if tile == 0 or desc.tiling == "whole-image":
        out = _forward(model, xp)
        if progress is not None:
            progress(1.0)
    else:
        out = _run_grid(model, xp, tile, overlap, batch, progress)
    return out[..., : height * desc.scale, : width * desc.scale]


def is_out_of_memory(err: BaseException) -> bool:
    if isinstance(err, torch.OutOfMemoryError):
        return True
    text = str(err).lower()
    return isinstance(err, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def _release(model: LoadedModel) -> None:
    if model.device.type == "cuda":
        torch.cuda.empty_cache()
    elif model.device.type == "mps":
        torch.mps.empty_cache()


def run_with_backoff(
    model: LoadedModel,
    x: torch.Tensor,
    settings: TileSettings,
    tile: int,
    progress: Callable[[float], None] | None = None,
) -> tuple[torch.Tensor, int]:
    """`run_tiled`, halving the tile on out-of-memory until it fits; returns (output, tile used).

    A whole-image attempt (tile 0) that runs out of memory falls back to 512 and halves from there.
    """
    while True:
        try:
            return run_tiled(model, x, tile, settings.overlap, settings.batch, progress), tile
        except (RuntimeError, torch.OutOfMemoryError) as err:
            if not is_out_of_memory(err):
                raise
            _release(model)
            smaller = 512 if tile == 0 else tile // 2
            if smaller < MIN_TILE:
                raise ModelError(f"out of memory even with --tile {tile}") from err
            tile = smaller
