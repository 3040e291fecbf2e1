"""How demosaic's network is trained: synthetic RAW frames from photos, linear and display-referred."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch

from msimg.models.swin_demosaic import SwinDemosaicConfig
from msimg.ops import cfa
from msimg.ops.colour import srgb_decode, srgb_encode
from msimg.tasks.demosaic.task import model_input
from msimg.train.degrade import cell_holes, random_holes, raw_capture, scattered, stuck_pixels
from msimg.train.loop import Recipe
from msimg.train.losses import pixel_focus
from msimg.train.objectives import Plain

VALIDATION_RAW = {"evs": "quad-bayer-evs", "bayer": "bayer-rggb"}
VALIDATION_GAINS = (2.0, 1.0, 1.6)  # a daylight-like sensor response: red and blue read low


def period8_tile() -> np.ndarray:
    """One period of a fixed hole layout of period 8, 1 site in 8 missing, for validation and the
    benchmark: one layout no training draw is meant to repeat. On Quad-Bayer its holes fall at red and blue
    sites only, one in each of those quads, at places the HybridEVS layout does not use."""
    return _diagonal(1)


def period8_rgb_tile() -> np.ndarray:
    """The same with the diagonal moved by one column: on Quad-Bayer its holes fall at red, green and
    blue sites (2, 4 and 2 of them), as the layout of issue 32 has them."""
    return _diagonal(2)


def _diagonal(offset: int) -> np.ndarray:
    tile = np.zeros((8, 8), dtype=bool)
    tile[np.arange(8), (3 * np.arange(8) + offset) % 8] = True
    return tile


def corner_tile() -> np.ndarray:
    """HybridEVS's event pixels moved to the other corner of their quads, (0,0) and (2,2): a sensor of the
    same kind with another layout, as a user's `--mask` gives it."""
    tile = np.zeros((4, 4), dtype=bool)
    tile[0, 0] = tile[2, 2] = True
    return tile


class DemosaicObjective(Plain):
    """Synthetic RAW frames from photos (docs/hybridevs-research.md, EVENT_RAW.md).

    Linear frames: sRGB undone to linear light, a random white balance divided out, the CFA sampled
    (`mix`, pattern kind -> share: HybridEVS Quad-Bayer with event holes, plain Quad-Bayer and Bayer of any
    phase, so one model serves every pattern), shot and read noise on all but `noiseless_fraction` of the
    frames, 10 or 12 bits; the model input re-applies the white balance as the task does. Display-referred
    frames (`srgb_fraction` of them): the sRGB photo itself sampled, as the MIPI HybridEVS files and the
    demosaic benchmarks make their mosaics, with Gaussian read noise. `layout_fraction` of the frames get a
    random hole layout instead of the pattern's (period 4 or 8, up to 20 % of sites; `cell_layouts` of them
    at most one hole per 2x2 cell, as event sensors place them), `marked_defects` is
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
        cell_layouts: float = 0.0,
    ) -> None:
        unknown = set(mix) - {"quad-bayer-evs", "quad-bayer", "bayer"}
        if unknown:
            raise ValueError(f"demosaic training mix: unknown pattern kinds {sorted(unknown)}")
        self.mix, self.noiseless_fraction = mix, noiseless_fraction
        self.srgb_fraction, self.layout_fraction = srgb_fraction, layout_fraction
        self.marked_defects, self.stuck = marked_defects, stuck
        self.cell_layouts = cell_layouts

    def present(self, output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:

        return torch.where(x[:, 5:6, :1, :1] > 0.5, output, srgb_encode(output))

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return pixel_focus(pred, target)

    def _holes(self, pattern: str, height: int, width: int, gen: torch.Generator) -> np.ndarray | None:
        """A frame's hole map, None for the pattern's own. Every draw is guarded by its setting, so a
        recipe without these settings draws exactly what it drew before they existed."""

        holes = None
        if self.layout_fraction and torch.rand(1, generator=gen).item() < self.layout_fraction:
            cellwise = self.cell_layouts and torch.rand(1, generator=gen).item() < self.cell_layouts
            holes = (cell_holes if cellwise else random_holes)(height, width, gen)
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
        if self.cell_layouts:  # layouts a model trained on a few would be expected to generalise to
            for kind, tile in (("srgb_p8rgb", period8_rgb_tile()), ("srgb_corner", corner_tile())):
                holes = [cfa.repeat(tile, *clean.shape[2:])]
                frame = _raw_input(clean, ["quad-bayer"], ones, zero, zero, 10, gen, ["srgb"], holes)
                cases.append((kind, frame, clean))
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


def objective(recipe: Recipe) -> DemosaicObjective:
    return DemosaicObjective(**recipe.extra)


RECIPES: dict[str, Recipe] = {}

# Demosaic, first stage: windowed attention on the 4x4-folded mosaic and convolutions at H/2 for the fine
# detail, a residual over the classical pipeline with Menon's interpolation, trained on synthetic linear RAW
# frames of every supported pattern (HybridEVS half the time, Bayer 40 %) with the pixel-focus loss.
RECIPES["demosaic-swin-linear"] = Recipe(
    name="demosaic-swin-linear",
    task="demosaic",
    architecture="swin-demosaic",
    config=SwinDemosaicConfig(base="menon", local=48).record(),
    data=("../shared/data/photos", "../shared/data/bsds500-train/images"),
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

# Demosaic, second stage: the first stage taught the input space (a channel it reads; its weights start at 0)
# and holes as data. Half the frames are display-referred (the MIPI HybridEVS files and the demosaic
# benchmarks sample the sRGB photo itself; run through the linear model after decoding, such mosaics
# scored 3.5 dB under the same model fed them as they are, 2026-12-06), half the frames get a random hole
# layout, and unmarked dead and hot pixels (up to 0.2 %) teach it to ignore what nobody masked.
RECIPES["demosaic-swin-spaces"] = replace(
    RECIPES["demosaic-swin-linear"],
    name="demosaic-swin-spaces",
    config=SwinDemosaicConfig(base="menon", local=48, spaces=True).record(),
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

# Demosaic, shipped: the second stage trained on, as its validation still rose 0.1-0.2 dB per 1000 steps
# when its schedule ended. A lower peak rate, since it starts from a trained model, and more random hole
# layouts, since a layout the network never saw trailed the default one most.
RECIPES["demosaic-swin"] = replace(
    RECIPES["demosaic-swin-spaces"],
    name="demosaic-swin",
    steps=12000,
    lr=2e-4,
    init="weights/demosaic-swin-spaces.safetensors",
    extra={**RECIPES["demosaic-swin-spaces"].extra, "layout_fraction": 0.6},
)


def _trained_on(start: str, name: str, steps: int, lr: float, **extra: Any) -> Recipe:
    """The model of recipe `start` trained on from its weights with a fresh schedule, its frames changed
    by `extra`; `pattern_switch` runs each part on the layouts it was trained for."""
    base = RECIPES[start]
    init = f"weights/{start}.safetensors"
    return replace(base, name=name, steps=steps, lr=lr, init=init, extra={**base.extra, **extra})


# Demosaic for Bayer mosaics (ordinary camera RAW and the demosaic benchmarks): Bayer frames alone, in both
# spaces, with scattered defects. One network shared with Quad-Bayer and hole layouts stayed within half a
# dB of Menon 2007 on display-referred Bayer; this one gives Bayer the whole capacity.
RECIPES["demosaic-swin-bayer"] = _trained_on(
    "demosaic-swin", "demosaic-swin-bayer", 7000, 3e-4, mix={"bayer": 1.0}, layout_fraction=0.0
)

# Demosaic for Bayer mosaics, trained on: the Bayer network's validation still rose 0.05-0.1 dB per 1000
# steps when its schedule ended, and display-referred Bayer is the target it is furthest from.
RECIPES["demosaic-swin-bayer-long"] = _trained_on(
    "demosaic-swin-bayer", "demosaic-swin-bayer-long", 16000, 2e-4
)

# Demosaic for Bayer mosaics, deeper: the Bayer network had stopped gaining on the recipe that made it, and
# display-referred Bayer was still furthest from its target, so it gains four residual blocks at H/2, where
# Bayer detail is resolved (each starts as the identity, so training starts from the network it grew from).
RECIPES["demosaic-swin-bayer-deep"] = replace(
    _trained_on("demosaic-swin-bayer-long", "demosaic-swin-bayer-deep", 16000, 2e-4),
    config={**RECIPES["demosaic-swin-bayer-long"].config, "refine": 4},
)

# Demosaic for Bayer mosaics, deeper still: the deeper network's validation still rose when its schedule
# ended (display-referred Bayer +0.4 dB over the network it grew from, linear +0.9), so four more blocks.
RECIPES["demosaic-swin-bayer-deeper"] = replace(
    _trained_on("demosaic-swin-bayer-deep", "demosaic-swin-bayer-deeper", 10000, 2e-4),
    config={**RECIPES["demosaic-swin-bayer-long"].config, "refine": 8},
)

# Demosaic for Bayer mosaics, deepest: four blocks more gave display-referred Bayer a quarter dB each round,
# and display-referred Bayer (the demosaic benchmarks, phone dumps) is still the case furthest from its
# target while linear Bayer is far past Menon 2007, so 70 % of frames are display-referred instead of half.
RECIPES["demosaic-swin-bayer-deepest"] = replace(
    _trained_on("demosaic-swin-bayer-deeper", "demosaic-swin-bayer-deepest", 10000, 2e-4, srgb_fraction=0.7),
    config={**RECIPES["demosaic-swin-bayer-long"].config, "refine": 12},
)

# Demosaic for Bayer mosaics, shipped: the deepest network trained on with a fresh schedule at half the
# rate, as display-referred Bayer still stood a few hundredths of a dB short of its target, and with 85 % of
# frames display-referred, since linear Bayer is far past its own.
RECIPES["demosaic-swin-bayer-final"] = _trained_on(
    "demosaic-swin-bayer-deepest", "demosaic-swin-bayer-final", 5000, 1e-4, srgb_fraction=0.85
)

# Demosaic for every other layout (Quad-Bayer, event pixels, users' hole layouts): the general recipe
# without the 40 % of Bayer frames that now go to their own network. A tenth stay Bayer, as Bayer mosaics
# with more than sparse holes still run this one.
RECIPES["demosaic-swin-quad"] = _trained_on(
    "demosaic-swin",
    "demosaic-swin-quad",
    8000,
    3e-4,
    mix={"quad-bayer-evs": 0.55, "quad-bayer": 0.35, "bayer": 0.1},
)

# Demosaic for every layout but Bayer's, second round: hybrid event sensors other than the MIPI one place
# their event pixels elsewhere in the quads, and a user's `--mask` says where. HybridEVS's layout moved to
# the other corner of its quads did markedly worse than the layout itself with `demosaic-swin-quad` (the
# same pixels per colour, so no less to go on: the network had learned where HybridEVS puts them). Half the
# random layouts now lose at most one pixel per 2x2 cell, at shared or per-cell places, in all cells or a
# checkerboard.
RECIPES["demosaic-swin-layouts"] = _trained_on(
    "demosaic-swin-quad", "demosaic-swin-layouts", 8000, 2e-4, cell_layouts=0.5
)

# Demosaic for every layout but Bayer's, at less cost per pixel: one attention block at H/4 before and after
# the coarse stage instead of two (the plain windows kept, the shifted ones dropped), which were a third of
# a window's time; trained on from the network it was cut from.
RECIPES["demosaic-swin-layouts-lite"] = replace(
    _trained_on("demosaic-swin-layouts", "demosaic-swin-layouts-lite", 10000, 2e-4),
    config={**RECIPES["demosaic-swin-layouts"].config, "depths": [1, 2, 1]},
)

# The cut network trained on with a fresh schedule at half the rate: its validation still rose when the first
# schedule ended, and display-referred event frames stood 0.06 dB short of the network it was cut from.
RECIPES["demosaic-swin-layouts-lite-final"] = _trained_on(
    "demosaic-swin-layouts-lite", "demosaic-swin-layouts-lite-final", 10000, 1e-4
)

# Models without weights: their manifest entries are written, not trained.
ANALYTIC: dict[str, dict[str, Any]] = {
    "demosaic-net": {
        "task": "demosaic",
        "architecture": "pattern-switch",
        "config": {"bayer": "demosaic-swin-bayer-final", "general": "demosaic-swin-layouts-lite-final"},
        "reference": "demosaic-swin-bayer-final for Bayer mosaics with sparse holes, "
        "demosaic-swin-layouts-lite-final for every other layout, each Quad-Bayer window turned so its "
        "holes sit most as HybridEVS's do (msimg.models.pattern_switch, msimg.models.orientation)",
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
}
