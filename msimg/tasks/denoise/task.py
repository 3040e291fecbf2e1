"""Denoise: a noise-level-conditioned GatedUNet; sigma given or estimated per image. A given sigma says the
noise is white and runs the white-noise model; `--sigma auto` runs the one that also learnt camera noise
(demosaiced, colour-corrected, JPEG'd), told the level it estimates: sharing one network between the two
cost the white-noise case a few tenths of a dB."""

from __future__ import annotations

import numpy as np
import torch

from msimg.engine.task import Plan, Restored, Run, Task, sample_rows
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


def noise_level(colour: np.ndarray, options: DenoiseOptions) -> float:
    """The noise std in [0, 1] units: given, or estimated from rows spread over the image."""
    return estimate_sigma(sample_rows(colour)) if options.sigma is None else options.sigma / 255


def plan(sigma: float, channels: int, strength: float) -> Plan:
    """The noise level (std in [0, 1] units, of an image of `channels` colours) rides along every band."""
    level = torch.tensor([model_level(sigma, channels)])
    return Plan(model_input=lambda rgb, _: model_input(rgb, level), strength=strength)


def restore(run: Run, options: DenoiseOptions) -> Restored:
    """One streamed pass; the `--json` line says the level, on the 8-bit scale, and where it came from."""
    sigma = noise_level(run.colour, options)
    found = {"sigma": round(sigma * 255, 2), "sigma_from": "estimate" if options.sigma is None else "given"}
    pass_ = plan(sigma, run.colour.shape[2], options.strength)
    return Restored(run.stream(pass_, run.progress), found=found)


def model_for(options: DenoiseOptions) -> str:
    return "denoise-real" if options.sigma is None else "denoise-gunet"


TASK = Task(
    name="denoise",
    summary=SUMMARY,
    help=HELP,
    default_model="denoise-real",
    options_type=DenoiseOptions,
    restore=restore,
    model_for=model_for,
)
