"""How segment's boundary network is trained: BSDS500 photos and their human boundaries."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from msimg.models.boundary_net import BoundaryNetConfig
from msimg.tasks.segment.bsds import boundaries_of, load_ground_truth
from msimg.tasks.segment.measures import boundary_pr_curve, bsds_tolerance, precision_recall_f
from msimg.train.data import load_rgb
from msimg.train.loop import Recipe
from msimg.train.objectives import Plain

VALIDATION_THRESHOLDS = tuple(np.linspace(0.05, 0.95, 19))


class SegmentObjective(Plain):
    """BSDS500 photos with their human boundaries: the annotators' agreement (the share of them who drew
    a boundary at a pixel) rides along as a fourth channel, so crops, flips and rotations keep it aligned.

    The boundary network returns the logits of every side output and of their fusion while training;
    each gets the class-balanced cross-entropy of HED (boundary pixels are ~5 % of a photo, so they weigh
    the share of non-boundary pixels), with boundary pixels weighted by their agreement. Validation: the
    best F over thresholds of the thinned fused map against the annotators' boundaries (union), within
    the BSDS distance tolerance."""

    def load(self, path: Path) -> np.ndarray:

        rgb = load_rgb(path)
        truths = load_ground_truth(path.parent.parent / "groundTruth" / f"{path.stem}.mat")
        agreement = np.mean([boundaries_of(t) for t in truths], axis=0)
        return np.concatenate([rgb, np.round(agreement * 255).astype(np.uint8)[..., None]], axis=2)

    def degrade(self, clean: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return clean[:, :3], clean[:, 3:]

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return balanced_boundary_loss(pred, target)

    def validation_cases(
        self, clean: torch.Tensor, index: int
    ) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
        return [("bsds", clean[:, :3], clean[:, 3:])]

    def scores(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, float]:

        soft, truth = output[0, 0].numpy(), target[0, 0].numpy() > 0
        curve = boundary_pr_curve(soft, [truth], VALIDATION_THRESHOLDS, bsds_tolerance(*soft.shape))
        return {"f": max(precision_recall_f(c)[2] for c in curve)}


def balanced_boundary_loss(logits: torch.Tensor, agreement: torch.Tensor) -> torch.Tensor:
    """(N, K, H, W) logits of K boundary maps, (N, 1, H, W) annotator agreement in [0, 1] -> HED's
    class-balanced binary cross-entropy summed over the K maps (deep supervision), per-pixel mean,
    boundary pixels weighted by their agreement."""
    positive = agreement > 0
    share = positive.float().mean(dim=(1, 2, 3), keepdim=True)  # per image
    weight = torch.where(positive, (1 - share) * agreement, share)
    labels = positive.float().expand_as(logits)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, labels, weight=weight.expand_as(logits), reduction="none"
    )
    return bce.mean(dim=(2, 3)).sum(dim=1).mean()


def objective(recipe: Recipe) -> SegmentObjective:
    return SegmentObjective()


RECIPES: dict[str, Recipe] = {}

# Segment: a boundary network with side outputs at four scales, trained on the BSDS500 human boundaries;
# a name-hashed 22.5 % of the 200 images (exactly 50) is held out, as the issue asks.
RECIPES["segment-boundary"] = Recipe(
    name="segment-boundary",
    task="segment",
    architecture="boundary-net",
    config=asdict(BoundaryNetConfig()),
    data=("../shared/data/bsds500-train/images",),
    steps=4000,  # ~0.8 s/step on 2 cores: about 55 min
    batch=8,
    crop=160,
    lr=1e-3,
    seed=0,
    val_fraction=0.225,
    val_crop=320,
    val_every=1000,
    bf16=False,
)

# Models without weights: their manifest entries are written, not trained.
ANALYTIC: dict[str, dict[str, Any]] = {
    "segment-superpixels": {
        "task": "segment",
        "architecture": "identity",
        "config": {},
        "reference": "the image itself, for SLIC (Achanta et al., TPAMI 2012) and Felzenszwalb-Huttenlocher "
        "(IJCV 2004) superpixels from scikit-image, run on the whole image",
    },
}
