"""The recipes of every shipped model. `python -m msimg.train.recipes [NAME...]` (`make weights`)
retrains them exactly as recorded in weights/manifest.json."""

from __future__ import annotations

import sys
from dataclasses import asdict, replace
from typing import Any

from msimg.models.boundary_net import BoundaryNetConfig
from msimg.models.dcp import DarkChannelConfig
from msimg.models.swin_demosaic import SwinDemosaicConfig
from msimg.models.weights import save_manifest_entry, training_weights_dir
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

# Deblur: the denoise network with six input channels (the estimate and the blurred image), started
# from the denoise weights (all but the first convolution fit), so fewer steps than from scratch.
# fp32: bf16 autocast is ~10x slower than fp32 on CPUs without AVX-512 BF16 (measured on an AVX2 machine).
RECIPES["deblur-gunet"] = replace(
    RECIPES["denoise-gunet"],
    name="deblur-gunet",
    task="deblur",
    config={**RECIPES["denoise-gunet"].config, "in_channels": 6},
    steps=5000,
    init="weights/denoise-gunet.safetensors",
    bf16=False,
)

# Super-resolution: the network runs at low resolution, three levels, with most of its blocks at the
# input's own resolution (the finest detail is what super-resolution has to invent). Width 40 with blocks
# [4, 2, 1] each way (2.2 M parameters) beat width 32 with [2, 2, 2] (1.7 M) on the validation crops by
# +0.10 / +0.06 / +0.07 dB at x2 / x3 / x4 for the same steps (2026-11-29). x3 and x4 start from the x2
# weights (all but the pixel-shuffle ending fit). On 2 cores (AMD EPYC): x2 0.30 s/step (62 min), x3 and
# x4 0.17 s/step (23 and 35 min); 8000 steps instead of 3000 gave x3 / x4 +0.15 / +0.13 dB (width 32), and
# 12000 steps instead of 6000 / 8000 +0.21 dB at x2, +0.04 dB at x4 on the validation crops (2026-11-29).
_SR = {
    "in_channels": 3,
    "out_channels": 3,
    "width": 40,
    "enc_blocks": [4, 2, 1],
    "mid_blocks": 1,
    "dec_blocks": [4, 2, 1],
}
_SR_DATA = (f"{SHARED}/photos", f"{SHARED}/bsds500-train/images")
for _scale, _crop, _steps in ((2, 128, 12000), (3, 144, 8000), (4, 192, 12000)):
    RECIPES[f"sr-x{_scale}"] = Recipe(
        name=f"sr-x{_scale}",
        task="super-resolve",
        architecture="gated-unet",
        config={**_SR, "scale": _scale},
        data=_SR_DATA,
        steps=_steps,
        batch=8,
        crop=_crop,
        lr=1e-3 if _scale == 2 else 5e-4,
        seed=0,
        val_fraction=0.1,
        val_every=1000,
        bf16=False,  # see deblur: fp32 trains fast on any CPU
        scale=_scale,
        init=None if _scale == 2 else "weights/sr-x2.safetensors",
    )


# Dehaze: the denoise network's body with attention fusion of the scales, predicting the transmission
# and inverting the scattering model (`scattering_unet`), started from the denoise weights (the first and
# last convolutions and the fusions start afresh). Validated on 512-pixel crops like the benchmark: haze
# spans whole photos, not 256-pixel crops.
_BODY = {k: v for k, v in RECIPES["denoise-gunet"].config.items() if k not in ("in_channels", "out_channels")}
RECIPES["dehaze-gunet"] = replace(
    RECIPES["denoise-gunet"],
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

# Demosaic, first stage: windowed attention on the 4x4-folded mosaic and convolutions at H/2 for the fine
# detail, a residual over the classical pipeline with Menon's interpolation, trained on synthetic linear RAW
# frames of every supported pattern (HybridEVS half the time, Bayer 40 %) with the pixel-focus loss.
RECIPES["demosaic-swin-linear"] = Recipe(
    name="demosaic-swin-linear",
    task="demosaic",
    architecture="swin-demosaic",
    config=asdict(SwinDemosaicConfig(base="menon", local=48)),
    data=(f"{SHARED}/photos", f"{SHARED}/bsds500-train/images"),
    steps=10000,  # ~0.46 s/step on 2 cores: about 80 min
    extra={"mix": {"quad-bayer-evs": 0.5, "quad-bayer": 0.1, "bayer": 0.4}, "noiseless_fraction": 0.5},
    batch=8,
    crop=128,
    lr=5e-4,
    seed=0,
    val_fraction=0.1,
    val_every=1000,
    bf16=False,
)

# Demosaic, shipped: the first stage taught the input space (a channel it reads; its weights start at 0)
# and holes as data. Half the frames are display-referred (the MIPI HybridEVS files and the demosaic
# benchmarks sample the sRGB photo itself; run through the linear model after decoding, such mosaics
# scored 3.5 dB under the same model fed them as they are, 2026-12-06), half the frames get a random hole
# layout, and unmarked dead and hot pixels (up to 0.2 %) teach it to ignore what nobody masked.
RECIPES["demosaic-swin"] = replace(
    RECIPES["demosaic-swin-linear"],
    name="demosaic-swin",
    config=asdict(SwinDemosaicConfig(base="menon", local=48, spaces=True)),
    steps=5000,
    lr=3e-4,
    init="weights/demosaic-swin-linear.safetensors",
    extra={
        **RECIPES["demosaic-swin-linear"].extra,
        "srgb_fraction": 0.5,
        "layout_fraction": 0.5,
        "marked_defects": 0.002,
        "stuck": 0.002,
    },
)

# Segment: a boundary network with side outputs at four scales, trained on the BSDS500 human boundaries;
# a name-hashed 22.5 % of the 200 images (exactly 50) is held out, as the issue asks.
RECIPES["segment-boundary"] = Recipe(
    name="segment-boundary",
    task="segment",
    architecture="boundary-net",
    config=asdict(BoundaryNetConfig()),
    data=(f"{SHARED}/bsds500-train/images",),
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
    "demosaic-classic": {
        "task": "demosaic",
        "architecture": "classic-demosaic",
        "config": {},
        "reference": "event pixels filled from their same-colour quad-mates; Quad-Bayer -> Bayer by swapping "
        "rows and columns 1 and 2 of each 4x4 tile; Malvar, He, Cutler: High-quality linear interpolation "
        "for demosaicing of Bayer-patterned color images (ICASSP 2004)",
    },
    "demosaic-libraw": {
        "task": "demosaic",
        "architecture": "identity",
        "config": {},
        "reference": "LibRaw's own development through rawpy (its default demosaic, AHD for Bayer; its "
        "colour matrix), for comparison; the model passes the developed image through",
    },
    "dehaze-dcp": {
        "task": "dehaze",
        "architecture": "dark-channel-prior",
        "config": asdict(DarkChannelConfig()),
        "reference": "He, Sun, Tang: Single Image Haze Removal Using Dark Channel Prior (CVPR 2009); "
        "guided filter refinement (He, Sun, Tang, ECCV 2010)",
    },
}


def write_analytic(name: str) -> None:
    spec = ANALYTIC[name]
    save_manifest_entry({"name": name, "file": None, "sha256": None, "parameters": 0, "scale": 1, **spec})


def main(names: list[str]) -> int:
    from msimg.train.loop import train
    from msimg.train.objectives import objective_for

    for name in names or [*RECIPES, *ANALYTIC]:
        if name in ANALYTIC:
            write_analytic(name)
            continue
        recipe = RECIPES[name]
        out = training_weights_dir() / f"{name}.safetensors"
        train(recipe, objective_for(recipe), out, training_weights_dir().parent / "runs" / name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
