"""The classical demosaic pipeline as a weightless model, so it runs through the tiled engine like the
networks: fill the missing (event) pixels from same-colour neighbours, turn a Quad-Bayer mosaic into
Bayer by swapping pixels inside each 4x4 tile, then a Bayer interpolation:

- Malvar, He and Cutler (ICASSP 2004, "High-quality linear interpolation for demosaicing of
  Bayer-patterned color images") add a scaled Laplacian of the known channel to bilinear interpolation;
  their four 5x5 filters (in eighths) are below. `--method classic` uses it: the baseline the issue asks.
- Menon, Andriani and Calvagno (IEEE TIP 2007, "Demosaicing with directional filtering and a posteriori
  decision") interpolate green along rows and along columns, keep per pixel the direction whose colour
  differences vary least, then fill red and blue along that direction and refine all three. Stronger on
  edges and fine detail; the network corrects it instead of Malvar.

The pattern arrives with the mosaic as one-hot site channels, so any Bayer phase and any hole layout work
without configuration.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from msimg.models.descriptor import Traits
from msimg.ops.cfa import PERIOD
from msimg.ops.filters import correlate

# Malvar-He-Cutler 2004, Fig. 2 (values / 8)
_G_AT_RB = [[0.0, 0, -1, 0, 0], [0, 0, 2, 0, 0], [-1, 2, 4, 2, -1], [0, 0, 2, 0, 0], [0, 0, -1, 0, 0]]
_AT_G_ROW = [[0, 0, 0.5, 0, 0], [0, -1, 0, -1, 0], [-1, 4, 5, 4, -1], [0, -1, 0, -1, 0], [0, 0, 0.5, 0, 0]]
_AT_OPPOSITE = [
    [0, 0, -1.5, 0, 0],
    [0, 2, 0, 2, 0],
    [-1.5, 0, 6, 0, -1.5],
    [0, 2, 0, 2, 0],
    [0, 0, -1.5, 0, 0],
]


def phase_pad(x: torch.Tensor, pad: int) -> torch.Tensor:
    """Reflect-pad the last two axes by `pad` (and the far ends up to a multiple of the period), moving
    each padded site to the nearest reflected site of the same pattern phase: the padding is itself a
    valid mosaic. Reflection repeats where the padding is wider than the image, so an image of at least
    one period keeps the phase at any size."""

    def along(t: torch.Tensor, dim: int) -> torch.Tensor:
        n = t.shape[dim]
        i = torch.cat([torch.arange(-pad, 0), torch.arange(n, n + pad + (-n) % PERIOD)])
        folded = i % max(1, 2 * (n - 1))
        mirror = torch.where(folded < n, folded, 2 * (n - 1) - folded)
        j = mirror + (i - mirror) % PERIOD
        j = torch.where(j >= n, j - PERIOD, j).clamp(0, n - 1).to(t.device)
        # only the borders are gathered: a gather along the last axis costs ten times a copy on CPU
        return torch.cat([t.index_select(dim, j[:pad]), t, t.index_select(dim, j[pad:])], dim)

    return along(along(x, -2), -1)


def _swap_along(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Positions 1 and 2 of every period along `dim` exchanged, as strided copies (not a gather, for the
    reason in `phase_pad`)."""
    pairs = len(range(2, x.shape[dim], PERIOD))
    lead = (slice(None),) * (dim % x.dim())
    one, two = (*lead, slice(1, 1 + PERIOD * pairs, PERIOD)), (*lead, slice(2, 2 + PERIOD * pairs, PERIOD))
    y = x.clone()
    y[one], y[two] = x[two], x[one]
    return y


def swap_quads(x: torch.Tensor) -> torch.Tensor:
    """Swap rows 1 and 2 and columns 1 and 2 of every 4x4 tile: RRGG/RRGG/GGBB/GGBB -> RGRG/GBGB/..."""
    return _swap_along(_swap_along(x, -2), -1)


def _swap_where(quad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """`swap_quads` on the images of a batch that `quad` marks, without swapping a batch of Bayer."""
    if not bool(quad.any()):
        return x
    swapped = swap_quads(x)
    return swapped if bool(quad.all()) else torch.where(quad, swapped, x)


def _h(x: torch.Tensor, taps: list[float]) -> torch.Tensor:
    """Correlate along rows (zeros beyond the border, which the phase padding keeps out of the result)."""
    return correlate(x, [taps])


def _v(x: torch.Tensor, taps: list[float]) -> torch.Tensor:
    return correlate(x, [[t] for t in taps])


def _box(x: torch.Tensor, size: int) -> torch.Tensor:
    ones = [1.0] * size
    return _h(_v(x, ones), ones)


def fill_holes(mosaic: torch.Tensor, onehot: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) mosaic with holes -> holes replaced by the mean of the valid sites of their own colour
    in the 3x3 window (the quad-mates of a Quad-Bayer event pixel), else in the 5x5 window (Bayer)."""
    known = mosaic * valid
    fill = torch.zeros_like(mosaic)
    for size in (5, 3):  # the 3x3 estimate overrides where it exists
        num = _box(known * onehot, size)
        den = _box(valid * onehot, size)
        est = (num / den.clamp(min=1e-6) * onehot).sum(dim=1, keepdim=True)
        fill = torch.where((den * onehot).sum(dim=1, keepdim=True) > 0, est, fill)
    return torch.where(valid > 0, mosaic, fill)


def malvar(mosaic: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) Bayer mosaic of any phase and its (N, 3, H, W) one-hot sites -> (N, 3, H, W) RGB."""
    row = torch.tensor(_AT_G_ROW)
    kernels = torch.stack([torch.tensor(_G_AT_RB), row, row.T, torch.tensor(_AT_OPPOSITE)]) / 8
    g_rb, at_row, at_col, opposite = F.conv2d(mosaic, kernels[:, None].to(mosaic), padding=2).split(1, dim=1)
    r, g, b = onehot.split(1, dim=1)
    r_in_row = _h(r, [1.0, 0.0, 1.0]) > 0  # at a G site: are the row's neighbours red?
    b_in_row = _h(b, [1.0, 0.0, 1.0]) > 0
    red = r * mosaic + g * torch.where(r_in_row, at_row, at_col) + b * opposite
    green = g * mosaic + (r + b) * g_rb
    blue = b * mosaic + g * torch.where(b_in_row, at_row, at_col) + r * opposite
    return torch.cat([red, green, blue], dim=1)


# Menon et al. 2007: green along one axis (eq. 3, the two filters h0 + h1 summed); the classifier's
# window over the colour-difference gradients (eq. 6, as a correlation); the neighbour means.
_GREEN = [-0.25, 0.5, 0.5, 0.5, -0.25]
_DECIDE = [[1.0, 0, 1, 0, 0], [0, 1, 0, 0, 0], [3, 0, 3, 0, 0], [0, 1, 0, 0, 0], [1, 0, 1, 0, 0]]
_PAIR = [0.5, 0.0, 0.5]
_MEAN3 = [1 / 3, 1 / 3, 1 / 3]


def menon(mosaic: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) Bayer mosaic of any phase and its (N, 3, H, W) one-hot sites -> (N, 3, H, W) RGB, by
    directional filtering, a posteriori decision and the refining step (section III of the paper)."""
    r_m, g_m, b_m = (c > 0 for c in onehot.split(1, dim=1))
    ones3 = [1.0, 1.0, 1.0]
    r_row, b_row = _h(onehot[:, :1], ones3) > 0, _h(onehot[:, 2:], ones3) > 0  # rows holding R / B
    r_col, b_col = _v(onehot[:, :1], ones3) > 0, _v(onehot[:, 2:], ones3) > 0

    # green along rows and along columns, then the direction whose colour differences vary least
    g_h = torch.where(g_m, mosaic, _h(mosaic, _GREEN))
    g_v = torch.where(g_m, mosaic, _v(mosaic, _GREEN))
    c_h, c_v = torch.where(g_m, 0.0, mosaic - g_h), torch.where(g_m, 0.0, mosaic - g_v)
    d_h = (c_h - F.pad(c_h, (0, 2))[..., 2:]).abs()
    d_v = (c_v - F.pad(c_v, (0, 0, 0, 2))[..., 2:, :]).abs()
    horizontal = correlate(d_v, [list(c) for c in zip(*_DECIDE, strict=True)]) >= correlate(d_h, _DECIDE)
    g = torch.where(horizontal, g_h, g_v)

    def along(x: torch.Tensor, taps: list[float]) -> torch.Tensor:
        return torch.where(horizontal, _h(x, taps), _v(x, taps))

    # red and blue at green sites from the neighbours across, then at blue / red sites along the decision
    # (the filters are linear: one filter of a difference, not a difference of two filters)
    r, b = mosaic * r_m, mosaic * b_m
    r = torch.where(g_m & r_row, g + _h(r - g, _PAIR), r)
    r = torch.where(g_m & b_row, g + _v(r - g, _PAIR), r)
    b = torch.where(g_m & b_row, g + _h(b - g, _PAIR), b)
    b = torch.where(g_m & r_row, g + _v(b - g, _PAIR), b)
    r_b = along(r - b, _PAIR)
    r, b = torch.where(b_m, b + r_b, r), torch.where(r_m, r - r_b, b)

    # refining: green from smoothed colour differences, then red / blue at green, then at blue / red
    g = torch.where(r_m, r - along(r - g, _MEAN3), g)
    g = torch.where(b_m, b - along(b - g, _MEAN3), g)
    r_g, b_g = r - g, b - g
    r = torch.where(g_m & b_row, g + _v(r_g, _PAIR), r)
    r = torch.where(g_m & b_col, g + _h(r_g, _PAIR), r)
    b = torch.where(g_m & r_row, g + _v(b_g, _PAIR), b)
    b = torch.where(g_m & r_col, g + _h(b_g, _PAIR), b)
    r_b = along(r - b, _MEAN3)
    r, b = torch.where(b_m, b + r_b, r), torch.where(r_m, r - r_b, b)
    return torch.cat([r, g, b], dim=1)


# the function and its reach in pixels, with the 5x5 hole fill and the one-pixel swap
INTERPOLATIONS = {"malvar": (malvar, 6), "menon": (menon, 14)}


@dataclass(frozen=True)
class ClassicDemosaicConfig:
    interpolation: str = "malvar"  # a key of INTERPOLATIONS

    def __post_init__(self) -> None:
        if self.interpolation not in INTERPOLATIONS:
            known = ", ".join(INTERPOLATIONS)
            raise ValueError(f"unknown demosaic interpolation '{self.interpolation}' (known: {known})")


class ClassicDemosaic(nn.Module):
    """Input (N, 6, H, W): the mosaic (0 at holes), the `msimg.ops.cfa.sites` channels (one-hot R, G, B, then
    valid), in phase, and the input space, which interpolation does not need. Output: (N, 3, H, W) RGB in
    the mosaic's space."""

    def __init__(self, **config: Any) -> None:
        super().__init__()
        self.config = ClassicDemosaicConfig(**config)
        self.interpolate, reach = INTERPOLATIONS[self.config.interpolation]
        self.pad = PERIOD * (reach // PERIOD + 1)  # the phase padding covers the reach

    @staticmethod
    def describe(**config: Any) -> Traits:
        radius = INTERPOLATIONS[ClassicDemosaicConfig(**config).interpolation][1]
        return Traits(
            in_channels=6,
            out_channels=3,
            multiple_of=PERIOD,
            period=PERIOD,
            receptive_radius=radius,
            context=radius,
            memory_per_pixel=4 * 64,
            dtypes=("fp32",),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = phase_pad(x[:, :5], self.pad)  # the input space does not change the interpolation
        mosaic, onehot, valid = x[:, :1], x[:, 1:4], x[:, 4:5]
        mosaic = fill_holes(mosaic, onehot, valid)
        # per image: Quad-Bayer when horizontal neighbours share a filter, which Bayer ones never do
        quad = (onehot[..., 0::2] == onehot[..., 1::2]).flatten(1).all(dim=1).view(-1, 1, 1, 1)
        mosaic, onehot = _swap_where(quad, mosaic), _swap_where(quad, onehot)
        rgb = _swap_where(quad, self.interpolate(mosaic, onehot))
        p = self.pad
        return rgb[..., p : p + h, p : p + w]

    def config_dict(self) -> dict[str, Any]:
        return asdict(self.config)
