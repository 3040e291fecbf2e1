"""Super-resolve: x2/x3/x4 GatedUNets with a pixel-shuffle ending, trained on bicubic or on web-like
inputs (`--degradation`); any final factor by resizing the model's output (area averaging when shrinking
it, Lanczos when enlarging it)."""

from __future__ import annotations

import cv2
import numpy as np

from msimg.engine.task import Plan, Restored, Run, Task
from msimg.tasks.super_resolve.options import HELP, REAL_MODELS, SUMMARY, SuperResolveOptions


def model_for(options: SuperResolveOptions) -> str:
    if options.degradation == "real":
        return REAL_MODELS[options.model_scale]
    return f"sr-x{options.model_scale}"


def resize(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area averaging to shrink, Lanczos to enlarge; integers saturate, floats keep their range."""
    shrink = size[0] < pixels.shape[1]
    out = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LANCZOS4)
    return out.reshape(size[1], size[0], pixels.shape[2])


def restore(run: Run, options: SuperResolveOptions) -> Restored:
    """The model's pass (its own scale), then the resize to the final factor when that differs."""
    h, w = run.colour.shape[:2]
    size = (max(1, round(w * options.final_scale)), max(1, round(h * options.final_scale)))
    out = run.stream(Plan(ensemble=options.tta), run.progress)
    found = {  # what ran, since a scale without its own model runs the next one and resizes
        "degradation": options.degradation,
        "model_scale": out.shape[0] // h,
        "scale": options.final_scale,
        "size": list(size),
    }
    return Restored(out if (out.shape[1], out.shape[0]) == size else resize(out, size), found=found)


TASK = Task(
    name="super-resolve",
    summary=SUMMARY,
    help=HELP,
    default_model=REAL_MODELS[4],
    options_type=SuperResolveOptions,
    restore=restore,
    model_for=model_for,
)
