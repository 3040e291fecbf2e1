"""The Task contract: what a task adds around the engine (pre-processing, model choice, post-processing)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

Infer = Callable[["torch.Tensor"], "torch.Tensor"]
"""The engine bound to a model and tile settings: (1, C_in, H, W) float32 -> (1, C_out, sH, sW) float32."""


@dataclass(frozen=True)
class Task:
    """A task is data plus one pure function.

    `process(color, infer, options)` maps (H, W, C) float32 in [0, 1] (C = 1 or 3) to the result as
    (H', W', C) float32; it calls `infer` for the network and never touches files or devices.
    """

    name: str
    summary: str
    default_model: str
    options_type: type
    process: Callable[[np.ndarray, Infer, Any], np.ndarray]
