"""Denoise: a noise-level-conditioned GatedUNet; sigma given or estimated per image."""

from __future__ import annotations

import numpy as np
import torch

from msimg.engine.task import Plan, Task, sample_rows, streamed
from msimg.tasks.denoise.options import HELP, MAX_SIGMA, SUMMARY, DenoiseOptions


def estimate_sigma(rgb: np.ndarray) -> float:
    """Noise std in [0, 1] units from the median absolute deviation of the finest diagonal Haar wavelet
    coefficients (Donoho & Johnstone 1994), per channel, median over channels.

    Only 2x2 blocks of mid-tone mean are used: clipping at 0 and 1 shrinks the noise in dark and bright
    areas, and would otherwise make strong noise look weaker (sigma 50 read as ~45 on real photos).
    """
    h, w = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
    if h < 2 or w < 2:
        return 0.0
    x = rgb[:h, :w]
    a, b, c, d = x[0::2, 0::2], x[0::2, 1::2], x[1::2, 0::2], x[1::2, 1::2]
    hh = np.abs(a - b - c + d) / 2
    mean = (a + b + c + d) / 4
    keep = (mean > 0.2) & (mean < 0.8)
    per_channel = []
    for ch in range(x.shape[2]):
        values = hh[..., ch][keep[..., ch]]
        if values.size < 1000:  # too few mid-tones (a dark or bright image): use every block
            values = hh[..., ch].ravel()
        per_channel.append(np.median(values) / 0.6745)
    return float(np.median(per_channel))


def model_level(sigma: float, channels: int) -> float:
    """The level to tell the model for noise of std `sigma` in an image of `channels` colour channels.

    A gray image reaches the model as three identical channels: its noise is the same in all three, so
    the luminance carries sqrt(3) times the noise of colour noise at that level. Saying so gains 4-7 dB on
    gray photos at sigma 15-40 (measured on the sample photos in gray).
    """
    return min(sigma * 3**0.5, MAX_SIGMA / 255) if channels == 1 else sigma


def model_input(noisy: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) noisy RGB and (N,) noise std in [0, 1] units -> the (N, 4, H, W) network input.

    Shared by inference and training so the two can never disagree.
    """
    n, c, h, w = noisy.shape
    x = torch.empty((n, c + 1, h, w), dtype=torch.float32)  # one buffer: the image may be huge
    x[:, :c] = noisy
    x[:, c] = level.view(-1, 1, 1).to(torch.float32)
    return x


def plan(colour: np.ndarray, options: DenoiseOptions) -> Plan:
    """The noise level (given, or estimated from rows spread over the image) rides along every band."""
    sigma = estimate_sigma(sample_rows(colour)) if options.sigma is None else options.sigma / 255
    level = torch.tensor([model_level(sigma, colour.shape[2])])
    return Plan(model_input=lambda rgb, _: model_input(rgb, level), strength=options.strength)


TASK = Task(
    name="denoise",
    summary=SUMMARY,
    help=HELP,
    default_model="denoise-gunet",
    options_type=DenoiseOptions,
    restore=streamed(plan),
)
