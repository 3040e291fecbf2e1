"""The benchmark's reference up-scaler: MATLAB's bicubic kernel (a = -0.5), not OpenCV's (a = -0.75)."""

import numpy as np

from msimg.tasks.super_resolve.bench import upscale_matlab


def cubic(d: np.ndarray, a: float) -> np.ndarray:
    d = np.abs(d)
    near = (a + 2) * d**3 - (a + 3) * d**2 + 1
    far = a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a
    return np.where(d <= 1, near, np.where(d < 2, far, 0.0))


def test_upscale_matlab_interpolates_with_the_a_half_kernel_inside() -> None:
    rng = np.random.default_rng(0)
    lr = rng.integers(0, 256, (12, 16, 3)).astype(np.uint8)
    out = upscale_matlab(lr, 2)
    assert out.shape == (24, 32, 3) and out.dtype == np.uint8

    def separable(a: float) -> np.ndarray:
        """The image up-scaled x2 with pixel centres aligned, by the cubic kernel with parameter a."""
        rows, cols = ((np.arange(2 * n) + 0.5) / 2 - 0.5 for n in lr.shape[:2])
        wr = cubic(rows[:, None] - np.arange(lr.shape[0]), a)
        wc = cubic(cols[:, None] - np.arange(lr.shape[1]), a)
        return np.einsum("ij,jkc,lk->ilc", wr, lr.astype(np.float64), wc)

    inner = (slice(4, -4), slice(4, -4))  # away from the borders, where the kernels' supports are whole
    got = out[inner].astype(np.float64)
    assert np.abs(got - np.clip(separable(-0.5)[inner], 0, 255)).max() <= 0.51
    assert np.abs(got - np.clip(separable(-0.75)[inner], 0, 255)).max() > 2
