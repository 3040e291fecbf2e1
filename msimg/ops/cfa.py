"""Colour filter arrays: which colour each photosite sees and which sites carry no colour (the event
pixels of hybrid event/frame sensors). One place for the layouts, used by the readers' checks, the
demosaic models' inputs, the training mosaics and the tests.

Every layout repeats with period 4 (a Bayer 2x2 tile repeated twice), so a tile or band that starts on
a multiple of 4 sees the pattern in phase. The event pixels of HybridEVS frames sit at (1, 1) and (3, 3)
of the Quad-Bayer tile, inside the red and blue quads (docs/hybridevs-research.md, section 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from msimg.errors import UsageError

if TYPE_CHECKING:  # imported where used: the RAW reader needs only the patterns, in a worker of its own
    import torch

__all__ = [
    "PATTERNS",
    "PERIOD",
    "Detection",
    "detect",
    "holes",
    "isolated_extremes",
    "layout",
    "masks",
    "mosaic",
    "repeat",
    "sites",
]

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


def repeat(tile: np.ndarray | torch.Tensor, height: int, width: int) -> np.ndarray | torch.Tensor:
    """One period of a layout (a (..., p, q) array or tensor) laid over (height, width) from the top-left
    pixel, as tiled copies: a gather of the tile by every pixel's row and column costs far more."""
    p, q = tile.shape[-2:]
    reps = (1,) * (tile.ndim - 2) + (-(-height // p), -(-width // q))  # no more than needed: often exact
    tiled = np.tile(tile, reps) if isinstance(tile, np.ndarray) else tile.repeat(reps)
    return tiled[..., :height, :width]


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
    import torch

    hole = torch.from_numpy(holes(pattern) if missing is None else np.asarray(missing) != 0)
    onehot = torch.nn.functional.one_hot(torch.from_numpy(layout(pattern)), 3).permute(2, 0, 1).float()
    if hole.shape == (PERIOD, PERIOD):
        return repeat(torch.cat([onehot, (~hole).float()[None]]), height, width).contiguous()
    if hole.shape != (height, width):
        raise UsageError(
            f"a hole map of {hole.shape[1]}x{hole.shape[0]} does not fit {width}x{height} (or 4x4)"
        )
    return torch.cat([repeat(onehot, height, width), (~hole).float()[None]], dim=0)


def masks(pattern: str, height: int, width: int) -> torch.Tensor:
    """(3, height, width): where each colour is actually sampled (the one-hot with holes zeroed)."""
    s = sites(pattern, height, width)
    return s[:3] * s[3:]


def mosaic(rgb: torch.Tensor, pattern: str) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 1, H, W): each site keeps its own colour, holes are 0 (as the sensor reads)."""
    return (rgb * masks(pattern, rgb.shape[2], rgb.shape[3]).to(rgb)).sum(dim=1, keepdim=True)


@dataclass(frozen=True)
class Detection:
    """What a mosaic's own values say about its layout: `pattern` None when they do not say it clearly,
    `evidence` in words for the note or the error."""

    pattern: str | None
    evidence: str


_SAMPLE = 1024  # a centred square of at most this side: enough pixels, bounded time
_HOLE_SHARE = 0.95  # a site is a hole when this share of its pixels read 0 (scenes have few true zeros)
_CONTRAST = 1.25  # how much more different-colour neighbours must differ than same-colour ones


def _centre(mosaic: np.ndarray) -> np.ndarray:
    h, w = mosaic.shape
    top = max(0, (h - _SAMPLE) // 2) // PERIOD * PERIOD
    left = max(0, (w - _SAMPLE) // 2) // PERIOD * PERIOD
    sub = mosaic[top : top + _SAMPLE, left : left + _SAMPLE]
    return sub[: sub.shape[0] // PERIOD * PERIOD, : sub.shape[1] // PERIOD * PERIOD].astype(np.float64)


def _site_means(values: np.ndarray) -> np.ndarray:
    """(H, W) -> (4, 4) mean over each site of the tile."""
    h, w = values.shape
    return values.reshape(h // PERIOD, PERIOD, w // PERIOD, PERIOD).mean(axis=(0, 2))


def _pair_differences(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(4,) mean |difference| between pixel k and k+1 of every 4-pixel period, along rows and columns
    together, over pairs of valid pixels."""
    out = np.zeros(PERIOD)
    for axis in (0, 1):
        a, b = np.moveaxis(x, axis, 1), np.moveaxis(valid, axis, 1)
        d = np.abs(np.diff(a, axis=1))
        ok = b[:, 1:] & b[:, :-1]
        for k in range(PERIOD):
            sel, okk = d[:, k::PERIOD], ok[:, k::PERIOD]
            out[k] += (sel * okk).sum() / max(1, okk.sum())
    return out


def _green_diagonal(cells: np.ndarray, valid: np.ndarray) -> int | None:
    """On a Bayer-like mosaic: 0 when green sits on the main diagonal of each 2x2 cell ((0,0) and (1,1)),
    1 on the other one, None when the two diagonals differ too little to tell."""
    h, w = cells.shape
    c = cells[: h // 2 * 2, : w // 2 * 2].reshape(h // 2, 2, w // 2, 2)
    v = valid[: h // 2 * 2, : w // 2 * 2].reshape(h // 2, 2, w // 2, 2)
    main_ok, anti_ok = v[:, 0, :, 0] & v[:, 1, :, 1], v[:, 0, :, 1] & v[:, 1, :, 0]
    main = (np.abs(c[:, 0, :, 0] - c[:, 1, :, 1]) * main_ok).sum() / max(1, main_ok.sum())
    anti = (np.abs(c[:, 0, :, 1] - c[:, 1, :, 0]) * anti_ok).sum() / max(1, anti_ok.sum())
    if max(main, anti) < _CONTRAST * min(main, anti) or max(main, anti) == 0:
        return None
    return 0 if main < anti else 1


def _strangers(quads: np.ndarray, factor: float = 3.0) -> np.ndarray:
    """(4, 4) bool: the sites of a Quad-Bayer tile whose pixel differs from the median of its three
    quad-mates `factor` times more than the other sites of the same quad do: event pixels hold no colour,
    whatever they read, while a dark or noisy colour makes all four sites of its quad differ alike.
    `quads` is the (H/2, 2, W/2, 2) log mosaic."""
    h2, w2 = quads.shape[0] // 2 * 2, quads.shape[2] // 2 * 2
    px = quads[:h2, :, :w2].transpose(0, 2, 1, 3).reshape(h2, w2, 4)  # quad row, quad column, 2x2 pixels
    off = np.stack(
        [np.abs(px[..., i] - np.median(np.delete(px, i, axis=-1), axis=-1)) for i in range(4)], axis=-1
    )
    # per quad of the 4x4 tile (its position in the tile) and pixel in the quad
    per = off.reshape(h2 // 2, 2, w2 // 2, 2, 4).mean(axis=(0, 2))  # (quad row, quad column, pixel)
    strange = per > factor * np.maximum(np.median(per, axis=-1, keepdims=True), 1e-9)
    site = np.zeros((PERIOD, PERIOD), dtype=bool)
    for qr in range(2):
        for qc in range(2):
            site[2 * qr : 2 * qr + 2, 2 * qc : 2 * qc + 2] = strange[qr, qc].reshape(2, 2)
    return site


def detect(mosaic: np.ndarray) -> Detection:
    """The layout of an (H, W) mosaic that no file names: Quad-Bayer or Bayer from which neighbours look
    alike (same-colour pixels differ less than pixels under different filters), the green sites from the
    quieter diagonal, event holes from sites that read 0 or disagree with their quads. Red and blue cannot
    be told apart from the values alone: Quad-Bayer is taken with the red quad first (every HybridEVS and
    Quad-Bayer layout on record, and the only ones `--pattern` names; a frame cropped by 2 rows or columns
    comes out with red and blue swapped), Bayer is left to `--pattern`."""
    sub = _centre(np.asarray(mosaic))
    if min(sub.shape) < 4 * PERIOD:
        return Detection(None, f"{sub.shape[1]}x{sub.shape[0]} is too small to tell")
    zeros = _site_means((sub <= 0).astype(np.float64))
    # log values: a filter scales its colour's level, so same-filter neighbours differ less in ratio than
    # different-filter ones at any brightness and white balance
    x = np.log(np.maximum(sub, 0) + max(sub.max(), 1e-12) / 256)
    hole_sites = zeros >= _HOLE_SHARE
    evs = holes("quad-bayer-evs")
    valid = ~repeat(hole_sites, *x.shape)
    if np.array_equal(hole_sites, evs):  # the HybridEVS holes are evidence enough on their own
        return Detection(
            "quad-bayer-evs", "sites (1, 1) and (3, 3) of every tile read 0 (HybridEVS), red quad taken first"
        )
    d = _pair_differences(x, valid)
    if d.max() <= 0:
        return Detection(None, "the mosaic is flat")
    if min(d[1], d[3]) >= _CONTRAST * max(d[0], d[2]):
        structure = "quad"  # pairs 0-1 and 2-3 share a filter: 2x2 quads from the origin
    elif max(d) < _CONTRAST * min(d):
        structure = "bayer"
    else:
        seen = "/".join(f"{v:.4f}" for v in d)
        return Detection(None, f"neighbour differences {seen} fit neither Bayer nor Quad-Bayer in phase")
    if structure == "quad":
        binned = x.reshape(x.shape[0] // 2, 2, x.shape[1] // 2, 2)
        counted = valid.reshape(binned.shape).sum(axis=(1, 3))
        means = (binned * valid.reshape(binned.shape)).sum(axis=(1, 3)) / np.maximum(counted, 1)
        if _green_diagonal(means, counted > 0) != 1:
            return Detection(
                None, "Quad-Bayer structure, but the green quads are not where RRGG/GGBB has them"
            )
        if hole_sites.any():
            where = ", ".join(f"({r}, {c})" for r, c in zip(*np.nonzero(hole_sites), strict=True))
            return Detection(None, f"Quad-Bayer with sites {where} reading 0, not the HybridEVS layout")
        odd = _strangers(binned)
        if odd.any():
            if np.array_equal(odd, evs):  # event pixels that read something other than 0
                return Detection(
                    "quad-bayer-evs", "sites (1, 1) and (3, 3) disagree with their quads (HybridEVS)"
                )
            where = ", ".join(f"({r}, {c})" for r, c in zip(*np.nonzero(odd), strict=True))
            return Detection(None, f"Quad-Bayer whose sites {where} disagree with their quads")
        return Detection(
            "quad-bayer", "2x2 quads of alike pixels, green quads off the diagonal, red quad taken first"
        )
    if hole_sites.any():
        return Detection(None, "Bayer-like neighbours with some sites reading 0")
    diagonal = _green_diagonal(x, valid)
    if diagonal is None:
        return Detection(None, "Bayer structure, but the green sites do not stand out")
    pair = ("bayer-grbg", "bayer-gbrg") if diagonal == 0 else ("bayer-rggb", "bayer-bggr")
    return Detection(
        None, f"Bayer with green at {'(0, 0)' if diagonal == 0 else '(0, 1)'}: {' or '.join(pair)}"
    )


def isolated_extremes(
    mosaic: np.ndarray,
    pattern: str,
    missing: np.ndarray | None,
    balance: np.ndarray | None = None,
    margin: float = 0.25,
) -> np.ndarray:
    """(H, W) bool: dead and hot pixels nobody marked. A pixel reading 0 or below whose same-colour
    neighbours in the 5x5 window all look brighter than `margin`, or reading full scale or above whose
    neighbours all look darker than 1 - `margin`: a real edge or highlight covers more than one photosite
    of its colour, a defect does not. `mosaic` holds levelled values (0 black, 1 white); `missing` the
    holes already known (a tile or a map, as `sites`). Linear sensor data gives its per-site (4, 4)
    white balance as `balance`: neighbours are then judged as a display shows them (balanced, sRGB
    curve), where most of a normal exposure sits far above black. Runs in bands of rows, so memory stays
    bounded on any frame."""
    import torch

    h, w = mosaic.shape
    out = np.zeros((h, w), dtype=bool)
    band, reach = 512, 2
    gain = None if balance is None else torch.from_numpy(np.asarray(balance, dtype=np.float32))
    colour = torch.from_numpy(layout(pattern))
    hole = holes(pattern) if missing is None else np.asarray(missing) != 0
    if hole.shape not in ((PERIOD, PERIOD), (h, w)):
        raise UsageError(f"a hole map of {hole.shape[1]}x{hole.shape[0]} does not fit {w}x{h} (or 4x4)")
    for top in range(0, h, band):
        r0, r1 = max(0, top - reach), min(h, top + band + reach)
        r0 -= r0 % PERIOD  # a band starts in phase
        band_holes = torch.from_numpy(hole if hole.shape == (PERIOD, PERIOD) else hole[r0:r1])
        x = torch.from_numpy(np.asarray(mosaic[r0:r1], dtype=np.float32))
        found = _extremes(x, gain, colour, band_holes, reach, margin)
        out[top : min(h, top + band)] = found[top - r0 : top - r0 + band].numpy()
    return out


def _extremes(
    x: torch.Tensor,
    gain: torch.Tensor | None,
    colour: torch.Tensor,
    hole: torch.Tensor,
    reach: int,
    margin: float,
) -> torch.Tensor:
    """The defects of one in-phase band; `colour` is the pattern's tile, `hole` a tile or the band's map.
    Only pixels reading 0 or full scale, outside the known holes, can be defects, so the neighbours are
    gathered around those pixels alone, and a pixel leaves as soon as one neighbour clears it."""
    import torch

    from msimg.ops.colour import srgb_encode

    h, w = x.shape

    def at(table: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
        return table[ys % PERIOD, xs % PERIOD] if table.shape == (PERIOD, PERIOD) else table[ys, xs]

    if hole.shape == (PERIOD, PERIOD):
        hole_map = hole.repeat(-(-h // PERIOD), -(-w // PERIOD))[:h, :w]
    else:
        hole_map = hole
    # known holes leave before the candidates are listed: an event sensor's read 0 in every tile
    out = ((x <= 0) | (x >= 1)) & ~hole_map
    ys, xs = out.nonzero(as_tuple=True)
    out[:] = False
    if not len(ys):
        return out
    value = x[ys, xs]
    lo = torch.full(ys.shape, float("inf"))
    hi = torch.full(ys.shape, float("-inf"))
    idx = torch.arange(len(ys))  # the candidates still undecided
    # nearest neighbours first: in a dark or clipped area the first same-colour neighbour already shows a
    # candidate is no defect (the bounds only move towards the margins), and it leaves the list
    offsets = sorted(
        ((dy, dx) for dy in range(-reach, reach + 1) for dx in range(-reach, reach + 1) if dy or dx),
        key=lambda d: (abs(d[0]) + abs(d[1]), d),
    )
    for dy, dx in offsets:
        if not len(idx):
            break
        cy, cx = ys[idx], xs[idx]
        ny, nx = cy + dy, cx + dx
        inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        ny, nx = ny.clamp(0, h - 1), nx.clamp(0, w - 1)
        own = colour[cy % PERIOD, cx % PERIOD]
        same = inside & (colour[ny % PERIOD, nx % PERIOD] == own) & ~at(hole, ny, nx)
        seen = x[ny, nx]  # as a display shows it: white-balanced and sRGB-encoded if linear
        if gain is not None:
            seen = srgb_encode(seen * gain[ny % PERIOD, nx % PERIOD])
        lo[idx] = torch.where(same, torch.minimum(lo[idx], seen), lo[idx])
        hi[idx] = torch.where(same, torch.maximum(hi[idx], seen), hi[idx])
        v = value[idx]
        idx = idx[((v <= 0) & (lo[idx] > margin)) | ((v >= 1) & (hi[idx] < 1 - margin))]
    known = torch.isfinite(lo[idx])
    out[ys[idx[known]], xs[idx[known]]] = True
    return out
