"""Colour filter arrays: which colour each photosite sees and which sites carry no colour (the event
pixels of hybrid event/frame sensors). One place for the layouts, used by the readers' checks, the
demosaic models' inputs, the training mosaics and the tests.

Every layout repeats with period 4 (a Bayer 2x2 tile repeated twice), so a tile or band that starts on
a multiple of 4 sees the pattern in phase. The event pixels of HybridEVS frames sit at (1, 1) and (3, 3)
of the Quad-Bayer tile, inside the red and blue quads (docs/hybridevs-research.md, section 1).
"""

from __future__ import annotations

import numpy as np
import torch

from msimg.errors import UsageError

__all__ = ["PATTERNS", "PERIOD", "holes", "layout", "masks", "mosaic", "sites"]

PERIOD = 4
_COLOURS = {"R": 0, "G": 1, "B": 2}
_LAYOUTS = {  # rows of the repeating tile; "E" is an event pixel inside the quad of the colour before it
    "quad-bayer-evs": ("RRGG", "RRGG", "GGBB", "GGBB"),
    "quad-bayer": ("RRGG", "RRGG", "GGBB", "GGBB"),
    "bayer-rggb": ("RG", "GB"),
    "bayer-bggr": ("BG", "GR"),
    "bayer-grbg": ("GR", "BG"),
    "bayer-gbrg": ("GB", "RG"),
}
_EVENT_SITES = {"quad-bayer-evs": ((1, 1), (3, 3))}
PATTERNS: tuple[str, ...] = tuple(_LAYOUTS)


def _check(pattern: str) -> None:
    if pattern not in _LAYOUTS:
        raise UsageError(f"unknown CFA pattern '{pattern}' (known: {', '.join(PATTERNS)})")


def layout(pattern: str) -> np.ndarray:
    """(4, 4) int64 colour index (0 R, 1 G, 2 B) of each site of the repeating tile, holes included."""
    _check(pattern)
    rows = _LAYOUTS[pattern]
    tile = np.array([[_COLOURS[c] for c in row] for row in rows], dtype=np.int64)
    return np.tile(tile, (PERIOD // tile.shape[0], PERIOD // tile.shape[1]))


def holes(pattern: str) -> np.ndarray:
    """(4, 4) bool: the sites of the tile that carry no value (event pixels)."""
    _check(pattern)
    out = np.zeros((PERIOD, PERIOD), dtype=bool)
    for r, c in _EVENT_SITES.get(pattern, ()):
        out[r, c] = True
    return out


def sites(pattern: str, height: int, width: int, missing: np.ndarray | None = None) -> torch.Tensor:
    """(4, height, width) float32: one-hot R, G, B of each site's filter (holes included), then `valid`
    (0 at holes). The region starts in phase (row and column 0 of the tile).

    `missing` overrides the pattern's own holes: a (4, 4) tile or a (height, width) map, non-zero = hole.
    """
    tile = torch.from_numpy(layout(pattern))
    hole = torch.from_numpy(holes(pattern) if missing is None else np.asarray(missing) != 0)
    rows = torch.arange(height) % PERIOD
    cols = torch.arange(width) % PERIOD
    colour = tile[rows][:, cols]
    onehot = torch.nn.functional.one_hot(colour, 3).permute(2, 0, 1).float()
    if hole.shape == (PERIOD, PERIOD):
        hole = hole[rows][:, cols]
    elif hole.shape != (height, width):
        raise UsageError(f"--mask is {hole.shape[1]}x{hole.shape[0]}; it must be 4x4 or {width}x{height}")
    return torch.cat([onehot, (~hole).float()[None]], dim=0)


def masks(pattern: str, height: int, width: int) -> torch.Tensor:
    """(3, height, width): where each colour is actually sampled (the one-hot with holes zeroed)."""
    s = sites(pattern, height, width)
    return s[:3] * s[3:]


def mosaic(rgb: torch.Tensor, pattern: str) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 1, H, W): each site keeps its own colour, holes are 0 (as the sensor reads)."""
    return (rgb * masks(pattern, rgb.shape[2], rgb.shape[3]).to(rgb)).sum(dim=1, keepdim=True)
