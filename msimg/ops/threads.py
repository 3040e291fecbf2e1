"""Work shared out over the cores this process computes on, for steps whose native code lets go of the
GIL (zlib, numpy, scikit-image's flooding): threads share the arrays instead of copying them to processes."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def cores() -> int:
    """The cores this process computes on, counted as torch counts its own: `OMP_NUM_THREADS` when set
    (a Ray worker sets it to its share of the node), else the CPUs it may run on."""
    try:
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    except (KeyError, ValueError):
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def map_threads(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """`[fn(item) for item in items]`, on as many threads as there are cores and items (in order)."""
    workers = min(len(items), cores())
    if workers < 2:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(fn, items))
