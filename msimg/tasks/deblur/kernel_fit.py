"""Blur identification: which Gaussian, defocus disk or linear motion blurred a photo, from its spectrum.

Photos have power spectra close to a power law, P(f) = c |f|^-alpha with alpha near 2 (van der Schaaf
and van Hateren, Vision Research 1996), and a blur multiplies the spectrum by the kernel's |K(f)|^2 while
noise adds a flat floor: P_y(f) = c |f|^-alpha |K(f)|^2 + s^2. Goldstein and Fattal ("Blur-kernel
estimation from spectral irregularities", ECCV 2012) estimate |K| from that model; here the kernel is
sought within the families `deblur --kernel` accepts, whose spectra are distinctive: motion puts zeros
on lines across the motion (spaced 1 / length), a disk on rings, a Gaussian bends the fall-off down.

The spectrum is averaged over Hann-windowed tiles (Welch), each kernel is scored by the squared error of
the model in log power over all but the lowest frequencies (c and alpha by least squares where the kernel
passes, the noise floor from a grid), and a coarse grid over every family is refined around the best of
each family. The winner counts as sure only if other sizes of it fit clearly worse.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from msimg.ops import kernels

WINDOW = 128  # tile side: resolves spectral zeros of kernels up to ~40 px, averages enough tiles
MAX_TILES = 400  # tiles spread over large images: more does not change the average
ALPHAS = (1.0, 3.0)  # the range of power-law exponents of photos
PASSED = 0.3  # |K|^2 above which a frequency tells the image's own level c
# Photos are not sharp to the pixel (lens, demosaicing, resampling): the 42 sharp training crops (512 px,
# noise 1/255) that a Gaussian alone fits best took sigma 0.45-0.6, median 0.55. That softness is part of
# the photo, not a blur to undo, so every kernel is fitted on top of it; without this the fit overstated
# small blurs (sigma 0.8 found as 0.8-1.0), and deconvolving too large a kernel rings (sigma 1 deconvolved
# as 1.15: 4 dB lower).
INTRINSIC_SIGMA = 0.55
# A blur smaller than this (the sigma of a Gaussian of the same spread) is left alone: deconvolving
# sigma 0.4 cost 1.4 dB on a textured training crop, and two of four sharp training crops were fitted by
# 2-pixel motion (spread 0.58).
NEGLIGIBLE_SIGMA = 0.6
# A fit is trusted only if the same kernel a quarter smaller or a third larger explains the spectrum
# clearly worse (error ratio at least this): a real photo's camera shake (scikit-image's `clock`) was fitted
# by a 24-pixel line with 18 and 32 pixels nearly as good (ratio 1.16), and deconvolving it rang across
# the image. On blurred training crops the ratio was 1.4-12 for all but 8 % (one image of sixteen, whose
# spectrum no kernel explains well).
DISTINCT = 1.25
NOISE_SCALES = 2.0 ** -torch.arange(0, 6.1, 0.5, dtype=torch.float64)
# The fine grid around the coarse winner, per family: (size step, span either side, smallest size);
# motion angles span 6 degrees either side in steps of 1.5.
FINE = {"gaussian": (0.05, 0.25, 0.0), "disk": (0.1, 0.5, 0.5), "motion": (0.5, 2.0, 2.0)}


@dataclass(frozen=True)
class Fit:
    """The identified kernel as a `--kernel` spec, the kernel itself, the model's log-power error, and
    whether other sizes of the kernel fit clearly worse (else the size is not known well enough to
    deconvolve: a wrong size rings)."""

    spec: str
    kernel: torch.Tensor
    error: float
    distinct: bool

    @property
    def negligible(self) -> bool:
        """Too small a blur to be worth deconvolving (an equivalent Gaussian's sigma)."""
        name, (size, *_) = kernels.split_spec(self.spec)
        # a disk's spread is radius / 2, a line's length / sqrt(12)
        sigma = {"gaussian": size, "disk": size / 2, "motion": size / np.sqrt(12)}[name]
        return sigma < NEGLIGIBLE_SIGMA


def _coarse() -> dict[str, list[str]]:
    return {
        "gaussian": [f"gaussian:{s:g}" for s in np.arange(0, 4.01, 0.25)],
        "disk": [f"disk:{r:g}" for r in np.arange(1, 6.01, 0.5)],
        "motion": [f"motion:{n},{a:g}" for n in range(3, 26, 2) for a in np.arange(0, 180, 7.5)],
    }


def _fine(spec: str) -> list[str]:
    """Specs around `spec` on a grid four times finer (the coarse grid's neighbours included)."""
    name, v = kernels.split_spec(spec)
    step, span, lowest = FINE[name]
    sizes = np.arange(max(v[0] - span, lowest), v[0] + span + step / 5, step)
    if name != "motion":
        return [f"{name}:{z:.2f}" for z in sizes]
    return [f"motion:{n:g},{a % 180:g}" for n in sizes for a in np.arange(v[1] - 6, v[1] + 6.1, 1.5)]


def _rivals(spec: str) -> list[str]:
    """The same kernel a quarter smaller and a third larger (same angle), on the fine grid's steps (so
    the cache of kernel spectra stays bounded)."""
    name, (size, *angle) = kernels.split_spec(spec)
    step = FINE[name][0]
    sizes = (min(round(size * f / step) * step, 64) for f in (0.75, 4 / 3))
    return [f"{name}:{z:.2f}" + "".join(f",{a:g}" for a in angle) for z in sizes]


@functools.cache
def _power(spec: str) -> torch.Tensor:
    """|K|^2 of a kernel on the tile's half spectrum (its phase does not matter), times the photo's own
    softness (a Gaussian's |G|^2 = exp(-4 pi^2 sigma^2 |f|^2))."""
    k = kernels.parse(spec).double()
    padded = torch.zeros(WINDOW, WINDOW, dtype=torch.float64)
    padded[: k.shape[0], : k.shape[1]] = k[:WINDOW, :WINDOW]
    squared_f = torch.fft.fftfreq(WINDOW, dtype=torch.float64)[:, None] ** 2
    squared_f = squared_f + torch.fft.rfftfreq(WINDOW, dtype=torch.float64)[None] ** 2
    return torch.fft.rfft2(padded).abs() ** 2 * torch.exp(-4 * np.pi**2 * INTRINSIC_SIGMA**2 * squared_f)


@functools.cache
def _frequencies() -> tuple[torch.Tensor, torch.Tensor]:
    """log |f| of the fitted frequencies and their mask (all but the lowest, where tiles see trends)."""
    fy = torch.fft.fftfreq(WINDOW, dtype=torch.float64)[:, None]
    fx = torch.fft.rfftfreq(WINDOW, dtype=torch.float64)[None]
    f = (fy**2 + fx**2).sqrt()
    band = f > 3 / WINDOW
    return f[band].log(), band


def power_spectrum(gray: torch.Tensor) -> torch.Tensor:
    """Welch's estimate of the (H, W) image's power spectrum on the tile's half grid, scaled so that
    white noise of variance v gives v. Tiles overlap by half; a large image gives an even spread of
    `MAX_TILES` of them, the only ones copied."""
    win = torch.hann_window(WINDOW, periodic=False, dtype=torch.float64)
    w2 = win[:, None] * win[None, :]
    grid = gray.unfold(0, WINDOW, WINDOW // 2).unfold(1, WINDOW, WINDOW // 2)  # a view, no copy
    rows, cols = grid.shape[:2]
    pick = torch.linspace(0, rows * cols - 1, min(rows * cols, MAX_TILES)).round().long()
    tiles = grid[pick // cols, pick % cols].double()
    tiles = tiles - tiles.mean(dim=(1, 2), keepdim=True)
    return (torch.fft.rfft2(tiles * w2).abs() ** 2).mean(0) / (w2**2).sum()


def _errors(log_power: torch.Tensor, specs: list[str], noises: torch.Tensor) -> torch.Tensor:
    """The model's mean squared log-power error for each kernel at its best noise floor; c and alpha
    are the least-squares line through log P - log |K|^2 against -log |f| where the kernel passes."""
    log_f, band = _frequencies()
    k2 = torch.stack([_power(s)[band] for s in specs])
    log_k2 = k2.clamp(min=1e-12).log()
    w = (k2 > PASSED).double()
    x, y = -log_f[None], log_power[None] - log_k2
    n, sx, sy = w.sum(1), (w * x).sum(1), (w * y).sum(1)
    sxx, sxy = (w * x * x).sum(1), (w * x * y).sum(1)
    alpha = ((n * sxy - sx * sy) / (n * sxx - sx**2).clamp(min=1e-12)).clamp(*ALPHAS)
    c = (sy - alpha * sx) / n.clamp(min=1)
    signal = torch.exp(c[:, None] + alpha[:, None] * x + log_k2)
    best = torch.full((len(specs),), float("inf"), dtype=torch.float64)
    for noise in noises:
        best = torch.minimum(best, ((log_power[None] - torch.log(signal + noise)) ** 2).mean(1))
    return best


def identify(gray: torch.Tensor) -> Fit | None:
    """The kernel that best explains the (H, W) image (values in [0, 1]), or None if the image is
    smaller than one tile. The noise floor is fitted too, up to the power at the highest frequencies
    (where a blurred image has nothing but noise)."""
    if min(gray.shape) < WINDOW:
        return None
    log_f, band = _frequencies()
    log_power = power_spectrum(gray)[band].clamp(min=1e-20).log()
    floor = float(log_power[log_f > np.log(0.45)].exp().median())  # noise, if blurred
    noise = floor * NOISE_SCALES
    fits = []
    for specs in _coarse().values():
        first = specs[int(_errors(log_power, specs, noise).argmin())]
        fine = _fine(first)
        errors = _errors(log_power, fine, noise)
        i = int(errors.argmin())
        fits.append((float(errors[i]), fine[i]))
    error, spec = min(fits)
    return Fit(
        spec,
        kernels.parse(spec),
        error,
        float(_errors(log_power, _rivals(spec), noise).min()) >= DISTINCT * error,
    )
