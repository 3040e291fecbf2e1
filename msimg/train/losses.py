"""Training losses, compared on what the user will see (`Objective.present` of the model output)."""

from __future__ import annotations

import torch

from msimg.ops.metrics import BT601_Y


def charbonnier(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """A smooth L1: robust like L1, differentiable at zero."""
    return torch.sqrt((pred - target) ** 2 + eps * eps).mean()


def luma_weighted(pred: torch.Tensor, target: torch.Tensor, chroma: float = 0.25) -> torch.Tensor:
    """Charbonnier on the BT.601 luma plus `chroma` times on RGB.

    Eyes, and the Y-channel scores super-resolution is judged by, weigh detail in luma; an equal loss on
    R, G and B spends the network on colour detail that 4:2:0 JPEG inputs no longer hold. The RGB term
    keeps colours from drifting, which luma alone does not see.
    """
    w = torch.tensor([c / 255 for c in BT601_Y], dtype=pred.dtype, device=pred.device)  # 16 cancels
    w = w.view(1, 3, 1, 1)
    return charbonnier((pred * w).sum(1), (target * w).sum(1)) + chroma * charbonnier(pred, target)


def pixel_focus(
    pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-3, cap: float = 10.0
) -> torch.Tensor:
    """Charbonnier plus the same error re-weighted toward the hardest pixels.

    The HybridEVS Swin entry trains with a "pixel-focus" loss that up-weights hard pixels; its exact
    formula was not found (docs/hybridevs-research.md), so this is our own form: each pixel's weight is
    its error over the batch's mean error (detached, capped at `cap`), so fine edges and colour fringes,
    a small share of the pixels, get a share of the gradient like their share of the error.
    """
    per_pixel = torch.sqrt((pred - target) ** 2 + eps * eps).mean(dim=1)
    weight = (per_pixel / per_pixel.mean()).detach().clamp(max=cap)
    return per_pixel.mean() + (weight * per_pixel).sum() / weight.sum()
