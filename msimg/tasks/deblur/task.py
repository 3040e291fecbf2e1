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

import numpy as np
import torch

from msimg.engine.task import Plan, Restored, Run, Task, part, sample_rows, to_tensor
from msimg.tasks.deblur import kernel_fit
from msimg.tasks.deblur.deconv import DataStep
from msimg.tasks.deblur.options import HELP, NETWORK, SUMMARY, DeblurOptions
from msimg.tasks.denoise import task as denoise
from msimg.tasks.denoise.task import estimate_sigma

WIENER_REG = 2e-3  # gradient-prior weight: holds 8-bit quantisation and mild noise down (training input)
# DPIR's settings for deblurring: passes, the denoiser's first level, and lambda, which weighs the prior
# against the data as mu = lambda * sigma^2 / level^2. DPIR runs 8 passes; with the data step solved
# over an extended domain and warm-started, 6 did as well on held-out photos, fewer lost most on motion
# blur, and running the first passes on 2x2 averages lost more than it saved (BENCHMARKS.md, deblur).
PASSES = 6
FIRST_LEVEL = 49 / 255
TRADE_OFF = 0.23
# Measured on training images (8 crops, six kernels): a floor of 0.5, 1, 2 /255 gave 30.67, 30.71, 30.35 dB;
# 2, 5, 10 conjugate-gradient steps 30.30, 30.71, 30.75 (motion blur gains most; 10 costs 13% more time).
NOISE_FLOOR = 1 / 255  # 8-bit rounding and a little sensor noise are always there
CG_STEPS = 10  # the first data step's conjugate-gradient steps
# Each later one starts from the last solution, which a pass moves little: half the steps did as well on
# held-out photos, and at 24 MP the data steps are a fifth of the run (BENCHMARKS.md, deblur).
CG_WARM_STEPS = 5


def model_input(estimate: torch.Tensor, blurred: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) estimate and blurred image -> the (N, 6, H, W) network input (shared with training)."""
    return torch.cat([estimate.clamp(0, 1), blurred], dim=1)


def _given(rgb: torch.Tensor, extra: torch.Tensor | None) -> torch.Tensor:
    """The model input the last pass computed whole: the rows of `extra`."""
    assert extra is not None
    return extra


def restore(run: Run, options: DeblurOptions) -> Restored:
    """Network: it sees the blurred image twice. Otherwise the splitting's passes, each a data step over
    the whole image and then the denoiser, tiled like any model; the last pass streams into the output."""
    if options.kernel == NETWORK:
        return Restored(run.stream(Plan(model_input=lambda rgb, _: model_input(rgb, rgb)), run.progress))
    from msimg.io.convert import to_float

    colour = run.colour
    blurred = to_tensor(to_float(colour)[0])
    psf, found = options.psf, None
    if psf is None:  # reported: the kernel deconvolved (None: left alone) and the best fit
        fit = kernel_fit.identify(blurred[0].mean(0))
        found = {"kernel": None, "fitted": None if fit is None else fit.spec}
        if fit is None or fit.negligible or not fit.distinct:  # nothing (sure) to undo: the image as it is
            if run.progress is not None:
                run.progress(1.0)
            return Restored(run.pixels.copy(), found=found)
        psf, found["kernel"] = fit.kernel, fit.spec
    sigma = min(max(estimate_sigma(sample_rows(colour)), NOISE_FLOOR), FIRST_LEVEL)
    levels = np.geomspace(FIRST_LEVEL, sigma, PASSES)
    data = DataStep(blurred, psf, CG_STEPS, CG_WARM_STEPS)
    previous = None
    for i in range(PASSES):
        x = data(blurred if previous is None else previous, TRADE_OFF * sigma**2 / levels[i] ** 2)
        x = denoise.model_input(x, torch.tensor([denoise.model_level(levels[i], colour.shape[2])]))
        if i < PASSES - 1:
            previous = run.whole(x, part(run.progress, i, PASSES))
    out = run.stream(Plan(model_input=_given, extra=x), part(run.progress, PASSES - 1, PASSES))
    return Restored(out, found=found)


TASK = Task(
    name="deblur",
    summary=SUMMARY,
    help=HELP,
    default_model="denoise-gunet",
    model_for=lambda options: "deblur-gunet" if options.kernel == NETWORK else "denoise-gunet",
    options_type=DeblurOptions,
    restore=restore,
)
