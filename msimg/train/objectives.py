"""What most training objectives share. Each task's own objective (`msimg/tasks/<name>/training.py`) says
how clean crops become (network input, target) pairs with the task's own `model_input`, so training feeds
the network exactly what inference will."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from msimg.ops.metrics import psnr, ssim
from msimg.train.data import load_rgb
from msimg.train.losses import charbonnier


class Plain:
    """The usual case: photos in, the model's output is the image the user sees; Charbonnier loss,
    PSNR/SSIM on 8 bits."""

    def present(self, output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return output

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return charbonnier(pred, target)

    def load(self, path: Path) -> np.ndarray:
        return load_rgb(path)

    def scores(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        """PSNR/SSIM of a (1, C, H, W) output on 8 bits, as a user would get it from a file."""
        out, ref = (
            (t[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy() for t in (output, target)
        )
        return {"psnr": psnr(out, ref), "ssim": ssim(out, ref)}
