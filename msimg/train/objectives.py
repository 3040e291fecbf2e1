"""Per-task training objectives: how clean crops become (network input, target) pairs.

Each reuses the task's own `model_input`, so training feeds the network exactly what inference will.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from msimg.train.degrade import (
    bicubic_down,
    blur,
    depth_proxy,
    gaussian_noise,
    haze,
    quantize,
    random_haze,
    random_kernel,
    sensor_noise,
)

if TYPE_CHECKING:
    from msimg.train.loop import Objective, Recipe

VALIDATION_SIGMAS = (15, 25, 50)


class DenoiseObjective:
    """Gaussian and Poisson-Gaussian noise at sigma 0-75 (8-bit scale), clipped and quantised like a file."""

    def __init__(self, max_sigma: float = 75.0, pg_fraction: float = 0.3) -> None:
        self.max_sigma = max_sigma / 255.0
        self.pg_fraction = pg_fraction

    def degrade(self, clean: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        from msimg.tasks.denoise import model_input

        noisy, level = sensor_noise(clean, gen, self.max_sigma, self.pg_fraction)
        return model_input(noisy, level), clean

    def validation_cases(
        self, clean: torch.Tensor, index: int
    ) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
        """Seeded Gaussian noise at the benchmark's sigmas, clipped to 8-bit as real files are."""
        from msimg.tasks.denoise import model_input

        cases = []
        for sigma in VALIDATION_SIGMAS:
            gen = torch.Generator().manual_seed(1000 * index + sigma)
            level = torch.tensor([sigma / 255.0])
            noisy = quantize(gaussian_noise(clean, level, gen))
            cases.append((f"s{sigma}", model_input(noisy, level), clean))
        return cases


class SuperResolveObjective:
    """Bicubic (antialiased, MATLAB-style) down-scaling by `scale`, quantised to 8 bits like a file.

    Crops are first cut to a multiple of `scale` * `multiple` so both sides of every pair fit the model.
    """

    def __init__(self, scale: int, multiple: int = 16) -> None:
        self.scale, self.step = scale, scale * multiple

    def pair(self, clean: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(8-bit low-resolution input, the cut reference) for (N, 3, H, W) clean images in [0, 1]."""
        h, w = clean.shape[-2] // self.step * self.step, clean.shape[-1] // self.step * self.step
        target = clean[..., :h, :w]
        return quantize(bicubic_down(target, self.scale)), target

    def degrade(self, clean: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return self.pair(clean)

    def validation_cases(
        self, clean: torch.Tensor, index: int
    ) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
        return [(f"x{self.scale}", *self.pair(clean))]


VALIDATION_KERNELS = ("gaussian:1.6", "gaussian:3", "motion:15,30", "disk:4")


class DeblurObjective:
    """Random Gaussian, defocus, linear and curved shake blur, mild noise, 8-bit rounding; for a share of
    the crops the kernel is known and the network gets the Wiener estimate too (the task's two modes)."""

    def __init__(self, known_fraction: float = 0.5, max_noise: float = 2 / 255) -> None:
        self.known_fraction, self.max_noise = known_fraction, max_noise

    def degrade(self, clean: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        from msimg.deconv import wiener
        from msimg.tasks.deblur import WIENER_REG, model_input

        n = clean.shape[0]
        ks = [random_kernel(gen) for _ in range(n)]
        sigma = self.max_noise * torch.rand(n, generator=gen)
        blurred = quantize(gaussian_noise(blur(clean, ks), sigma, gen))
        known = torch.rand(n, generator=gen) < self.known_fraction
        estimate = blurred.clone()
        for i in torch.nonzero(known).flatten().tolist():
            estimate[i : i + 1] = wiener(blurred[i : i + 1], ks[i], WIENER_REG)
        return model_input(estimate, blurred), clean

    def validation_cases(
        self, clean: torch.Tensor, index: int
    ) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
        """The benchmark's four kernels with noise 1/255, blind and with the kernel given."""
        from msimg.deconv import wiener
        from msimg.kernels import parse
        from msimg.tasks.deblur import WIENER_REG, model_input

        cases = []
        for j, spec in enumerate(VALIDATION_KERNELS):
            k = parse(spec)
            gen = torch.Generator().manual_seed(1000 * index + j)
            blurred = quantize(gaussian_noise(blur(clean, [k]), torch.tensor([1 / 255]), gen))
            name = spec.split(":")[0][0] + spec.split(":")[1].split(",")[0]
            cases.append((f"blind_{name}", model_input(blurred, blurred), clean))
            cases.append((f"known_{name}", model_input(wiener(blurred, k, WIENER_REG), blurred), clean))
        return cases


VALIDATION_HAZE = {"light": 0.8, "dense": 2.0}  # beta over depth 0-1: far transmission 0.45 and 0.14


class DehazeObjective:
    """Synthetic haze from the scattering model over made-up depth (see `degrade.random_haze`); the
    network is told the air light as the task estimates it, from the hazy image itself."""

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
    from msimg.tasks.dehaze import air_light, model_input

    lights = torch.stack([air_light(im.permute(1, 2, 0).numpy()) for im in hazy])
    return model_input(hazy, lights)


OBJECTIVES: dict[str, Callable[[Recipe], Objective]] = {
    "denoise": lambda recipe: DenoiseObjective(),
    "deblur": lambda recipe: DeblurObjective(),
    "dehaze": lambda recipe: DehazeObjective(),
    "super-resolve": lambda recipe: SuperResolveObjective(
        recipe.scale, multiple=2 ** len(recipe.config["enc_blocks"])
    ),
}


def objective_for(recipe: Recipe) -> Objective:
    return OBJECTIVES[recipe.task](recipe)
