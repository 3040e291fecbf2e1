"""How denoise's networks are trained: photos with Gaussian and Poisson-Gaussian noise, and (the default
model) also photos through a simulated camera: noise in linear light, demosaicing, colour correction, JPEG."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

import torch

from msimg.tasks.denoise.task import estimate_sigma, model_input
from msimg.train.degrade import gaussian_noise, jpeg, quantize, sensor_noise
from msimg.train.loop import Recipe
from msimg.train.objectives import Plain
from msimg.train.real import BAYER, HELD_OUT_SEED, Camera, camera, camera_shot

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


# The held-out camera case (the high-ISO phone): shot and read noise of one setting, Menon's
# demosaic, a mild colour matrix, JPEG 90; photos go through it with seeds training never uses.
CAMERA_CASE: dict[str, Any] = {
    "shot": 8e-3,
    "read": 4e-3,
    "gains": (2.0, 1.6),
    "saturation": 0.3,
    "demosaic": "menon",
}
CAMERA_QUALITY = 90


def camera_case(clean: torch.Tensor, index: int) -> torch.Tensor:
    """Image `index` of the held-out camera cases (Bayer phase by index), 8 bits, JPEG 90."""
    gen = torch.Generator().manual_seed(HELD_OUT_SEED + index)
    shot = camera_shot(clean, gen, pattern=BAYER[index % len(BAYER)], **CAMERA_CASE)
    return jpeg(shot, [CAMERA_QUALITY] * clean.shape[0])


def auto_level(noisy: torch.Tensor) -> torch.Tensor:
    """(N,) the level `--sigma auto` tells the model: the estimate from the noisy image itself."""
    return torch.tensor([estimate_sigma(x.permute(1, 2, 0).numpy()) for x in noisy], dtype=torch.float32)


class BlindDenoiseObjective(DenoiseObjective):
    """Today's white and Poisson-Gaussian mix (told the true level, as `--sigma N` tells it) on half the
    crops, camera photos (`Camera`, told the level `--sigma auto` would estimate) on the other half: one
    model for noise of a given sigma and for what a camera's pipeline leaves."""

    def __init__(self, spec: Camera, camera_share: float = 0.5) -> None:
        super().__init__()
        self.spec, self.camera_share = spec, camera_share

    def degrade(self, clean: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        x, target = super().degrade(clean, gen)
        real = torch.rand(clean.shape[0], generator=gen) < self.camera_share
        if real.any():
            shots = camera(clean[real], gen, self.spec)
            x[real] = model_input(shots, auto_level(shots))
        return x, target

    def validation_cases(
        self, clean: torch.Tensor, index: int
    ) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
        shot = camera_case(clean, index)
        return [
            *super().validation_cases(clean, index),
            ("camera", model_input(shot, auto_level(shot)), clean),
        ]


def objective(recipe: Recipe) -> DenoiseObjective:
    if "camera" in recipe.extra:
        spec = Camera.from_record(recipe.extra["camera"])
        return BlindDenoiseObjective(spec, recipe.extra["camera_share"])
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

# The default model: the white-noise one fine-tuned on half camera photos. Starting from it keeps its
# white-noise skill (the half that still sees white noise, told its level, holds it there).
RECIPES["denoise-real"] = replace(
    RECIPES["denoise-gunet"],
    name="denoise-real",
    steps=3000,
    lr=5e-4,
    seed=1,
    init="weights/denoise-gunet.safetensors",
    extra={"camera": asdict(Camera()), "camera_share": 0.5},
)
