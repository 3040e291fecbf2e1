"""What `--kernel` names when it is a blur: a kernel spec or an image file of the point-spread function.
Read when the options are made, so a bad kernel fails before any image is read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from msimg.errors import MsimgError, UsageError
from msimg.ops import kernels


def load_kernel(spec: str) -> torch.Tensor:
    """`gaussian:S`, `disk:R`, `motion:LEN,ANGLE`, or an image file of the point-spread function."""
    if ":" in spec and not Path(spec).exists():
        try:
            return kernels.parse(spec)
        except ValueError as err:
            raise UsageError(f"--kernel: {err}") from None
    from msimg.io.convert import to_float
    from msimg.io.read import read_image

    try:
        psf = to_float(read_image(Path(spec)).pixels)[0].mean(axis=2)
    except MsimgError as err:
        raise UsageError(f"--kernel {spec}: {err}") from None
    if psf.shape[0] > 129 or psf.shape[1] > 129 or psf.sum() <= 0:
        raise UsageError(f"--kernel {spec}: a kernel image must be at most 129x129 and not all black")
    h, w = psf.shape[0] | 1, psf.shape[1] | 1  # odd sizes, so the kernel has a centre pixel
    padded = np.zeros((h, w), np.float32)
    padded[: psf.shape[0], : psf.shape[1]] = psf
    return torch.from_numpy(padded / padded.sum())
