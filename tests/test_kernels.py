"""Blur kernels: normalised, odd-sized, the asked size, deterministic under a seed."""

from __future__ import annotations

import math

import pytest
import torch

from msimg.ops import kernels
from msimg.train.degrade import blur, random_kernel


def centroid_spread(k: torch.Tensor) -> tuple[float, float, float]:
    """(centre y, centre x, rms radius) in pixels, relative to the kernel's middle."""
    n = k.shape[0]
    c = torch.arange(n, dtype=torch.float64) - n // 2
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    k = k.double()
    cy, cx = float((k * yy).sum()), float((k * xx).sum())
    return cy, cx, math.sqrt(float((k * ((yy - cy) ** 2 + (xx - cx) ** 2)).sum()))


@pytest.mark.parametrize(
    "k",
    [kernels.gaussian(1.6), kernels.disk(4), kernels.motion(15, 30), kernels.shake(torch.Generator())],
    ids=["gaussian", "disk", "motion", "shake"],
)
def test_kernels_are_normalised_centred_and_odd(k: torch.Tensor) -> None:
    assert k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1 and k.dtype == torch.float32
    assert float(k.sum()) == pytest.approx(1.0, abs=1e-5) and float(k.min()) >= 0
    cy, cx, _ = centroid_spread(k)
    assert abs(cy) < 0.5 and abs(cx) < 0.5


def test_kernels_have_the_asked_size() -> None:
    # a 2-D Gaussian's rms radius is sigma * sqrt(2); a uniform disk's is R / sqrt(2)
    assert centroid_spread(kernels.gaussian(2.0))[2] == pytest.approx(2.0 * math.sqrt(2), rel=0.03)
    assert centroid_spread(kernels.disk(5.0))[2] == pytest.approx(5.0 / math.sqrt(2), rel=0.05)
    # a uniform line of length L: rms L / sqrt(12) along it (plus the 1 px line width across)
    line = kernels.motion(15, 0)
    assert line.shape[0] >= 15 and float(line[line.shape[0] // 2].sum()) > 0.9  # horizontal
    assert centroid_spread(line)[2] == pytest.approx(14 / math.sqrt(12), rel=0.08)
    diagonal = kernels.motion(15, 45)
    rising = float(diagonal.flip(1).diagonal().sum())  # bottom-left to top-right
    assert rising > 0.5 and float(diagonal.diagonal().sum()) < 0.2


def test_parse_names_what_is_wrong() -> None:
    assert torch.equal(kernels.parse("disk:3"), kernels.disk(3))
    assert torch.equal(kernels.parse("motion:9,45"), kernels.motion(9, 45))
    for bad, cause in [
        ("box:3", "expected gaussian"),
        ("disk:a", "numbers"),
        ("motion:9", "2 numbers"),
        ("gaussian:99", "0-64"),
    ]:
        with pytest.raises(ValueError, match=cause):
            kernels.parse(bad)


def test_random_kernels_are_seeded_and_blur_keeps_flat_images() -> None:
    a = [random_kernel(torch.Generator().manual_seed(s)) for s in range(8)]
    b = [random_kernel(torch.Generator().manual_seed(s)) for s in range(8)]
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert len({tuple(k.shape) for k in a}) > 1  # a mix, not one kind
    flat = torch.full((8, 3, 40, 40), 0.3)
    assert torch.allclose(blur(flat, a), flat, atol=1e-6)
    dot = torch.zeros(1, 1, 41, 41)
    dot[..., 20, 20] = 1
    k = kernels.motion(9, 30)
    out = blur(dot, [k])[0, 0]
    h = k.shape[0] // 2
    assert torch.allclose(
        out[20 - h : 21 + h, 20 - h : 21 + h], k, atol=1e-6
    )  # a point spreads to the kernel


def test_kernels_of_the_blur_mix() -> None:
    """Anisotropic kernels spread along their long axis; the generalised one with beta 2 is the Gaussian;
    plateau has the longer tail; the sinc has negative lobes (it rings)."""
    wide = kernels.generalized(3.0, 1.0, 0.0, 2.0, 21)
    assert wide.sum().item() == pytest.approx(1.0) and wide[10].sum() > 2 * wide[:, 10].sum()
    assert torch.allclose(kernels.generalized(1.5, 1.5, 30.0, 2.0, 9), kernels.gaussian(1.5), atol=1e-6)
    tail = (
        kernels.plateau(1.5, 1.5, 0.0, 1.5, 21)[10, 20] / kernels.generalized(1.5, 1.5, 0.0, 2.0, 21)[10, 20]
    )
    assert tail > 100
    ring = kernels.sinc(math.pi / 3)
    assert ring.sum().item() == pytest.approx(1.0) and ring.min() < 0
