"""Colour transfer curves shared by the demosaic task, its training data and its benchmark."""

from __future__ import annotations

import torch

__all__ = ["srgb_decode", "srgb_encode"]


def srgb_encode(linear: torch.Tensor) -> torch.Tensor:
    """Linear light -> the sRGB transfer curve (IEC 61966-2-1), on values clipped to [0, 1]."""
    x = linear.clamp(0, 1)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp(min=0.0031308) ** (1 / 2.4) - 0.055)


def srgb_decode(encoded: torch.Tensor) -> torch.Tensor:
    """sRGB-encoded values -> linear light: how photos are turned back into what a sensor saw."""
    x = encoded.clamp(0, 1)
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
