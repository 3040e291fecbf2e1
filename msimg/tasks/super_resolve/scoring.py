"""`msimg eval super-resolve`: PSNR/SSIM on Y with a border of `scale` pixels cut, the papers' convention."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from msimg.errors import UsageError


def scorer(scale: int) -> Callable[[Path, Path], dict[str, float]]:
    from msimg.io.read import read_image
    from msimg.ops.metrics import psnr, rgb_to_y, ssim

    if scale <= 0:
        raise UsageError("super-resolve needs --scale N, the factor: PSNR/SSIM on Y with N pixels cut")

    def score(out: Path, ref: Path) -> dict[str, float]:
        a, b = read_image(out).pixels, read_image(ref).pixels
        if a.shape != b.shape:
            raise UsageError(f"size {a.shape} differs from the reference's {b.shape}")
        if a.shape[2] >= 3:
            a, b = rgb_to_y(a[..., :3]), rgb_to_y(b[..., :3])
        return {"psnr": psnr(a, b, scale), "ssim": ssim(a, b, scale)}

    return score
