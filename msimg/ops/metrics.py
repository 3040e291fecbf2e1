"""PSNR and SSIM on [0, 255] images (DESIGN section 7), and the Y channel for super-resolution."""

from __future__ import annotations

import cv2
import numpy as np


def _as_255(x: np.ndarray) -> np.ndarray:
    """uint8/uint16/float [0,1] -> float64 on the 8-bit scale."""
    if x.dtype == np.uint8:
        return x.astype(np.float64)
    if x.dtype == np.uint16:
        return x.astype(np.float64) / 257.0
    return np.clip(x.astype(np.float64), 0, 1) * 255.0


# ITU-R BT.601 luma weights of R, G, B on the 8-bit scale (Y = 16 + their sum / 255)
BT601_Y = (65.481, 128.553, 24.966)


def rgb_to_y(x: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma as BasicSR/MATLAB compute it (16-235 on the 8-bit scale), returned as float64
    in [0, 1] (that scale / 255) so `psnr` and `ssim` read it like any float image."""
    x = _as_255(x)
    r, g, b = BT601_Y
    y = 16.0 + (r * x[..., 0] + g * x[..., 1] + b * x[..., 2]) / 255.0
    return (y / 255.0)[..., None]


def psnr(a: np.ndarray, b: np.ndarray, border: int = 0) -> float:
    """PSNR in dB of two images of the same shape, on the 8-bit scale."""
    a, b = _as_255(a), _as_255(b)
    if border:
        a, b = a[border:-border, border:-border], b[border:-border, border:-border]
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray, border: int = 0) -> float:
    """SSIM (Wang et al. 2004: Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03), mean over channels."""
    a, b = _as_255(a), _as_255(b)
    if border:
        a, b = a[border:-border, border:-border], b[border:-border, border:-border]
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)[5:-5, 5:-5]

    scores = []
    for c in range(a.shape[2]):
        x, y = a[..., c], b[..., c]
        mx, my = blur(x), blur(y)
        sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
        num = (2 * mx * my + c1) * (2 * sxy + c2)
        den = (mx * mx + my * my + c1) * (sxx + syy + c2)
        scores.append(float(np.mean(num / den)))
    return float(np.mean(scores))
