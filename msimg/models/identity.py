"""The identity as a weightless model: for methods that work on the image itself after the engine has
streamed it (segment's superpixels), so every method of a task runs through the same path."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from msimg.models.descriptor import Traits


class Identity(nn.Module):
    @staticmethod
    def describe(**config: Any) -> Traits:
        return Traits(
            in_channels=3,
            out_channels=3,
            multiple_of=1,
            receptive_radius=0,
            context=0,
            memory_per_pixel=4 * 8,
            dtypes=("fp32",),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def config_dict(self) -> dict[str, Any]:
        return {}
