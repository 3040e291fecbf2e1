"""The recipes of every shipped model. `python -m msimg.train.recipes [NAME...]` (`make weights`)
retrains them exactly as recorded in weights/manifest.json."""

from __future__ import annotations

import sys

from msimg.models.weights import weights_dir
from msimg.train.loop import Recipe

SHARED = "../shared/data"

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
        data=(f"{SHARED}/photos", f"{SHARED}/bsds500-train/images"),
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


def main(names: list[str]) -> int:
    from msimg.train.loop import train
    from msimg.train.objectives import OBJECTIVES

    for name in names or list(RECIPES):
        recipe = RECIPES[name]
        out = weights_dir() / f"{name}.safetensors"
        train(recipe, OBJECTIVES[recipe.task](), out, weights_dir().parent / "runs" / name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
