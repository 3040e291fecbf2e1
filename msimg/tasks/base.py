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
    model_for: Callable[[Any], str] | None = None  # when the options pick the model (e.g. the scale)

    def model_name(self, options: Any) -> str:
        """The shipped model these options run when the user names none."""
        return self.model_for(options) if self.model_for is not None else self.default_model


def to_tensor(color: np.ndarray) -> torch.Tensor:
    """(H, W, 1|3) float32 -> (1, 3, H, W); gray is repeated, because every model sees RGB."""
    import torch

    rgb = np.repeat(color, 3, axis=2) if color.shape[2] == 1 else color
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]


def to_pixels(y: torch.Tensor, channels: int) -> np.ndarray:
    """(1, 3, H, W) -> (H, W, channels); a gray input gets back the mean of the three."""
    out = y[0].numpy().transpose(1, 2, 0)
    return out.mean(axis=2, keepdims=True) if channels == 1 else out


def dihedral_ensemble(infer: Infer, x: torch.Tensor) -> torch.Tensor:
    """Average of the model over the 8 flips and rotations of `x`, each undone on the output
    (the "x8 self-ensemble" of Lim et al. 2017, EDSR): better quality for 8x the time."""
    import torch

    total = None
    for k in range(4):
        for flip in (False, True):
            t = torch.rot90(x, k, (2, 3))
            t = torch.flip(t, (3,)) if flip else t
            y = infer(t.contiguous())
            y = torch.flip(y, (3,)) if flip else y
            y = torch.rot90(y, -k, (2, 3))
            total = y if total is None else total + y
    return total / 8
