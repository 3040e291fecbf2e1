"""How super-resolve's networks are trained: bicubic down-scaling, as the standard benchmarks make inputs,
or the web's own mix of blur, resizing, noise and JPEG (`--degradation real`)."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

import torch

from msimg.train.degrade import bicubic_down, quantize
from msimg.train.loop import Recipe
from msimg.train.losses import luma_weighted
from msimg.train.objectives import Plain
from msimg.train.real import HELD_OUT_SEED, Web, fixed_web, web


class SuperResolveObjective(Plain):
    """Bicubic (antialiased, MATLAB-style) down-scaling by `scale`, quantised to 8 bits like a file.

    Crops are first cut to a multiple of `scale` * `multiple` so both sides of every pair fit the model.
    """

    def __init__(self, scale: int, multiple: int = 16) -> None:
        self.scale, self.step = scale, scale * multiple

    def cut(self, clean: torch.Tensor) -> torch.Tensor:
        """The reference: (N, 3, H, W) cut to a multiple of `scale` * `multiple`."""
        h, w = clean.shape[-2] // self.step * self.step, clean.shape[-1] // self.step * self.step
        return clean[..., :h, :w]

    def pair(self, clean: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(8-bit low-resolution input, the cut reference) for (N, 3, H, W) clean images in [0, 1]."""
        target = self.cut(clean)
        return quantize(bicubic_down(target, self.scale)), target

    def degrade(self, clean: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return self.pair(clean)

    def validation_cases(
        self, clean: torch.Tensor, index: int
    ) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
        return [(f"x{self.scale}", *self.pair(clean))]


# The held-out web images: blur, bicubic down, noise, JPEG (the web-image case; x2 blurs less).
WEB_CASES = {4: {"sigma": 1.0, "noise": 4.0, "quality": 75}, 2: {"sigma": 0.6, "noise": 4.0, "quality": 75}}


def web_case(clean: torch.Tensor, scale: int, index: int) -> torch.Tensor:
    """Image `index` of the held-out web cases at `scale`, the same in validation and the benchmark."""
    gen = torch.Generator().manual_seed(HELD_OUT_SEED + index)
    return fixed_web(clean, scale, gen=gen, **WEB_CASES.get(scale, WEB_CASES[4]))


class RealSuperResolveObjective(SuperResolveObjective):
    """Low-resolution inputs made the way web images are (`msimg.train.real.web`), 8 bits; `luma` trains
    with the luma-weighted loss (`msimg.train.losses.luma_weighted`)."""

    def __init__(self, spec: Web, multiple: int = 16, luma: bool = False) -> None:
        super().__init__(spec.scale, multiple)
        self.spec, self.luma = spec, luma

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return luma_weighted(pred, target) if self.luma else super().loss(pred, target)

    def degrade(self, clean: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        target = self.cut(clean)
        return web(target, gen, self.spec), target

    def validation_cases(
        self, clean: torch.Tensor, index: int
    ) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
        target = self.cut(clean)
        return [(f"web_x{self.scale}", web_case(target, self.scale, index), target)]


def objective(recipe: Recipe) -> SuperResolveObjective:
    multiple = 2 ** len(recipe.config["enc_blocks"])
    if "degradation" in recipe.extra:
        spec = Web.from_record(recipe.extra["degradation"])
        return RealSuperResolveObjective(spec, multiple, luma=recipe.extra.get("loss") == "luma")
    return SuperResolveObjective(recipe.scale, multiple)


RECIPES: dict[str, Recipe] = {}

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
_SR_DATA = ("../shared/data/photos", "../shared/data/bsds500-train/images")
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


def _after(previous: str, name: str, steps: int, lr: float, seed: int, extra: dict[str, Any]) -> Recipe:
    """A recipe that trains `previous`'s shipped weights further: the same network, data and crops."""
    return replace(
        RECIPES[previous],
        name=name,
        steps=steps,
        lr=lr,
        seed=seed,
        init=f"weights/{previous}.safetensors",
        extra=extra,
    )


# Real-degradation models: the bicubic ones fine-tuned on `Web` inputs. Starting from them keeps what they
# learnt of photo detail; the new inputs teach what to leave alone (noise, JPEG blocks, ringing). The
# ranges are Real-ESRGAN's kinds at milder strengths: with its own (blur sigma to 3, noise to 15/255, a
# second round on 2 in 5) the x4 model fell below the bicubic one on mildly degraded web images after
# 2000 steps, while 1000 steps on those images alone gained over it; the mild ranges aim at the web photos
# users enlarge, which a full-reference score can judge.
for _scale, _steps in ((2, 5000), (4, 6000)):
    RECIPES[f"sr-real-x{_scale}"] = _after(
        f"sr-x{_scale}", f"sr-real-x{_scale}", _steps, 5e-4, 1, {"degradation": asdict(Web(scale=_scale))}
    )

# The web images people enlarge are mostly photos saved once, mildly: the mix above saves most of its
# images twice (a JPEG after the noise and another at the end), down to quality 30, and adds a second round
# of blur and noise to one in seven. These train the models above on where those images are: one JPEG at
# quality 40-95 on most images, a second on one in five, noise on four in five.
for _scale in (2, 4):
    _mild = Web(scale=_scale, quality=(40, 95), early_jpeg_share=0.2, second_share=0.05, noise_share=0.8)
    RECIPES[f"sr-real-x{_scale}-mild"] = _after(
        f"sr-real-x{_scale}", f"sr-real-x{_scale}-mild", 4000, 2e-4, 2, {"degradation": asdict(_mild)}
    )

# The mild models trained on with a loss weighted to luma (`luma_weighted`): inputs saved as 4:2:0 JPEG
# keep little colour detail to restore, and the Y channel is where photos' detail is and where the score
# is taken. Against the same further steps with the RGB loss it scored higher on every held-out web case
# tried (BENCHMARKS.md), at the same RGB validation score.
for _scale, _steps in ((2, 5000), (4, 4000)):
    _extra = {**RECIPES[f"sr-real-x{_scale}-mild"].extra, "loss": "luma"}
    RECIPES[f"sr-real-x{_scale}-luma"] = _after(
        f"sr-real-x{_scale}-mild", f"sr-real-x{_scale}-luma", _steps, 1e-4, 4, _extra
    )

# Most web images were shrunk by a library's bicubic or area resize of a photo a lens blurred a little;
# motion, plateau and sinc kernels, and camera noise that survives shrinking, are the rarer cases. These
# train the luma models on the same kinds with the common ones drawn more often (a kind listed more than
# once is drawn that much more): Gaussian blur on 3 in 7 blurred images instead of 1 in 5, bicubic on half
# the resizes, sinc ringing and camera noise half as often.
for _scale in (2, 4):
    _luma = RECIPES[f"sr-real-x{_scale}-luma"]
    _common = replace(
        Web.from_record(_luma.extra["degradation"]),
        kinds=("iso", "iso", "iso", "aniso", "generalized", "plateau", "motion"),
        modes=("area", "bilinear", "bicubic", "bicubic"),
        sinc_share=0.05,
        camera_share=0.1,
    )
    RECIPES[f"sr-real-x{_scale}-common"] = _after(
        f"sr-real-x{_scale}-luma",
        f"sr-real-x{_scale}-common",
        2500,
        1e-4,
        5,
        {**_luma.extra, "degradation": asdict(_common)},
    )
