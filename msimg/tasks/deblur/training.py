"""How deblur's blind network is trained: random blur kernels, mild noise, 8-bit rounding."""

from __future__ import annotations

from dataclasses import replace

import torch

from msimg.ops.kernels import parse
from msimg.tasks.deblur.deconv import wiener
from msimg.tasks.deblur.task import WIENER_REG, model_input
from msimg.tasks.denoise.training import RECIPES as DENOISE
from msimg.train.degrade import blur, gaussian_noise, quantize, random_kernel
from msimg.train.loop import Recipe
from msimg.train.objectives import Plain

VALIDATION_KERNELS = ("gaussian:1.6", "gaussian:3", "motion:15,30", "disk:4")


class DeblurObjective(Plain):
    """Random Gaussian, defocus, linear and curved shake blur, mild noise, 8-bit rounding; for a share of
    the crops the kernel is known and the network gets the Wiener estimate too (the task's two modes)."""

    def __init__(self, known_fraction: float = 0.5, max_noise: float = 2 / 255) -> None:
        self.known_fraction, self.max_noise = known_fraction, max_noise

    def degrade(self, clean: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:

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

        cases = []
        for j, spec in enumerate(VALIDATION_KERNELS):
            k = parse(spec)
            gen = torch.Generator().manual_seed(1000 * index + j)
            blurred = quantize(gaussian_noise(blur(clean, [k]), torch.tensor([1 / 255]), gen))
            name = spec.split(":")[0][0] + spec.split(":")[1].split(",")[0]
            cases.append((f"blind_{name}", model_input(blurred, blurred), clean))
            cases.append((f"known_{name}", model_input(wiener(blurred, k, WIENER_REG), blurred), clean))
        return cases


def objective(recipe: Recipe) -> DeblurObjective:
    return DeblurObjective()


RECIPES: dict[str, Recipe] = {}

# Deblur: the denoise network with six input channels (the estimate and the blurred image), started
# from the denoise weights (all but the first convolution fit), so fewer steps than from scratch.
# fp32: bf16 autocast is ~10x slower than fp32 on CPUs without AVX-512 BF16 (measured on an AVX2 machine).
RECIPES["deblur-gunet"] = replace(
    DENOISE["denoise-gunet"],
    name="deblur-gunet",
    task="deblur",
    config={**DENOISE["denoise-gunet"].config, "in_channels": 6},
    steps=5000,
    init="weights/denoise-gunet.safetensors",
    bf16=False,
)
