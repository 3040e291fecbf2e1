"""Deconvolution with a known kernel (Wiener; the splitting's data step) restores, no ringing at borders."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from msimg.ops import kernels
from msimg.ops.metrics import psnr
from msimg.tasks.deblur.deconv import DataStep, wiener
from msimg.train.degrade import blur, quantize
from tests.conftest import photo

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def sharp_scene() -> torch.Tensor:
    img = photo(120, 152, seed=5).astype(np.float32) / 255
    img[20:60, 30:90] = 0.9  # hard edges, some touching nothing, one running into the border
    img[70:, 100:130] = 0.1
    return torch.from_numpy(img).permute(2, 0, 1)[None]


def as_image(x: torch.Tensor) -> np.ndarray:
    return x[0].permute(1, 2, 0).clamp(0, 1).numpy()


@pytest.mark.parametrize("spec", ["gaussian:1.6", "disk:3", "motion:9,30"])
def test_wiener_restores_and_does_not_ring_at_borders(spec: str) -> None:
    sharp = sharp_scene()
    k = kernels.parse(spec)
    blurred = quantize(blur(sharp, [k]))
    restored = wiener(blurred, k, reg=1e-3)
    before, after = psnr(as_image(blurred), as_image(sharp)), psnr(as_image(restored), as_image(sharp))
    assert after > before + 2, (before, after)
    err = (restored - sharp).abs()[0].mean(0)
    border = torch.cat([err[:6].ravel(), err[-6:].ravel(), err[:, :6].ravel(), err[:, -6:].ravel()])
    assert float(border.mean()) < 2.5 * float(err[12:-12, 12:-12].mean())  # no ringing band at the edges


def test_a_delta_kernel_changes_nothing() -> None:
    x = sharp_scene()
    assert torch.allclose(wiener(x, torch.ones(1, 1), reg=0.0), x, atol=1e-5)


@pytest.mark.parametrize("spec", ["gaussian:1.6", "disk:3", "motion:9,30"])
def test_the_data_step_restores_without_ringing_at_borders(spec: str) -> None:
    """The splitting's data step alone, with the blurred image as a weak prior: sharper everywhere, and no
    band of error along the borders, for a slanted motion path too (mirroring would not fit it)."""
    sharp = sharp_scene()
    k = kernels.parse(spec)
    blurred = quantize(blur(sharp, [k]))
    restored = DataStep(blurred, k, steps=20)(blurred, 2e-3)
    before, after = psnr(as_image(blurred), as_image(sharp)), psnr(as_image(restored), as_image(sharp))
    assert after > before + 2, (before, after)
    err = (restored - sharp).abs()[0].mean(0)
    border = torch.cat([err[:6].ravel(), err[-6:].ravel(), err[:, :6].ravel(), err[:, -6:].ravel()])
    assert float(border.mean()) < 2.5 * float(err[12:-12, 12:-12].mean())


@pytest.mark.slow
def test_the_data_step_reaches_an_image_that_fits_both_terms() -> None:
    """When the prior is the sharp image and the data its exact blur, the sharp image is the solution:
    the solver gets there from a different start (the last solution), slanted kernel and borders too."""
    sharp = sharp_scene()
    k = kernels.parse("motion:9,30")
    step = DataStep(blur(sharp, [k]), k, steps=60)
    step(torch.zeros_like(sharp), 1e-2)
    assert (step(sharp, 1e-2) - sharp).abs().max() < 2e-3


def test_the_data_step_with_a_delta_kernel_keeps_the_blurred_image() -> None:
    """No blur and the image itself as the prior: the image is the answer at once, and the solver stops
    (on this photo the step's curvature underflowed to zero, which `--kernel gaussian:0` once divided by)."""
    y = torch.from_numpy(cv2.imread(str(SAMPLES / "chelsea.png"))[:200, :200]).permute(2, 0, 1)[None] / 255
    for weight in (1e-4, 1e-2):
        out = DataStep(y.float(), kernels.gaussian(0))(y.float(), weight)
        assert torch.allclose(out, y.float(), atol=1e-5)
