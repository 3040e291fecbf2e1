"""How dejpeg's network is trained: photos compressed the way users' files were, with the encoder most
of them come from (libjpeg through Pillow), decoded by msimg's own reader."""

from __future__ import annotations

import torch

from msimg.tasks.dejpeg.task import model_input
from msimg.tasks.denoise.training import RECIPES as DENOISE
from msimg.train.degrade import jpeg
from msimg.train.loop import Recipe
from msimg.train.objectives import Plain

VALIDATION_QUALITIES = (10, 20, 30, 50)
GRID = 16  # a 4:2:0 JPEG's coding unit: crops are shifted against it at random


class DejpegObjective(Plain):
    """Quality drawn from `low`-`high` (uniform, so the strong compression that needs the most help gets
    as many crops as the mild), 4:2:0 chroma on `subsampled` of the crops and 4:4:4 on the rest; the
    quality is told to the network on `known` of them. Crops are cut at a random offset within a 16-pixel
    coding unit, so the network sees block edges at every phase of its own down-sampling."""

    def __init__(self, low: int = 5, high: int = 95, subsampled: float = 0.75, known: float = 0.5) -> None:
        self.low, self.high, self.subsampled, self.known = low, high, subsampled, known

    def degrade(self, clean: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        n = clean.shape[0]
        qualities = torch.randint(self.low, self.high + 1, (n,), generator=gen)
        subsampling = ["4:2:0" if s else "4:4:4" for s in (torch.rand(n, generator=gen) < self.subsampled)]
        dy, dx = torch.randint(0, GRID, (2,), generator=gen).tolist()
        size = clean.shape[-1] - GRID
        clean = clean[..., dy : dy + size, dx : dx + size]
        told = torch.where(torch.rand(n, generator=gen) < self.known, qualities, 0)
        return model_input(jpeg(clean, qualities.tolist(), subsampling), told), clean

    def validation_cases(
        self, clean: torch.Tensor, index: int
    ) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
        """4:2:0 at the benchmark's qualities, told the quality and blind."""
        cases = []
        for q in VALIDATION_QUALITIES:
            compressed = jpeg(clean, [q])
            cases.append((f"q{q}", model_input(compressed, torch.tensor([q])), clean))
            cases.append((f"q{q}_blind", model_input(compressed, torch.tensor([0])), clean))
        return cases


def objective(recipe: Recipe) -> DejpegObjective:
    return DejpegObjective(**recipe.extra)


# The denoise network with two more inputs (the compression strength and whether it is known), started from
# the denoise weights: removing JPEG's errors is close kin to removing noise, and the new inputs start at 0.
# Crops of 144 are cut to 128 at a random phase of the coding unit.
RECIPES = {
    "dejpeg-gunet": Recipe(
        name="dejpeg-gunet",
        task="dejpeg",
        architecture="gated-unet",
        config={**DENOISE["denoise-gunet"].config, "in_channels": 5},
        data=("../shared/data/photos", "../shared/data/bsds500-train/images"),
        steps=6000,
        batch=8,
        crop=128 + GRID,
        lr=5e-4,
        seed=0,
        val_fraction=0.1,
        val_every=1000,
        bf16=True,
        init="weights/denoise-gunet.safetensors",
        extra={"low": 5, "high": 95, "subsampled": 0.75, "known": 0.5},
    )
}
