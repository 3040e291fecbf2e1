"""Deblur: plug-and-play deconvolution with a known or identified kernel, or a blind network.

Unless told the kernel, the task identifies it from the image's power spectrum among Gaussians, defocus
disks and linear motion (`kernel_fit`), and leaves an image alone whose blur is too small to undo or
whose kernel size the fit is unsure of (a wrong size rings).
`--kernel network` runs the blind network instead: it sees the blurred image twice (its inputs are an
estimate and the blurred image; it was trained to correct the estimate, which with a known kernel was the
Wiener result). It copes with blur outside those families (curved camera shake) but gains far less.

With a known kernel, half-quadratic splitting (DPIR: Zhang, Li, Zuo, Zhang, Van Gool, Timofte,
"Plug-and-Play Image Restoration with Deep Denoiser Prior", TPAMI 2021) alternates a Fourier-domain data
step, which sees the whole image, with the denoiser at a noise level falling from 49/255 to the image's
own. The denoiser knows photos far better than a network trained to clean up after Wiener deconvolution:
31.55 against 29.69 dB over the four benchmark kernels on the held-out images (BENCHMARKS.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from msimg import kernel_fit, kernels
from msimg.deconv import DataStep
from msimg.errors import MsimgError, UsageError
from msimg.tasks import denoise
from msimg.tasks.base import Iteration, Plan, Task, sample_rows, to_tensor
from msimg.tasks.denoise import estimate_sigma

WIENER_REG = 2e-3  # gradient-prior weight: holds 8-bit quantisation and mild noise down (training input)
# DPIR's settings for deblurring: passes, the denoiser's first level, and lambda, which weighs the prior
# against the data as mu = lambda * sigma^2 / level^2.
PASSES = 8
FIRST_LEVEL = 49 / 255
TRADE_OFF = 0.23
# Measured on training images (8 crops, six kernels): a floor of 0.5, 1, 2 /255 gave 30.67, 30.71, 30.35 dB;
# 2, 5, 10 conjugate-gradient steps 30.30, 30.71, 30.75 (motion blur gains most; 10 costs 13% more time).
NOISE_FLOOR = 1 / 255  # 8-bit rounding and a little sensor noise are always there
CG_STEPS = 10  # per data step, each warm-started from the last solution
NETWORK = "network"  # --kernel value that runs the blind network


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
    """`kernel` None identifies the kernel per image; a spec or PSF image is the kernel; "network" runs
    the blind network."""

    kernel: str | None = None
    psf: torch.Tensor | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kernel not in (None, NETWORK):
            object.__setattr__(self, "psf", load_kernel(self.kernel))  # checked before any file is read


def model_input(estimate: torch.Tensor, blurred: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) estimate and blurred image -> the (N, 6, H, W) network input (shared with training)."""
    return torch.cat([estimate.clamp(0, 1), blurred], dim=1)


def plan(colour: np.ndarray, options: DeblurOptions) -> Plan:
    """Network: it sees the blurred image twice. Otherwise the splitting's passes, each a data step over
    the whole image and then the denoiser, tiled like any model."""
    if options.kernel == NETWORK:
        return Plan(model_input=lambda rgb, _: model_input(rgb, rgb))
    from msimg.io.convert import to_float

    blurred = to_tensor(to_float(colour)[0])
    psf, found = options.psf, None
    if psf is None:  # reported: the kernel deconvolved (None: left alone) and the best fit
        fit = kernel_fit.identify(blurred[0].mean(0))
        found = {"kernel": None, "fitted": None if fit is None else fit.spec}
        if fit is None or fit.negligible or not fit.distinct:  # nothing (sure) to undo: the image as it is
            return Plan(strength=0.0, found=found)
        psf, found["kernel"] = fit.kernel, fit.spec
    sigma = min(max(estimate_sigma(sample_rows(colour)), NOISE_FLOOR), FIRST_LEVEL)
    levels = np.geomspace(FIRST_LEVEL, sigma, PASSES)
    data = DataStep(blurred, psf, CG_STEPS)

    def step(i: int, previous: torch.Tensor | None) -> torch.Tensor:
        x = data(blurred if previous is None else previous, TRADE_OFF * sigma**2 / levels[i] ** 2)
        return denoise.model_input(x, torch.tensor([denoise.model_level(levels[i], colour.shape[2])]))

    return Plan(iterate=Iteration(PASSES, step), found=found)


TASK = Task(
    name="deblur",
    summary="Sharpen out-of-focus and shaken photos, blind or with a known kernel.",
    default_model="denoise-gunet",
    model_for=lambda options: "deblur-gunet" if options.kernel == NETWORK else "denoise-gunet",
    options_type=DeblurOptions,
    plan=plan,
)
