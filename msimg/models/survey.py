"""How a model with a global stage (`survey(x)`, see `msimg.engine.survey`) receives its values: as
constant input channels after the image's, at run time and in training alike."""

from __future__ import annotations

import torch


def with_constants(x: torch.Tensor, values: torch.Tensor | None) -> torch.Tensor:
    """(N, C, H, W) and values (N or 1, K) -> (N, C + K, H, W): each value as a constant channel."""
    if values is None:
        return x
    n, _, h, w = x.shape
    k = values.shape[-1]
    return torch.cat([x, values.to(x.dtype).view(-1, k, 1, 1).expand(n, k, h, w)], dim=1)
