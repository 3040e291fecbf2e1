"""Pure tile-grid maths: where windows go along one axis, and how their outputs are blended.

A 2-D grid is the product of two 1-D span lists. Each window reads `context` pixels of real image around
its core (clamped at the image border, where the model sees the same border as on the whole image), so a
core is exact for a model whose receptive-field radius is <= context. Neighbouring cores overlap and are
cross-faded with smooth weights that sum to one along each axis, hence to one over the 2-D grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Span:
    """One window along an axis, in input pixels: [start, stop) is read, [core_start, core_stop) is kept."""

    start: int
    stop: int
    core_start: int
    core_stop: int


def _round_up(n: int, m: int) -> int:
    return math.ceil(n / m) * m


def spans(
    length: int, tile: int, context: int, overlap: int, multiple: int = 1, shrink: bool = True
) -> list[Span]:
    """Windows covering an axis of `length` (already padded to `multiple`).

    `tile` is the wanted core size; windows are at most `tile + 2*context` rounded up to `multiple`, all
    the same size (so they batch), and start at multiples of `multiple` (so strided models see aligned
    grids). Of the window counts that cover the axis, the one reading the fewest pixels in all is taken,
    each window as small as still covers: a fixed size would re-read up to a window of context and
    overlap where the last one overhangs the axis. Without `shrink` every window is the full size (a
    fixed-size graph: a smaller window would be padded, and see padding where the image goes on).
    """
    if length % multiple:
        raise ValueError(f"length {length} is not a multiple of {multiple}")
    smallest = _round_up(2 * context + overlap + multiple, multiple)
    largest = max(_round_up(max(tile, 1) + 2 * context, multiple), smallest)
    if largest >= length:
        return [Span(0, length, 0, length)]

    def step_of(size: int) -> int:
        return (size - 2 * context - overlap) // multiple * multiple

    def count(size: int) -> int:
        return math.ceil((length - size) / step_of(size)) + 1

    fewest = count(largest)
    # per count, the smallest window that covers (window sizes only grow the coverage)
    best: dict[int, int] = {}
    for size in range(largest, (smallest if shrink else largest) - 1, -multiple):
        n = count(size)
        if n > fewest + 2:
            break
        best[n] = size
    n, size = min(best.items(), key=lambda item: (item[0] * item[1], item[0]))
    step = step_of(size)
    starts = [min(i * step, length - size) for i in range(n)]
    return [
        Span(
            start=s,
            stop=s + size,
            core_start=s + context if s > 0 else 0,
            core_stop=s + size - context if s + size < length else length,
        )
        for s in starts
    ]


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def blend_weights(axis: list[Span], scale: int = 1) -> list[np.ndarray]:
    """Per span, weights over its output core `[core_start*scale, core_stop*scale)`.

    A core fades in over the part it shares with the previous core and out over the part it shares with
    the next one; the weights are then normalised so they sum to exactly one at every output pixel.
    """
    length = axis[-1].stop * scale
    raw: list[np.ndarray] = []
    for i, sp in enumerate(axis):
        lo, hi = sp.core_start * scale, sp.core_stop * scale
        u = np.arange(lo, hi, dtype=np.float64) + 0.5
        w = np.ones(hi - lo, dtype=np.float64)
        if i > 0 and axis[i - 1].core_stop * scale > lo:
            band = axis[i - 1].core_stop * scale - lo
            w *= _smoothstep((u - lo) / band)
        if i + 1 < len(axis) and axis[i + 1].core_start * scale < hi:
            band = hi - axis[i + 1].core_start * scale
            w *= _smoothstep((hi - u) / band)
        raw.append(w)
    total = np.zeros(length, dtype=np.float64)
    for sp, w in zip(axis, raw, strict=True):
        total[sp.core_start * scale : sp.core_stop * scale] += w
    return [
        (w / total[sp.core_start * scale : sp.core_stop * scale]).astype(np.float32)
        for sp, w in zip(axis, raw, strict=True)
    ]
