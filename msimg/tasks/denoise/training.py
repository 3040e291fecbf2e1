"""How denoise's network is trained: photos with Gaussian and Poisson-Gaussian noise."""

from __future__ import annotations

import torch

from msimg.tasks.denoise.task import model_input
from msimg.train.degrade import gaussian_noise, quantize, sensor_noise
from msimg.train.loop import Recipe
from msimg.train.objectives import Plain

VALIDATION_SIGMAS = (15, 25, 50)


class DenoiseObjective(Plain):
    """Gaussian and Poisson-Gaussian noise at sigma 0-75 (8-bit scale), clipped and quantised like a file."""

    def __init__(self, max_sigma: float = 75.0, pg_fraction: float = 0.3) -> None:
        self.max_sigma = max_sigma / 255.0
        self.pg_fraction = pg_fraction

    def degrade(self, clean: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:

        noisy, level = sensor_noise(clean, gen, self.max_sigma, self.pg_fraction)
        return model_input(noisy, level), clean

    def validation_cases(
        self, clean: torch.Tensor, index: int
    ) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
        """Seeded Gaussian noise at the benchmark's sigmas, clipped to 8-bit as real files are."""

        cases = []
        for sigma in VALIDATION_SIGMAS:
            gen = torch.Generator().manual_seed(1000 * index + sigma)
            level = torch.tensor([sigma / 255.0])
            noisy = quantize(gaussian_noise(clean, level, gen))
            cases.append((f"s{sigma}", model_input(noisy, level), clean))
        return cases


def objective(recipe: Recipe) -> DenoiseObjective:
    return DenoiseObjective()


RECIPES: dict[str, Recipe] = {
    "denoise-gunet": Recipe(
        name="denoise-gunet",
        task="denoise",
        architecture="gated-unet",
        config={
            "in_channels": 4,
            "out_channels": 3,
            "width": 24,
            "enc_blocks": [1, 1, 1, 2],
            "mid_blocks": 2,
            "dec_blocks": [1, 1, 1, 1],
        },
        data=("../shared/data/photos", "../shared/data/bsds500-train/images"),
        steps=9000,
        batch=8,
        crop=128,
        lr=1e-3,
        seed=0,
        val_fraction=0.1,
        val_every=1000,
        bf16=True,
    ),
}
