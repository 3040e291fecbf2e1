"""What the tasks' benchmarks (`msimg/tasks/<name>/bench.py`, run by `make bench`) share: the
held-out images, centre crops, timing and scoring of a method on pairs."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from msimg.engine.options import EngineOptions
from msimg.engine.session import Session, open_session
from msimg.ops.metrics import psnr, ssim
from msimg.tasks import get_task
from msimg.tasks.recipes import recipes
from msimg.train.data import load_rgb, split
from msimg.train.loop import data_path

ImageFn = Callable[[np.ndarray], np.ndarray]


def session(
    task: str, precision: str = "auto", model: str | None = None, backend: str = "torch", **options: Any
) -> Session:
    """A session of `task` with these task options on the default device (the methods under test), with
    the options' own model unless `model` names another. Eager torch unless `backend` says otherwise, so
    the tables do not change with the extras installed (the engine's section compares backends)."""
    spec = get_task(task)
    engine = EngineOptions(precision=precision, model=model, backend=backend)
    return open_session(spec, engine, spec.options_type(**options))


def centre_crop(im: np.ndarray, size: int = 512) -> np.ndarray:
    h, w = min(size, im.shape[0]), min(size, im.shape[1])
    y, x = (im.shape[0] - h) // 2, (im.shape[1] - w) // 2
    return np.ascontiguousarray(im[y : y + h, x : x + w])


def held_out(limit: int | None) -> tuple[list[tuple[str, np.ndarray]], list[np.ndarray]]:
    """The held-out images of the denoise recipe's split (centre crops), and a few training crops for
    tuning peers; the benchmarks of every photo task score on them."""
    recipe = recipes()["denoise-gunet"]
    data = split([data_path(d) for d in recipe.data], recipe.val_fraction)
    val = [(p.name, centre_crop(load_rgb(p))) for p in data.validation][:limit]
    tune = [centre_crop(load_rgb(p), 256) for p in data.train[::40]][:4]
    return val, tune


def to_uint8(t: object) -> np.ndarray:
    return (t[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)  # type: ignore[index]


def best(pairs: list[tuple[np.ndarray, np.ndarray]], candidates: dict[str, ImageFn]) -> str:
    """The candidate with the best mean PSNR on `pairs` (training images: tuning never sees validation)."""
    return max(candidates, key=lambda k: np.mean([psnr(candidates[k](b), c) for b, c in pairs]))


def measure(fn: ImageFn, pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float, float]:
    """Mean PSNR, mean SSIM (RGB, whole image, borders included) and megapixels/s of `fn` on pairs."""
    ps, ss, secs = [], [], 0.0
    for degraded, clean in pairs:
        t0 = time.perf_counter()
        out = fn(degraded)
        secs += time.perf_counter() - t0
        ps.append(psnr(out, clean))
        ss.append(ssim(out, clean))
    mp = sum(c.shape[0] * c.shape[1] for _, c in pairs) / 1e6
    return float(np.mean(ps)), float(np.mean(ss)), mp / secs if secs > 0 else float("inf")


class DemoKit(Protocol):
    """What `make demo` (benchmarks/demo.py) gives each task's `demo(kit, out)`: the bundled sample
    photos, a way to write degraded copies of them, to run the msimg command as a user would, and to
    report PSNR against the samples."""

    samples: Path

    def degrade(
        self, folder: Path, how: Callable[[np.ndarray, np.random.Generator], np.ndarray]
    ) -> list[Path]: ...

    def run(self, task: str, inputs: Path, out: Path, *options: str) -> int: ...

    def report(self, inputs: list[Path], results: dict[str, Path], what: str) -> None: ...
