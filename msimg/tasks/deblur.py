"""Deblur: a blind network, or a known kernel's Wiener deconvolution cleaned up by the same network.

The network sees two images: an estimate (the Wiener result when the kernel is known, else the blurred
input itself) and the blurred input; it corrects the estimate. One model thus serves both modes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from msimg import kernels
from msimg.deconv import wiener
from msimg.errors import MsimgError, UsageError
from msimg.tasks.base import Plan, Task, to_tensor

WIENER_REG = 2e-3  # gradient-prior weight: holds 8-bit quantisation and mild noise down


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


@dataclass(frozen=True)
class DeblurOptions:
    """`kernel` None runs the blind network; a spec or PSF image runs Wiener deconvolution first."""

    kernel: str | None = None
    psf: torch.Tensor | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kernel is not None:
            object.__setattr__(self, "psf", load_kernel(self.kernel))  # checked before any file is read


def model_input(estimate: torch.Tensor, blurred: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) estimate and blurred image -> the (N, 6, H, W) network input (shared with training)."""
    return torch.cat([estimate.clamp(0, 1), blurred], dim=1)


def plan(colour: np.ndarray, options: DeblurOptions) -> Plan:
    """Blind: the network sees the blurred image twice. Known kernel: Wiener deconvolution of the whole
    image first (a global, FFT-based step), whose rows the engine then hands out band by band."""
    if options.psf is None:
        return Plan(model_input=lambda rgb, _: model_input(rgb, rgb))
    from msimg.io.convert import to_float

    estimate = wiener(to_tensor(to_float(colour)[0]), options.psf, WIENER_REG)
    return Plan(model_input=lambda rgb, est: model_input(est, rgb), extra=estimate)


TASK = Task(
    name="deblur",
    summary="Sharpen out-of-focus and shaken photos, blind or with a known kernel.",
    default_model="deblur-gunet",
    options_type=DeblurOptions,
    plan=plan,
)
