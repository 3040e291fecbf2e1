"""How dehaze's network is trained: synthetic haze by the scattering model over made-up depth."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

import torch

from msimg.models.dcp import DarkChannelConfig, atmospheric_light
from msimg.models.survey import with_constants
from msimg.tasks.denoise.training import RECIPES as DENOISE
from msimg.train.degrade import depth_proxy, gaussian_noise, haze, quantize, random_haze
from msimg.train.loop import Recipe
from msimg.train.objectives import Plain

VALIDATION_HAZE = {"light": 0.8, "dense": 2.0}  # beta over depth 0-1: far transmission 0.45 and 0.14


class DehazeObjective(Plain):
    """Synthetic haze from the scattering model over made-up depth (see `degrade.random_haze`); the
    network is told the air light the dark channel prior's rule estimates from the hazy image itself."""

    def degrade(self, clean: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        hazy = random_haze(clean, gen)
        return _with_air_light(hazy), clean

    def validation_cases(
        self, clean: torch.Tensor, index: int
    ) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
        """Each image hazed at the benchmark's two densities over a seeded depth, white-grey air light."""
        cases = []
        for j, (name, beta) in enumerate(VALIDATION_HAZE.items()):
            hazy = hazed_copy(clean, beta, 1000 * index + j)
            cases.append((name, _with_air_light(hazy), clean))
        return cases


def hazed_copy(clean: torch.Tensor, beta: float, seed: int) -> torch.Tensor:
    """The validation and benchmark haze: seeded depth proxy, uniform `beta`, air light 0.9 grey,
    noise 1/255, 8 bits."""
    gen = torch.Generator().manual_seed(seed)
    n, _, h, w = clean.shape
    depth = depth_proxy(n, h, w, gen)
    hazy = haze(clean, depth, torch.full((n,), beta), torch.full((n, 3), 0.9))
    return quantize(gaussian_noise(hazy, torch.full((n,), 1 / 255), gen))


def _with_air_light(hazy: torch.Tensor) -> torch.Tensor:
    """The network's input with the air light the dark channel prior's rule finds in each image, as the
    model's global stage does at run time (`engine.survey`)."""

    return with_constants(hazy, atmospheric_light(hazy, DarkChannelConfig.patch))


def objective(recipe: Recipe) -> DehazeObjective:
    return DehazeObjective()


RECIPES: dict[str, Recipe] = {}

# Dehaze: the denoise network's body with attention fusion of the scales, predicting the transmission
# and inverting the scattering model (`scattering_unet`), started from the denoise weights (the first and
# last convolutions and the fusions start afresh). Validated on 512-pixel crops like the benchmark: haze
# spans whole photos, not 256-pixel crops.
_BODY = {k: v for k, v in DENOISE["denoise-gunet"].config.items() if k not in ("in_channels", "out_channels")}
RECIPES["dehaze-gunet"] = replace(
    DENOISE["denoise-gunet"],
    name="dehaze-gunet",
    task="dehaze",
    architecture="scattering-unet",
    # refine: the guided filter on t and c at run time only (see scattering_unet); radius 16, eps 1e-3 picked
    # on 26 training images (light / dense haze 23.36 / 20.12 dB without, 24.50 / 20.70 with; radius 32
    # 24.67 / 20.46, 48 with eps 1e-2 24.41 / 19.86), 2026-11-29.
    config={**_BODY, "fusion": "attention", "patch": 15, "t_min": 0.05, "refine": 16, "refine_eps": 1e-3},
    steps=5000,  # ~1.45 s/step on 2 cores: about 2 h (145 min measured, tests running beside it)
    val_crop=512,
    init="weights/denoise-gunet.safetensors",
    bf16=False,
)

# Models without weights: their manifest entries are written, not trained.
ANALYTIC: dict[str, dict[str, Any]] = {
    "dehaze-dcp": {
        "task": "dehaze",
        "architecture": "dark-channel-prior",
        "config": asdict(DarkChannelConfig()),
        "reference": "He, Sun, Tang: Single Image Haze Removal Using Dark Channel Prior (CVPR 2009); "
        "guided filter refinement (He, Sun, Tang, ECCV 2010)",
    },
}
