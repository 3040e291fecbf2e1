"""Non-blind deconvolution: a regularised Wiener filter in the Fourier domain, in torch (CPU or GPU).

An FFT treats the image as periodic, so the jump between opposite borders rings across the whole result.
Mirroring the image to twice its size first makes it periodic without jumps (the reflective boundary
condition, as a DCT would impose), which removes that ringing for any kernel and exactly for symmetric
ones. The regulariser penalises image gradients (a Gaussian prior on derivatives) rather than a flat
noise-to-signal ratio, which keeps edges sharper for the same noise suppression.
"""

from __future__ import annotations

import torch


def _otf(kernel: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The kernel's transfer function on an (height, width) grid, centred so the result is not shifted."""
    kh, kw = kernel.shape
    psf = torch.zeros(height, width, dtype=torch.float32, device=kernel.device)
    psf[:kh, :kw] = kernel
    psf = torch.roll(psf, shifts=(-(kh // 2), -(kw // 2)), dims=(0, 1))
    return torch.fft.rfft2(psf)


def wiener(x: torch.Tensor, kernel: torch.Tensor, reg: float = 2e-3) -> torch.Tensor:
    """Deconvolve (N, C, H, W) images blurred by `kernel` (kh, kw; sums to 1). `reg` trades sharpness
    for noise: about 1e-3 for clean 8-bit photos, more for noisy ones."""
    h, w = x.shape[-2:]
    mirrored = torch.cat([x, x.flip(-1)], dim=-1)
    mirrored = torch.cat([mirrored, mirrored.flip(-2)], dim=-2)
    big_h, big_w = 2 * h, 2 * w
    k = _otf(kernel.to(x.device, torch.float32), big_h, big_w)
    dy = _otf(torch.tensor([[1.0], [-1.0]], device=x.device), big_h, big_w)
    dx = _otf(torch.tensor([[1.0, -1.0]], device=x.device), big_h, big_w)
    prior = dy.abs() ** 2 + dx.abs() ** 2
    spectrum = torch.fft.rfft2(mirrored.float())
    restored = spectrum * k.conj() / (k.abs() ** 2 + reg * prior)
    return torch.fft.irfft2(restored, s=(big_h, big_w))[..., :h, :w].to(x.dtype)
