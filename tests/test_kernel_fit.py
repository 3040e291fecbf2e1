"""Blur identification on the shipped sample photos, blurred as the benchmark blurs (noise 1/255, 8 bits)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from msimg.ops import kernels
from msimg.tasks.deblur import kernel_fit
from msimg.train.degrade import blur

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def gray_blurred(name: str, spec: str | None, seed: int = 0) -> torch.Tensor:
    """The sample's mean of channels in [0, 1] after blur (None: sharp), noise 1/255 and 8-bit rounding."""
    rgb = cv2.cvtColor(cv2.imread(str(SAMPLES / f"{name}.png")), cv2.COLOR_BGR2RGB)
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float()
    if spec is not None:
        x = blur(x, [kernels.parse(spec)])
    x = x + torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))
    return x.round().clamp(0, 255)[0].mean(0).double() / 255


@pytest.mark.slow
@pytest.mark.parametrize("name", ["coffee", "astronaut"])
@pytest.mark.parametrize(
    "spec,tolerance",
    [("gaussian:2.2", [0.3]), ("disk:3.3", [0.4]), ("motion:11,62", [1.5, 5])],
    ids=["gaussian", "disk", "motion"],
)
def test_identifies_the_family_and_size(name: str, spec: str, tolerance: list[float]) -> None:
    fit = kernel_fit.identify(gray_blurred(name, spec))
    assert fit is not None and not fit.negligible and fit.distinct
    (family, found), (true_family, true_values) = kernels.split_spec(fit.spec), kernels.split_spec(spec)
    assert family == true_family, fit.spec
    for got, want, tol in zip(found, true_values, tolerance, strict=True):
        assert abs(got - want) <= tol, fit.spec
    assert torch.equal(fit.kernel, kernels.parse(fit.spec))


@pytest.mark.slow
def test_a_sharp_photo_has_no_blur_worth_undoing() -> None:
    fit = kernel_fit.identify(gray_blurred("coffee", None))
    assert fit is not None and fit.negligible, fit.spec


def test_an_image_smaller_than_a_tile_is_not_fitted() -> None:
    assert kernel_fit.identify(torch.rand(100, 300)) is None


def test_the_spectrum_of_white_noise_is_its_variance() -> None:
    noise = torch.from_numpy(np.random.default_rng(0).normal(0, 0.1, (512, 512)))
    spectrum = kernel_fit.power_spectrum(noise)
    assert float(spectrum[4:-4, 4:].mean()) == pytest.approx(0.01, rel=0.05)


@pytest.mark.slow
def test_a_fit_whose_size_is_unsure_is_not_trusted() -> None:
    """White noise has no spectral fall-off to read a size from: every size of the best kernel fits about
    as well, so the fit is marked as not distinct (deblur then leaves the image alone)."""
    noise = torch.from_numpy(np.random.default_rng(1).normal(0.5, 0.1, (400, 600)))
    fit = kernel_fit.identify(noise)
    assert fit is not None and not fit.distinct
