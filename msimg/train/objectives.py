"""Per-task training objectives: how clean crops become (network input, target) pairs.

Each reuses the task's own `model_input`, so training feeds the network exactly what inference will.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from msimg.metrics import psnr, ssim
from msimg.train.data import load_rgb
from msimg.train.degrade import (
    bicubic_down,
    blur,
    depth_proxy,
    gaussian_noise,
    haze,
    quantize,
    random_haze,
    random_holes,
    random_kernel,
    raw_capture,
    scattered,
    sensor_noise,
    stuck_pixels,
)
from msimg.train.losses import charbonnier, pixel_focus

if TYPE_CHECKING:
    from msimg.train.loop import Objective, Recipe

VALIDATION_SIGMAS = (15, 25, 50)


class Plain:
    """The usual case: photos in, the model's output is the image the user sees; Charbonnier loss,
    PSNR/SSIM on 8 bits."""

    def present(self, output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return output

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return charbonnier(pred, target)

    def load(self, path: Path) -> np.ndarray:
        return load_rgb(path)

    def scores(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        """PSNR/SSIM of a (1, C, H, W) output on 8 bits, as a user would get it from a file."""
        out, ref = (
            (t[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy() for t in (output, target)
        )
        return {"psnr": psnr(out, ref), "ssim": ssim(out, ref)}


class DenoiseObjective(Plain):
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


class SuperResolveObjective(Plain):
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


class DeblurObjective(Plain):
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
    from msimg.engine.survey import with_constants
    from msimg.models.dcp import DarkChannelConfig, atmospheric_light

    return with_constants(hazy, atmospheric_light(hazy, DarkChannelConfig.patch))


VALIDATION_RAW = {"evs": "quad-bayer-evs", "bayer": "bayer-rggb"}
VALIDATION_GAINS = (2.0, 1.0, 1.6)  # a daylight-like sensor response: red and blue read low


def period8_tile() -> np.ndarray:
    """One period of a fixed hole layout of period 8 (1 site in 8 missing, at R, G and B sites alike),
    for validation and the benchmark: one layout no training draw is meant to repeat."""
    tile = np.zeros((8, 8), dtype=bool)
    tile[np.arange(8), (3 * np.arange(8) + 1) % 8] = True
    return tile


class DemosaicObjective(Plain):
    """Synthetic RAW frames from photos (docs/hybridevs-research.md, EVENT_RAW.md).

    Linear frames: sRGB undone to linear light, a random white balance divided out, the CFA sampled
    (`mix`, pattern kind -> share: HybridEVS Quad-Bayer with event holes, plain Quad-Bayer and Bayer of any
    phase, so one model serves every pattern), shot and read noise on all but `noiseless_fraction` of the
    frames, 10 or 12 bits; the model input re-applies the white balance as the task does. Display-referred
    frames (`srgb_fraction` of them): the sRGB photo itself sampled, as the MIPI HybridEVS files and the
    demosaic benchmarks make their mosaics, with Gaussian read noise. `layout_fraction` of the frames get a
    random hole layout instead of the pattern's (period 4 or 8, up to 20 % of sites), `marked_defects` is
    the highest rate of scattered holes marked in the mask (half the frames), `stuck` the highest rate of
    unmarked pixels reading 0 or full scale (half the frames). Loss and metrics on sRGB (the linear output
    encoded), with the pixel-focus loss. All settings come from the recipe's `extra`, so the manifest
    records them."""

    def __init__(
        self,
        mix: dict[str, float],
        noiseless_fraction: float,
        srgb_fraction: float = 0.0,
        layout_fraction: float = 0.0,
        marked_defects: float = 0.0,
        stuck: float = 0.0,
    ) -> None:
        unknown = set(mix) - {"quad-bayer-evs", "quad-bayer", "bayer"}
        if unknown:
            raise ValueError(f"demosaic training mix: unknown pattern kinds {sorted(unknown)}")
        self.mix, self.noiseless_fraction = mix, noiseless_fraction
        self.srgb_fraction, self.layout_fraction = srgb_fraction, layout_fraction
        self.marked_defects, self.stuck = marked_defects, stuck

    def present(self, output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        from msimg.colour import srgb_encode

        return torch.where(x[:, 5:6, :1, :1] > 0.5, output, srgb_encode(output))

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return pixel_focus(pred, target)

    def _holes(self, pattern: str, height: int, width: int, gen: torch.Generator) -> np.ndarray | None:
        """A frame's hole map, None for the pattern's own. Every draw is guarded by its setting, so a
        recipe without these settings draws exactly what it drew before they existed."""
        from msimg import cfa

        holes = None
        if self.layout_fraction and torch.rand(1, generator=gen).item() < self.layout_fraction:
            holes = random_holes(height, width, gen)
        if self.marked_defects and torch.rand(1, generator=gen).item() < 0.5:
            rate = self.marked_defects * torch.rand(1, generator=gen).item()
            own = cfa.repeat(cfa.holes(pattern), height, width) if holes is None else holes
            holes = own | scattered(height, width, rate, gen)
        return holes

    def degrade(self, clean: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        n, _, h, w = clean.shape
        names, weights = zip(*self.mix.items(), strict=True)
        picks = torch.multinomial(torch.tensor(weights), n, replacement=True, generator=gen).tolist()
        bayers = ("bayer-rggb", "bayer-bggr", "bayer-grbg", "bayer-gbrg")
        phases = torch.randint(0, 4, (n,), generator=gen).tolist()
        patterns = [
            bayers[ph] if names[k] == "bayer" else names[k] for k, ph in zip(picks, phases, strict=True)
        ]
        gains = torch.ones(n, 3)
        gains[:, 0] = 1.2 + 1.4 * torch.rand(n, generator=gen)
        gains[:, 2] = 1.2 + 1.4 * torch.rand(n, generator=gen)
        # log-uniform sensor noise: shot 1e-4..1e-2 (variance per unit signal), read std 1e-4..3e-3
        shot = (-9.2 + 4.6 * torch.rand(n, generator=gen)).exp()
        read = (-9.2 + 3.5 * torch.rand(n, generator=gen)).exp()
        quiet = torch.rand(n, generator=gen) < self.noiseless_fraction
        shot, read = torch.where(quiet, 0.0, shot), torch.where(quiet, 0.0, read)
        bits = 10 if torch.rand(1, generator=gen).item() < 0.5 else 12
        # each new setting draws only when set, so the linear-only recipe reproduces its weights
        srgb = torch.zeros(n, dtype=torch.bool)
        if self.srgb_fraction:  # display-referred: gains of 1, Gaussian read noise of 1e-3..2e-2
            srgb = torch.rand(n, generator=gen) < self.srgb_fraction
            gains = torch.where(srgb[:, None], 1.0, gains)
            shot = torch.where(srgb, 0.0, shot)
            read = torch.where(srgb & ~quiet, (-6.9 + 3.0 * torch.rand(n, generator=gen)).exp(), read)
        missing = [self._holes(p, h, w, gen) for p in patterns]
        stuck = None
        if self.stuck:
            some = torch.rand(n, generator=gen) < 0.5
            stuck = torch.where(some, self.stuck * torch.rand(n, generator=gen), 0.0)
        spaces = ["srgb" if s else "linear" for s in srgb.tolist()]
        x = _raw_input(clean, patterns, gains, shot, read, bits, gen, spaces, missing, stuck)
        return x, clean

    def validation_cases(
        self, clean: torch.Tensor, index: int
    ) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
        """Noise-free 10-bit frames, each validation image as HybridEVS and as Bayer: linear with
        daylight-like gains and, for a model that reads both spaces, display-referred, plus Quad-Bayer with
        the period-8 layout."""
        from msimg import cfa

        gen = torch.Generator().manual_seed(index)
        gains, ones = torch.tensor([VALIDATION_GAINS]), torch.ones(1, 3)
        zero = torch.zeros(1)
        cases = [
            (kind, _raw_input(clean, [pattern], gains, zero, zero, 10, gen), clean)
            for kind, pattern in VALIDATION_RAW.items()
        ]
        if self.srgb_fraction:
            cases += [
                (f"srgb_{kind}", _raw_input(clean, [pattern], ones, zero, zero, 10, gen, ["srgb"]), clean)
                for kind, pattern in VALIDATION_RAW.items()
            ]
            holes = [cfa.repeat(period8_tile(), *clean.shape[2:])]
            p8 = _raw_input(clean, ["quad-bayer"], ones, zero, zero, 10, gen, ["srgb"], holes)
            cases.append(("srgb_p8", p8, clean))
        return cases


def _raw_input(
    clean: torch.Tensor,
    patterns: list[str],
    gains: torch.Tensor,
    shot: torch.Tensor,
    read: torch.Tensor,
    bits: int,
    gen: torch.Generator,
    spaces: list[str] | None = None,
    missing: list[np.ndarray | None] | None = None,
    stuck: torch.Tensor | None = None,
) -> torch.Tensor:
    """sRGB crops -> the demosaic model input the task would build from their RAW capture, in each
    image's space (`spaces`, default linear), with its hole layout (`missing`, default the pattern's) and
    a share of unmarked stuck pixels (`stuck`)."""
    from msimg import cfa
    from msimg.colour import srgb_decode
    from msimg.tasks.demosaic import model_input

    spaces = spaces or ["linear"] * len(patterns)
    display = torch.tensor([s == "srgb" for s in spaces]).view(-1, 1, 1, 1)
    scene = torch.where(display, clean, srgb_decode(clean))
    raw, sites = raw_capture(scene, patterns, gains, shot, read, bits, gen, missing)
    if stuck is not None:
        raw = stuck_pixels(raw, stuck, gen)
    inputs = []
    for i, pattern in enumerate(patterns):
        site_gain = gains[i].double()[torch.from_numpy(cfa.layout(pattern))].float()
        offset = torch.zeros_like(site_gain)
        inputs.append(model_input(raw[i : i + 1], site_gain, offset, sites[i : i + 1], spaces[i]))
    return torch.cat(inputs)


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
        from msimg.segmentation.bsds import boundaries_of, load_ground_truth

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
        from msimg.segmentation.measures import boundary_pr_curve, bsds_tolerance, precision_recall_f

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


OBJECTIVES: dict[str, Callable[[Recipe], Objective]] = {
    "demosaic": lambda recipe: DemosaicObjective(**recipe.extra),
    "denoise": lambda recipe: DenoiseObjective(),
    "deblur": lambda recipe: DeblurObjective(),
    "dehaze": lambda recipe: DehazeObjective(),
    "segment": lambda recipe: SegmentObjective(),
    "super-resolve": lambda recipe: SuperResolveObjective(
        recipe.scale, multiple=2 ** len(recipe.config["enc_blocks"])
    ),
}


def objective_for(recipe: Recipe) -> Objective:
    return OBJECTIVES[recipe.task](recipe)
